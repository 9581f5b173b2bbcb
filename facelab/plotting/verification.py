"""Verification figures: ROC, DET, score distributions, threshold sweeps, a model's calibration,
reliability, failures.

Every display follows scikit-learn's pattern: build it with ``XDisplay.from_predictions(scores,
same, ...)`` (or ``from_report`` / ``from_pairs``), which draws right away, or construct it from
precomputed values and call ``.plot(ax=None)``; ``plot`` returns the display with ``ax_`` and
``figure_`` set. The numbers come from :mod:`facelab.verification`.

Examples
--------
>>> from facelab.plotting.verification import RocDisplay, ScoreDistributionDisplay
>>> RocDisplay.from_predictions(scores, same, name="dlib").figure_.savefig("roc.png")  # doctest: +SKIP
>>> ScoreDistributionDisplay.from_predictions(scores, same, threshold=0.5)           # doctest: +SKIP
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np

from facelab import verification as V

__all__ = [
    "RocDisplay",
    "DetDisplay",
    "ScoreDistributionDisplay",
    "ThresholdSweepDisplay",
    "CalibrationDisplay",
    "ReliabilityDisplay",
    "FailureGalleryDisplay",
    "threshold_explorer",
]

GENUINE_COLOR = "#1f77b4"
IMPOSTOR_COLOR = "#d62728"


def _new_ax(ax, figsize=(5, 4.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


class RocDisplay:
    """ROC curve with the false accept rate on a log axis (the useful part is FAR << 1).

    Parameters
    ----------
    fpr, tpr : arrays
    auc : float, optional
    name : str, optional
        Legend label (e.g. the model).
    n_impostors : int, optional
        Sets the left end of the log axis at ``1 / n_impostors`` (the smallest measurable FAR).
    operating_points : sequence of TarAtFar, optional
        Marked on the curve.
    """

    def __init__(self, fpr, tpr, *, auc=None, name=None, n_impostors=None, operating_points=()):
        self.fpr = np.asarray(fpr, dtype=float)
        self.tpr = np.asarray(tpr, dtype=float)
        self.auc = auc
        self.name = name
        self.n_impostors = n_impostors
        self.operating_points = [p for p in operating_points if math.isfinite(p.tar)]

    @classmethod
    def from_predictions(cls, scores, same, *, name=None, fars=V.DEFAULT_FARS, ax=None, log_far=True, **kwargs):
        r = V.roc(scores, same)
        n_imp = int((~np.asarray(same, bool)).sum())
        disp = cls(r.fpr, r.tpr, auc=r.auc, name=name, n_impostors=n_imp,
                   operating_points=V.tar_at_far(scores, same, fars) if fars else ())
        return disp.plot(ax=ax, log_far=log_far, **kwargs)

    @classmethod
    def from_report(cls, report: V.VerificationReport, *, name=None, ax=None, log_far=True, **kwargs):
        r = V.roc(report.scores, report.same)
        disp = cls(r.fpr, r.tpr, auc=report.auc, name=name, n_impostors=report.n_impostor,
                   operating_points=report.tar_at_far)
        return disp.plot(ax=ax, log_far=log_far, **kwargs)

    def plot(self, ax=None, *, log_far: bool = True, annotate: bool = True, **line_kwargs):
        """Draw; ``annotate=False`` marks the operating points without their TAR@FAR text (for
        several curves on one axis, where the texts would overlap)."""
        ax = _new_ax(ax)
        label = self.name or "ROC"
        if self.auc is not None:
            label += f" (AUC = {self.auc:.4f})"
        x, y = self.fpr, self.tpr
        if log_far:
            lo = 1.0 / self.n_impostors if self.n_impostors else max(x[x > 0].min(), 1e-6)
            # FAR = 0 has no place on a log axis: start the curve at the smallest measurable FAR.
            keep = x > 0
            x = np.concatenate([[lo], x[keep]])
            y = np.concatenate([[y[~keep].max() if (~keep).any() else 0.0], y[keep]])
            ax.set_xscale("log")
            ax.set_xlim(lo * 0.8, 1.05)
        else:
            ax.set_xlim(-0.01, 1.01)
            ax.plot([0, 1], [0, 1], ls=":", color="0.6", lw=1)
        self.line_, = ax.plot(x, y, label=label, drawstyle="steps-post", **line_kwargs)
        for p in self.operating_points:
            ax.plot(max(p.far_actual, x[0]), p.tar, "o", ms=5, color=self.line_.get_color())
            if annotate:
                ax.annotate(f"TAR {p.tar:.3f}\n@FAR {p.far:g}", (max(p.far_actual, x[0]), p.tar),
                            textcoords="offset points", xytext=(6, -22), fontsize=7, color="0.25")
        ax.set_ylim(-0.01, 1.02)
        ax.set_xlabel("false accept rate (FAR)" + (", log scale" if log_far else ""))
        ax.set_ylabel("true accept rate (TAR)")
        ax.set_title("ROC")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self


_DET_TICKS = np.array([0.0001, 0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999])


class DetDisplay:
    """DET curve: FAR against FRR, both on normal-deviate (probit) axes, with the EER point.

    Straight lines on these axes mean normally distributed genuine and impostor scores.
    """

    def __init__(self, fpr, fnr, *, name=None, eer=None):
        self.fpr = np.asarray(fpr, dtype=float)
        self.fnr = np.asarray(fnr, dtype=float)
        self.name = name
        self.eer = eer

    @classmethod
    def from_predictions(cls, scores, same, *, name=None, ax=None, **kwargs):
        d = V.det(scores, same)
        return cls(d.fpr, d.fnr, name=name, eer=V.eer(scores, same)[0]).plot(ax=ax, **kwargs)

    @classmethod
    def from_report(cls, report: V.VerificationReport, *, name=None, ax=None, **kwargs):
        d = V.det(report.scores, report.same)
        return cls(d.fpr, d.fnr, name=name, eer=report.eer).plot(ax=ax, **kwargs)

    def plot(self, ax=None, **line_kwargs):
        from scipy.stats import norm

        ax = _new_ax(ax)
        lo, hi = 1e-4, 1 - 1e-4
        x = norm.ppf(np.clip(self.fpr, lo, hi))
        y = norm.ppf(np.clip(self.fnr, lo, hi))
        label = self.name or "DET"
        if self.eer is not None:
            label += f" (EER = {self.eer:.2%})"
        self.line_, = ax.plot(x, y, label=label, **line_kwargs)
        # From half the smallest non-zero rate (what the data can resolve) up to 60%.
        smallest = np.concatenate([self.fpr[self.fpr > 0], self.fnr[self.fnr > 0], [0.01]]).min()
        lim = (float(norm.ppf(max(smallest / 2, lo))), float(norm.ppf(0.6)))
        ticks = _DET_TICKS[(norm.ppf(_DET_TICKS) >= lim[0] - 1e-9) & (norm.ppf(_DET_TICKS) <= lim[1] + 1e-9)]
        labels = [f"{100 * t:g}%" for t in ticks]
        for setter, tick_setter in ((ax.set_xlim, ax.set_xticks), (ax.set_ylim, ax.set_yticks)):
            setter(*lim)
            tick_setter(norm.ppf(ticks), labels)
        ax.plot(lim, lim, ls=":", color="0.6", lw=1)
        if self.eer is not None and 0 < self.eer < 1:
            z = norm.ppf(self.eer)
            ax.plot(z, z, "o", color=self.line_.get_color(), ms=5)
        ax.set_xlabel("false accept rate (FAR)")
        ax.set_ylabel("false reject rate (FRR)")
        ax.set_title("DET (normal-deviate axes)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ScoreDistributionDisplay:
    """Histograms of genuine and impostor scores with the decision threshold.

    Parameters
    ----------
    scores, same : arrays
    threshold : float, optional
    scale : str
        Axis label of the scores ("cosine similarity", "squared distance", "calibrated score").
    """

    def __init__(self, scores, same, *, threshold=None, scale="cosine similarity", bins=40, density=True):
        self.scores = np.asarray(scores, dtype=float)
        self.same = np.asarray(same, dtype=bool)
        self.threshold = threshold
        self.scale = scale
        self.bins = bins
        self.density = density

    @classmethod
    def from_predictions(cls, scores, same, *, threshold=None, scale="cosine similarity", bins=40, density=True,
                         ax=None):
        return cls(scores, same, threshold=threshold, scale=scale, bins=bins, density=density).plot(ax=ax)

    @classmethod
    def from_report(cls, report: V.VerificationReport, *, ax=None, **kwargs):
        return cls(report.scores, report.same, threshold=report.threshold, **kwargs).plot(ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax, figsize=(6, 3.8))
        edges = np.histogram_bin_edges(self.scores, bins=self.bins)
        g, im = self.scores[self.same], self.scores[~self.same]
        ax.hist(im, bins=edges, density=self.density, alpha=0.55, color=IMPOSTOR_COLOR,
                label=f"impostor pairs (n={im.size})")
        ax.hist(g, bins=edges, density=self.density, alpha=0.55, color=GENUINE_COLOR,
                label=f"genuine pairs (n={g.size})")
        if self.threshold is not None:
            c = V.confusion_at(self.scores, self.same, self.threshold)
            ax.axvline(self.threshold, color="k", ls="--", lw=1.2,
                       label=f"threshold {self.threshold:.3f}\nFAR {c.far:.3f}  FRR {c.frr:.3f}")
        ax.set_xlabel(self.scale)
        ax.set_ylabel("density" if self.density else "pairs")
        ax.set_title("Genuine vs impostor scores")
        ax.legend(fontsize=8, loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ThresholdSweepDisplay:
    """FAR, FRR and accuracy as the threshold moves, with chosen thresholds marked."""

    def __init__(self, sweep, *, markers: Optional[Mapping[str, float]] = None, scale="cosine similarity"):
        self.sweep = sweep
        self.markers = dict(markers or {})
        self.scale = scale

    @classmethod
    def from_predictions(cls, scores, same, *, markers=None, n_points: int = 400, scale="cosine similarity", ax=None):
        s = np.asarray(scores, dtype=float)
        grid = np.linspace(s.min(), s.max(), n_points)
        return cls(V.threshold_sweep(s, same, grid), markers=markers, scale=scale).plot(ax=ax)

    @classmethod
    def from_report(cls, report: V.VerificationReport, *, n_points: int = 400, ax=None):
        markers = {"EER": report.eer_threshold, "best accuracy": report.threshold}
        return cls.from_predictions(report.scores, report.same, markers=markers, n_points=n_points, ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax, figsize=(6, 3.8))
        sw = self.sweep
        ax.plot(sw["threshold"], sw["far"], color=IMPOSTOR_COLOR, label="FAR (impostors accepted)")
        ax.plot(sw["threshold"], sw["frr"], color=GENUINE_COLOR, label="FRR (genuine rejected)")
        ax.plot(sw["threshold"], sw["accuracy"], color="k", lw=1.5, label="accuracy")
        styles = iter(["--", ":", "-.", (0, (5, 1))])
        for name, t in self.markers.items():
            if t is not None and math.isfinite(t):
                ax.axvline(t, color="0.4", ls=next(styles, "--"), lw=1, label=f"{name}: {t:.3f}")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"threshold ({self.scale}; same person if score ≥ threshold)")
        ax.set_ylabel("rate")
        ax.set_title("What each threshold costs")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class CalibrationDisplay:
    """What a model's calibration does with squared distances: histograms of genuine and impostor
    pairs' distances ``d = 2 - 2 cos``, the decision distance, and the calibrated score
    ``sigmoid((mean - d) / std)`` as a curve on a second axis.

    Parameters
    ----------
    distances, same : arrays
        Squared distances of the pairs and whether each is genuine.
    calibration : facelab.core.calibration.Calibration

    Attributes
    ----------
    accuracy : float
        Fraction of the pairs the calibration's decision (``score >= threshold``) gets right.
    """

    def __init__(self, distances, same, calibration, *, bins: int = 50):
        self.distances = np.asarray(distances, dtype=float)
        self.same = np.asarray(same, dtype=bool)
        self.calibration = calibration
        self.bins = bins
        self.accuracy = float(np.mean(np.asarray(calibration.same_person(self.distances)) == self.same))

    @classmethod
    def from_predictions(cls, distances, same, calibration, *, ax=None, **kwargs) -> CalibrationDisplay:
        return cls(distances, same, calibration, **kwargs).plot(ax=ax)

    @classmethod
    def from_embeddings(cls, embeddings, identities, calibration, *, ax=None, **kwargs) -> CalibrationDisplay:
        """Every pair of a set (:func:`facelab.verification.make_pairs`), its squared distances, drawn."""
        pairs = V.make_pairs(np.asarray(identities))
        return cls(V.squared_distances(embeddings, pairs), pairs.same, calibration, **kwargs).plot(ax=ax)

    def plot(self, ax=None) -> CalibrationDisplay:
        """Draw; returns self with ``ax_``, ``ax_score_`` (the score axis) and ``figure_`` set."""
        ax = _new_ax(ax, figsize=(8, 4))
        cal = self.calibration
        d, same = self.distances, self.same
        top = 1.15 * max(float(d.max()) if d.size else 0.0, cal.distance_threshold)
        edges = np.linspace(0, top, self.bins)
        ax.hist(d[same], bins=edges, alpha=0.6, density=True, color=GENUINE_COLOR,
                label=f"same person ({int(same.sum())} pairs)")
        ax.hist(d[~same], bins=edges, alpha=0.6, density=True, color=IMPOSTOR_COLOR,
                label=f"different people ({int((~same).sum())} pairs)")
        ax.axvline(cal.distance_threshold, color="k", ls="--",
                   label=f"decision at distance {cal.distance_threshold:.3f}\n({self.accuracy:.1%} of pairs right)")
        ax.set_xlabel("squared distance")
        ax.set_ylabel("density")
        ax2 = ax.twinx()
        grid = np.linspace(edges[0], edges[-1], 200)
        ax2.plot(grid, cal.score(grid), color="crimson", label="score(distance)")
        ax2.set_ylabel("calibrated score", color="crimson")
        ax2.set_ylim(0, 1.02)
        handles = ax.get_legend_handles_labels()
        more = ax2.get_legend_handles_labels()
        ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right", fontsize=8)
        self.ax_, self.ax_score_, self.figure_ = ax, ax2, ax.figure
        return self


class ReliabilityDisplay:
    """Reliability diagram of calibrated scores: predicted same-person score (binned) against
    the observed fraction of genuine pairs, one line per calibration (e.g. the reference mapping
    against one fitted on these pairs). A perfect calibration lies on the diagonal.
    """

    def __init__(self, curves: Mapping[str, tuple], *, counts: Optional[Mapping[str, np.ndarray]] = None):
        self.curves = dict(curves)
        self.counts = dict(counts or {})

    @classmethod
    def from_predictions(cls, distances, same, calibrations: Mapping[str, object], *, n_bins: int = 10, ax=None):
        """``distances``: squared distances of the pairs; ``calibrations``: name -> Calibration."""
        d = np.asarray(distances, dtype=float)
        y = np.asarray(same, dtype=bool)
        edges = np.linspace(0, 1, n_bins + 1)
        curves, counts = {}, {}
        for name, cal in calibrations.items():
            p = np.asarray(cal.score(d), dtype=float)
            b = np.clip(np.digitize(p, edges) - 1, 0, n_bins - 1)
            xs, ys, ns = [], [], []
            for k in range(n_bins):
                m = b == k
                if m.any():
                    xs.append(p[m].mean()), ys.append(y[m].mean()), ns.append(int(m.sum()))
            curves[name] = (np.array(xs), np.array(ys))
            counts[name] = np.array(ns)
        return cls(curves, counts=counts).plot(ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax, figsize=(4.6, 4.4))
        ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="perfectly calibrated")
        for name, (x, y) in self.curves.items():
            n = self.counts.get(name)
            # A long name (a calibration's source) would widen the legend past the square axes,
            # and the constrained layout would shrink them to nothing: wrap it.
            line, = ax.plot(x, y, "-", label=textwrap.fill(str(name), 38))
            if n is not None and n.size:
                ax.scatter(x, y, s=15 + 120 * n / n.max(), color=line.get_color(), zorder=3, alpha=0.8)
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_aspect("equal")
        ax.set_xlabel("predicted same-person score (bin mean)")
        ax.set_ylabel("observed fraction of genuine pairs")
        ax.set_title("Calibration reliability\n(marker size = pairs in bin)", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _thumb(img, size: int) -> np.ndarray:
    from PIL import Image

    if isinstance(img, (str, bytes)) or hasattr(img, "__fspath__"):
        from facelab.data.imageio import ImageLoadError, load_image

        try:
            img = load_image(img)
        except ImageLoadError:
            return np.full((size, size, 3), 200, np.uint8)
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255 if arr.max() <= 1.0 else 1), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    im = Image.fromarray(arr[..., :3])
    scale = size / max(im.width, im.height)  # up or down: thumbnails of one size
    im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return np.asarray(canvas)


class FailureGalleryDisplay:
    """The hardest mistakes at a threshold, as thumbnail pairs with their scores.

    Top row(s): false accepts (different people, highest scores first). Bottom row(s): false
    rejects (same person, lowest scores first).

    Parameters
    ----------
    false_accepts, false_rejects : list of (image1, image2, score, caption)
    threshold : float
    """

    def __init__(self, false_accepts, false_rejects, *, threshold, n_false_accepts=None, n_false_rejects=None):
        self.false_accepts = list(false_accepts)
        self.false_rejects = list(false_rejects)
        self.threshold = threshold
        self.n_false_accepts = len(self.false_accepts) if n_false_accepts is None else n_false_accepts
        self.n_false_rejects = len(self.false_rejects) if n_false_rejects is None else n_false_rejects

    @classmethod
    def from_pairs(cls, images1: Sequence, images2: Sequence, scores, same, threshold: float, *, n: int = 6,
                   captions: Optional[Sequence[str]] = None, thumb_size: int = 96, figure=None):
        """``images1[k]``, ``images2[k]``: arrays or paths (read with :func:`facelab.data.imageio.load_image`)."""
        s = np.asarray(scores, dtype=float)
        wrong = V.wrong_side_pairs(s, same, threshold)  # each kind ordered by score, hardest first
        fa = wrong["pair"].to_numpy()[wrong["kind"].to_numpy() == "false accept"]
        fr = wrong["pair"].to_numpy()[wrong["kind"].to_numpy() == "false reject"]

        def entries(idx):
            return [(_thumb(images1[k], thumb_size), _thumb(images2[k], thumb_size), float(s[k]),
                     captions[k] if captions is not None else "") for k in idx[:n]]

        disp = cls(entries(fa), entries(fr), threshold=threshold, n_false_accepts=fa.size, n_false_rejects=fr.size)
        return disp.plot(figure=figure, n=n)

    def plot(self, figure=None, *, n: Optional[int] = None):
        import matplotlib.pyplot as plt

        n = n or max(len(self.false_accepts), len(self.false_rejects), 1)
        ncols = min(n, 6)
        rows_per = [max(1, math.ceil(len(lst) / ncols)) for lst in (self.false_accepts, self.false_rejects)]
        fig = figure or plt.figure(figsize=(2.4 * ncols, 2.0 * sum(rows_per) + 0.8), layout="constrained")
        subfigs = fig.subfigures(2, 1, height_ratios=[r + 0.35 for r in rows_per])
        titles = [f"False accepts: different people scoring ≥ {self.threshold:.3f} "
                  f"({len(self.false_accepts)} hardest of {self.n_false_accepts})",
                  f"False rejects: same person scoring < {self.threshold:.3f} "
                  f"({len(self.false_rejects)} hardest of {self.n_false_rejects})"]
        colors = [IMPOSTOR_COLOR, GENUINE_COLOR]
        all_axes = []
        for sub, lst, rows, title, color in zip(subfigs, (self.false_accepts, self.false_rejects), rows_per, titles,
                                                colors):
            sub.suptitle(title, fontsize=9, fontweight="bold", color=color, x=0.01, ha="left")
            axes = sub.subplots(rows, ncols, squeeze=False)
            for k, ax in enumerate(axes.ravel()):
                ax.set_xticks([])
                ax.set_yticks([])
                if k < len(lst):
                    a, b, score, cap = lst[k]
                    gap = np.full((a.shape[0], max(2, a.shape[1] // 24), 3), 255, np.uint8)
                    ax.imshow(np.concatenate([a, gap, b], axis=1))
                    ax.set_title(f"score {score:.3f}" + (f"\n{cap}" if cap else ""), fontsize=8)
                    for sp in ax.spines.values():
                        sp.set_edgecolor(color)
                        sp.set_linewidth(1.5)
                else:
                    ax.axis("off")
                    if k == 0:
                        ax.text(0.5, 0.5, "none", ha="center", va="center", fontsize=10, color="0.4",
                                transform=ax.transAxes)
            all_axes.append(axes)
        self.ax_ = np.concatenate(all_axes, axis=0)
        self.figure_ = fig
        return self


def _png_base64(fig) -> str:
    """``fig`` as a base64 PNG, as a notebook's ``image/png`` output holds it."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def threshold_explorer(scores, same, *, labels=None, value: Optional[float] = None, calibration=None,
                       max_rows: int = 8):
    """An ipywidgets slider over the cosine threshold that shows FAR, FRR, precision, recall,
    accuracy and the pairs on the wrong side (:func:`facelab.verification.threshold_view`), with the
    score histogram and the threshold line.

    Returns the widget (display it in a notebook); its ``Output`` child holds the view at the
    slider's value (``.outputs``: the printout, then the histogram as a PNG). Without a notebook
    front end nothing moves, so print ``threshold_view(...).text()`` beside it for headless runs.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    s = np.asarray(scores, dtype=float)
    if value is None:
        value = V.best_accuracy_threshold(s, same)[0]
    slider = widgets.FloatSlider(value=float(value), min=float(s.min()), max=float(s.max()),
                                 step=float((s.max() - s.min()) / 400) or 0.001, description="cosine ≥",
                                 readout_format=".3f", continuous_update=False,
                                 layout=widgets.Layout(width="600px"))
    out = widgets.Output()

    def show(t):
        # The view is set as the widget's outputs, one state update from the kernel, instead of
        # printing inside `with out:`: that capture is the front end's job, and the stand-in of a
        # headless executor (nbclient, papermill) answers it over the shell channel in the middle
        # of the cell, which can hide the cell's reply (see facelab.course.notebooks).
        text = V.threshold_view(s, same, t, labels=labels, calibration=calibration).text(max_rows)
        fig, ax = plt.subplots(figsize=(6, 2.8), layout="constrained")
        ScoreDistributionDisplay(s, same, threshold=t).plot(ax=ax)
        png = _png_base64(fig)
        plt.close(fig)
        out.outputs = (
            {"output_type": "stream", "name": "stdout", "text": text + "\n"},
            {"output_type": "display_data", "metadata": {},
             "data": {"image/png": png, "text/plain": f"<score histogram at cosine {t:.4f}>"}},
        )

    slider.observe(lambda change: show(change["new"]), names="value")
    show(slider.value)
    return widgets.VBox([slider, out])
