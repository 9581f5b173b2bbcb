"""Several detectors on the same photos, drawn: what each found, how far apart their points are,
and how long each took (from :func:`facelab.analysis.detectors.compare_detectors`).

Examples
--------
>>> from facelab.plotting.detectors import DetectorOverlayDisplay, LandmarkAgreementDisplay
>>> DetectorOverlayDisplay.from_comparison(cmp, n=6)              # doctest: +SKIP
>>> LandmarkAgreementDisplay.from_comparison(cmp)                 # doctest: +SKIP
>>> DetectionTimesDisplay.from_comparison(cmp)                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np

__all__ = ["DetectionTimesDisplay", "DetectorOverlayDisplay", "LandmarkAgreementDisplay"]


def _colours(names) -> dict:
    return {n: f"C{k}" for k, n in enumerate(names)}


def _new_ax(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


class DetectorOverlayDisplay:
    """Photos with every detector's boxes and five points drawn over them, one colour per detector.

    Parameters
    ----------
    results : mapping of str to sequence of DetectionResult
        Each detector's results of the photos drawn, in the same order.
    titles : sequence of str, optional
        One per photo (default the file name, with each detector's status where one found no face).
    """

    def __init__(self, results: Mapping[str, Sequence], *, titles: Optional[Sequence[str]] = None):
        self.results = {n: list(r) for n, r in results.items()}
        n = {len(r) for r in self.results.values()}
        if len(n) != 1:
            raise ValueError("every detector needs a result for each photo drawn")
        self.titles = list(titles) if titles is not None else None

    @classmethod
    def from_comparison(cls, comparison, image_ids: Optional[Sequence[str]] = None, *, n: int = 6,
                        figure=None, **plot_kwargs) -> DetectorOverlayDisplay:
        """The photos ``image_ids`` of a :class:`~facelab.analysis.detectors.DetectorComparison`
        (default its first ``n``), drawn."""
        ids = list(comparison.images.image_id[:n]) if image_ids is None else [str(i) for i in image_ids]
        rows = comparison.positions(ids)
        titles = []
        for i, k in zip(ids, rows):
            bad = [f"{name}: {res[k].status.value}" for name, res in comparison.results.items() if not res[k].ok]
            titles.append("\n".join([i, *bad]) if bad else i)
        results = {name: [res[k] for k in rows] for name, res in comparison.results.items()}
        return cls(results, titles=titles).plot(figure, **plot_kwargs)

    def plot(self, figure=None, *, per_row: int = 3, size: float = 3.3, show_68: bool = False,
             legend: bool = True) -> DetectorOverlayDisplay:
        """Draw one panel per photo; returns self with ``axes_`` and ``figure_`` set.

        Parameters
        ----------
        figure : matplotlib Figure, optional
        per_row : int
            Panels per row.
        size : float
            Inches per panel.
        show_68 : bool
            Also draw the 68 points of detectors that have them (dlib).
        legend : bool
            Name each detector's colour (in the first panel).
        """
        import matplotlib.pyplot as plt

        from facelab.data.imageio import ImageLoadError, load_image
        from facelab.plotting.faces import LandmarksDisplay

        names = list(self.results)
        n = len(self.results[names[0]])
        cols = max(1, min(per_row, n))
        rows = max(1, -(-n // cols))
        if figure is None:
            figure = plt.figure(figsize=(size * cols, (size + 0.3) * rows), layout="constrained")
        axes = figure.subplots(rows, cols, squeeze=False)
        colours = _colours(names)
        for k, ax in enumerate(axes.ravel()):
            if k >= n:
                ax.set_axis_off()
                continue
            image = None
            for r in (self.results[m][k] for m in names):
                if image is None and r.image and r.image != "<array>":
                    try:
                        image = load_image(r.image)
                    except ImageLoadError:
                        pass
            for j, m in enumerate(names):
                r = self.results[m][k]
                title = self.titles[k] if self.titles else None
                LandmarksDisplay(image if j == 0 else None, r.faces, chosen=r.chosen, title=title).plot(
                    ax=ax, color=colours[m], show_68=show_68, show_image=(j == 0))
            if image is not None:
                h, w = image.shape[:2]
                ax.set_xlim(-0.5, w - 0.5)
                ax.set_ylim(h - 0.5, -0.5)
        if legend and n:  # every detector named, also one that found no face in the first photo
            from matplotlib.lines import Line2D

            handles = [Line2D([], [], color=colours[m], marker="o", ls="", label=m) for m in names]
            axes[0, 0].legend(handles=handles, fontsize=7, loc="lower right")
        self.axes_ = axes
        self.figure_ = figure
        return self


class LandmarkAgreementDisplay:
    """Box plots of how far apart two detectors put each keypoint, as a fraction of the
    inter-ocular distance: one box per keypoint and pair of detectors.

    Parameters
    ----------
    agreements : mapping of str to LandmarkAgreement
        E.g. :meth:`facelab.analysis.detectors.DetectorComparison.agreements`.
    """

    def __init__(self, agreements: Mapping[str, object]):
        self.agreements = dict(agreements)

    @classmethod
    def from_comparison(cls, comparison, *, ax=None) -> LandmarkAgreementDisplay:
        """Every two detectors of a :class:`~facelab.analysis.detectors.DetectorComparison`."""
        return cls(comparison.agreements()).plot(ax)

    def plot(self, ax=None, *, pixels: bool = False) -> LandmarkAgreementDisplay:
        """Draw; returns self with ``ax_`` and ``figure_`` set.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        pixels : bool
            Distances in pixels instead of inter-ocular distances.
        """
        from facelab.analysis.detectors import POINTS

        ax = _new_ax(ax, (8, 3.8))
        n = len(self.agreements)
        width = 0.8 / max(n, 1)
        handles = []
        for j, (label, agr) in enumerate(self.agreements.items()):
            same = agr.table[agr.table.same_face]
            values = same[list(POINTS)] if pixels else agr.fractions()
            pos = np.arange(len(POINTS)) + (j - (n - 1) / 2) * width
            bp = ax.boxplot([values[p].dropna() for p in POINTS], positions=pos, widths=width * 0.85,
                            patch_artist=True, showfliers=True, flierprops={"markersize": 3})
            for box in bp["boxes"]:  # pairs of detectors in colours the detectors themselves do not use
                box.set(facecolor=f"C{(j + 3) % 10}", alpha=0.55)
            handles.append((bp["boxes"][0], f"{label} ({len(same)} photos)"))
        ax.set_xticks(np.arange(len(POINTS)), [p.replace("_", " ") for p in POINTS])
        ax.set_ylabel("distance (px)" if pixels else "distance / inter-ocular distance")
        if handles:
            ax.legend(*zip(*handles), fontsize=8, loc="upper left")
        ax.set_title("where two detectors put each keypoint (the same face)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class DetectionTimesDisplay:
    """Milliseconds per photo of each detector (one box per detector, log scale).

    Parameters
    ----------
    seconds : mapping of str to array
        Each detector's seconds per photo (NaN: not timed).
    """

    def __init__(self, seconds: Mapping[str, np.ndarray]):
        self.seconds = {n: np.asarray(s, dtype=np.float64) for n, s in seconds.items()}

    @classmethod
    def from_comparison(cls, comparison, *, ax=None) -> DetectionTimesDisplay:
        return cls(comparison.seconds).plot(ax)

    def plot(self, ax=None) -> DetectionTimesDisplay:
        """Draw; returns self with ``ax_`` and ``figure_`` set."""
        ax = _new_ax(ax, (5, 3.4))
        names = list(self.seconds)
        ms = [1000 * s[np.isfinite(s)] for s in self.seconds.values()]
        bp = ax.boxplot(ms, orientation="horizontal", patch_artist=True, widths=0.6, flierprops={"markersize": 3})
        for k, box in enumerate(bp["boxes"]):
            box.set(facecolor=f"C{k}", alpha=0.55)
        ax.set_yticks(np.arange(1, len(names) + 1), [f"{n}\nmedian {np.median(m):.1f} ms" if m.size else n
                                                    for n, m in zip(names, ms)])
        ax.set_xscale("log")
        ax.set_xlabel("detection time per photo (ms, log scale)")
        ax.grid(axis="x", alpha=0.3, which="both")
        ax.invert_yaxis()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
