"""Figures of the course experiments (:mod:`facelab.analysis.sensitivity`, :mod:`~facelab.analysis.protocol`,
:mod:`~facelab.analysis.anatomy`), in scikit-learn's Display style.

``XDisplay.from_...`` computes and draws; ``XDisplay(...).plot(ax=None)`` draws precomputed
values and returns the display (``ax_`` / ``axes_`` and ``figure_`` set).

Examples
--------
>>> from facelab.plotting.experiments import AlignmentSensitivityDisplay
>>> AlignmentSensitivityDisplay.from_faces(faces, "dlib", kind="rotation", levels=[0, 10, 20])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facelab.analysis.anatomy import EmbeddingAnatomy, dimension_stats, embedding_anatomy
from facelab.analysis.faces import FaceSet
from facelab.analysis.protocol import ProtocolBias, bias_vs_pairs, protocol_bias
from facelab.analysis.sensitivity import PERTURBATIONS, SensitivityResult, alignment_sensitivity, perturbed_chip
from facelab.core.vectors import nearest_neighbours

__all__ = [
    "AlignmentSensitivityDisplay",
    "BiasCurveDisplay",
    "DimensionStatsDisplay",
    "FlipDisplay",
    "NeighboursDisplay",
    "NormQualityDisplay",
    "PerturbationGalleryDisplay",
    "ProtocolBiasDisplay",
]

_METRIC_LABELS = {"accuracy": "accuracy (threshold of the unperturbed faces)", "best_accuracy": "best accuracy",
                  "eer": "equal error rate", "auc": "AUC", "genuine_mean": "mean genuine cosine",
                  "impostor_mean": "mean impostor cosine"}


def _new_ax(ax, figsize=(5, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _new_axes(axes, n, figsize):
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, n, figsize=figsize, layout="constrained", squeeze=False)
        return list(axes[0])
    axes = list(np.ravel(axes))
    if len(axes) != n:
        raise ValueError(f"need {n} axes, got {len(axes)}")
    return axes


def _thumb(image, size: int = 112) -> np.ndarray:
    from skimage.transform import resize

    from facelab.data.imageio import load_image

    im = load_image(image) if not isinstance(image, np.ndarray) else image
    out = resize(im, (size, size), preserve_range=True, anti_aliasing=True)
    return np.clip(out, 0, 255).astype(np.uint8)


class AlignmentSensitivityDisplay:
    """A verification metric against the size of the landmark perturbation, one line per model.

    Parameters
    ----------
    results : sequence of SensitivityResult
        Of one perturbation ``kind``.
    metric : str
        A column of :attr:`SensitivityResult.table` (``accuracy``, ``eer``, ``genuine_mean``...).
    """

    def __init__(self, results: Sequence[SensitivityResult], *, metric: str = "accuracy"):
        self.results = list(results)
        if not self.results:
            raise ValueError("no results to draw")
        if metric not in self.results[0].table:
            raise ValueError(f"unknown metric {metric!r}; choose from {list(self.results[0].table.columns[1:])}")
        self.metric = metric

    @classmethod
    def from_faces(cls, faces: FaceSet, embedders, *, kind: str = "rotation", levels=(0, 5, 10, 15, 20, 30),
                   pairs=None, mode: str = "one", metric: str = "accuracy", ax=None):
        """Run :func:`facelab.analysis.sensitivity.alignment_sensitivity` for each embedder and draw."""
        if isinstance(embedders, (str,)) or not isinstance(embedders, (list, tuple)):
            embedders = [embedders]
        results = [alignment_sensitivity(faces, e, kind=kind, levels=levels, pairs=pairs, mode=mode) for e in embedders]
        return cls(results, metric=metric).plot(ax=ax)

    @classmethod
    def from_results(cls, results, *, metric: str = "accuracy", ax=None):
        return cls(results, metric=metric).plot(ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax)
        for r in self.results:
            ax.plot(r.table.level, r.table[self.metric], marker="o", label=f"{r.model} ({r.table.n_pairs.iloc[0]} pairs)")
        r0 = self.results[0]
        ax.set_xlabel(f"{r0.kind} ({r0.unit})")
        ax.set_ylabel(_METRIC_LABELS.get(self.metric, self.metric))
        ax.set_title(f"landmark {r0.kind}: {'probe side' if r0.mode == 'one' else 'both sides'} perturbed", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class PerturbationGalleryDisplay:
    """The chip a model sees at each perturbation level, side by side."""

    def __init__(self, chips: Sequence[np.ndarray], levels: Sequence[float], *, kind: str):
        self.chips, self.levels, self.kind = list(chips), list(levels), kind

    @classmethod
    def from_face(cls, image, face, preset, *, kind: str = "rotation", levels=(0, 10, 20, 30), ax=None):
        chips = [perturbed_chip(image, face, preset, kind=kind, level=lv) for lv in levels]
        return cls(chips, levels, kind=kind).plot(ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax, figsize=(1.9 * len(self.chips), 2.3))
        size = self.chips[0].shape[0]
        ax.imshow(np.concatenate([c if c.shape[0] == size else _thumb(c, size) for c in self.chips], axis=1))
        ax.set_xticks([size * (k + 0.5) for k in range(len(self.chips))], [f"{lv:g}" for lv in self.levels])
        ax.set_yticks([])
        ax.set_xlabel(f"{self.kind} ({PERTURBATIONS[self.kind]})")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ProtocolBiasDisplay:
    """Accuracy per fold with the threshold chosen on the other folds, on all pairs, on the fold itself."""

    def __init__(self, bias: ProtocolBias):
        self.bias = bias

    @classmethod
    def from_predictions(cls, scores, same, folds, *, ax=None):
        return cls(protocol_bias(scores, same, folds)).plot(ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax, figsize=(6.5, 4))
        b = self.bias
        x = np.arange(b.folds.size)
        series = [("kfold", "threshold from the other folds (LFW protocol)", "o", "C0"),
                  ("all_pairs", "threshold from all pairs (test fold included)", "s", "C1"),
                  ("oracle", "threshold from the test fold itself", "^", "C3")]
        for k, (attr, label, marker, color) in enumerate(series):
            acc = getattr(b, attr)
            ax.scatter(x + (k - 1) * 0.2, 100 * acc, marker=marker, color=color, label=f"{label}: {100 * acc.mean():.2f}%")
            ax.axhline(100 * acc.mean(), color=color, lw=1, ls="--", alpha=0.7)
        ax.set_xticks(x, [str(f) for f in b.folds])
        ax.set_xlabel("test fold")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"optimistic bias: +{100 * b.bias:.2f} points (all pairs), +{100 * b.oracle_bias:.2f} (test fold)",
                     fontsize=10)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
        ax.grid(alpha=0.3)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class BiasCurveDisplay:
    """The optimistic bias against the number of pairs per fold (from :func:`bias_vs_pairs`)."""

    def __init__(self, table):
        self.table = table

    @classmethod
    def from_predictions(cls, scores, same, folds, *, pairs_per_fold=(10, 20, 50, 100, 300, 600), repeats=20, seed=0,
                         ax=None):
        return cls(bias_vs_pairs(scores, same, folds, pairs_per_fold=pairs_per_fold, repeats=repeats, seed=seed)).plot(ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax, figsize=(5.5, 4))
        t = self.table
        ax.errorbar(t.pairs_per_fold, 100 * t.bias, yerr=100 * t.bias_std, marker="o", capsize=3,
                    label="all pairs - protocol")
        ax.plot(t.pairs_per_fold, 100 * t.oracle_bias, marker="^", color="C3", label="test fold itself - protocol")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("pairs per fold")
        ax.set_ylabel("accuracy gained by cheating (points)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class NeighboursDisplay:
    """A query face and its k nearest faces in embedding space, with cosines (green: same person)."""

    def __init__(self, query_image, images: Sequence, table, *, query_label: str = "query", size: int = 112):
        self.query_image, self.images, self.table = query_image, list(images), table
        self.query_label, self.size = query_label, size

    @classmethod
    def from_embeddings(cls, embeddings, identities, images: Sequence, query: int, *, k: int = 5, names=None, ax=None):
        """``images``: one path or array per row of ``embeddings``."""
        table = nearest_neighbours(embeddings, k=k, rows=[query]).table(identities, query)
        names = names or {}
        if len(table):
            table = table.assign(name=[names.get(i, i) for i in table.identity])
        ident = np.asarray(identities)[query]
        return cls(images[query], [images[r] for r in table.row], table,
                   query_label=f"query: {names.get(ident, ident)}").plot(ax=ax)

    def plot(self, ax=None):
        from matplotlib.patches import Rectangle

        n = len(self.images) + 1
        ax = _new_ax(ax, figsize=(1.7 * n, 2.4))
        s = self.size
        ax.imshow(np.concatenate([_thumb(self.query_image, s)] + [_thumb(im, s) for im in self.images], axis=1))
        labels = [self.query_label] + [f"#{r.rank} {r.cosine:.3f}" for r in self.table.itertuples()]
        for k, row in enumerate(self.table.itertuples(), start=1):
            ax.add_patch(Rectangle((k * s + 1.5, 1.5), s - 3, s - 3, fill=False, lw=3,
                                   color="tab:green" if row.same else "tab:red"))
        ax.set_xticks([s * (k + 0.5) for k in range(n)], labels, fontsize=8)
        ax.set_yticks([])
        ax.set_title("nearest faces by cosine (green: same person, red: someone else)", fontsize=9)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class NormQualityDisplay:
    """Raw embedding norm (before L2 normalisation) against detection score, residual and blur."""

    QUALITIES = (("det_score", "detection score"), ("residual", "landmark residual (px at 112)"),
                 ("blur", "sharpness: variance of Laplacian"))

    def __init__(self, anatomy: EmbeddingAnatomy):
        self.anatomy = anatomy

    @classmethod
    def from_faces(cls, faces: FaceSet, embedder, *, axes=None):
        return cls(embedding_anatomy(faces, embedder)).plot(axes=axes)

    @classmethod
    def from_anatomy(cls, anatomy, *, axes=None):
        return cls(anatomy).plot(axes=axes)

    def plot(self, axes=None):
        axes = _new_axes(axes, 3, (13, 3.8))
        t = self.anatomy.table
        rho = self.anatomy.correlations()
        for ax, (col, label) in zip(axes, self.QUALITIES):
            ax.scatter(t[col], t.raw_norm, s=12, alpha=0.7)
            ax.set_xlabel(label)
            ax.set_title(f"Spearman rho = {rho[col]:+.2f}", fontsize=9)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(f"raw norm ({self.anatomy.model})")
        self.axes_, self.figure_ = axes, axes[0].figure
        return self


class DimensionStatsDisplay:
    """Per-dimension mean and spread of the embeddings, and how many directions they use."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_embeddings(cls, embeddings, *, axes=None):
        return cls(dimension_stats(embeddings)).plot(axes=axes)

    def plot(self, axes=None):
        axes = _new_axes(axes, 2, (12, 3.8))
        st = self.stats.sort_values("mean", ignore_index=True)
        axes[0].errorbar(np.arange(len(st)), st["mean"], yerr=st["std"], fmt=".", ms=3, elinewidth=0.6)
        axes[0].axhline(0, color="k", lw=0.8)
        axes[0].set_xlabel("dimension (sorted by mean)")
        axes[0].set_ylabel("value (mean ± std)")
        axes[0].set_title("every dimension is used; few are centred on 0", fontsize=9)
        cum = self.stats.pca_cumvar.to_numpy()
        k90 = int(np.searchsorted(cum, 0.9) + 1)
        axes[1].plot(np.arange(1, cum.size + 1), cum, marker=".")
        axes[1].axhline(0.9, color="C3", ls="--", lw=0.8)
        axes[1].axvline(k90, color="C3", ls="--", lw=0.8)
        axes[1].set_xlabel("principal components")
        axes[1].set_ylabel("cumulative variance explained")
        axes[1].set_title(f"{k90} components hold 90% of the variance", fontsize=9)
        for ax in axes:
            ax.grid(alpha=0.3)
        self.axes_, self.figure_ = axes, axes[0].figure
        return self


class FlipDisplay:
    """What flip averaging does: cos(v, v_mirror) and cos(v, flip average) over a set of faces."""

    def __init__(self, anatomy: EmbeddingAnatomy):
        self.anatomy = anatomy

    @classmethod
    def from_anatomy(cls, anatomy, *, ax=None):
        return cls(anatomy).plot(ax=ax)

    def plot(self, ax=None):
        ax = _new_ax(ax, figsize=(5.5, 3.8))
        t = self.anatomy.table
        lo = float(min(t.cos_flip.min(), t.cos_mean.min()))
        bins = np.linspace(lo - 1e-3, 1.0, 40)
        ax.hist(t.cos_flip, bins=bins, alpha=0.6, label=f"cos(v, v mirrored): median {t.cos_flip.median():.4f}")
        ax.hist(t.cos_mean, bins=bins, alpha=0.6, label=f"cos(v, flip average): median {t.cos_mean.median():.4f}")
        ax.set_xlabel("cosine")
        ax.set_ylabel("faces")
        ax.legend(fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self
