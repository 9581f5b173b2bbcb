"""Embedding-space figures: 2-D maps coloured by identity (with thumbnails and misjudged pairs),
the distance matrix of every two faces, and CMC curves. The numbers come from
:mod:`facelab.analysis.projection` and :mod:`facelab.identification.evaluate`.

Examples
--------
>>> from facelab.plotting.embedding_space import EmbeddingMapDisplay
>>> EmbeddingMapDisplay.from_embeddings(emb, ids, images=paths, threshold=0.5).figure_  # doctest: +SKIP
>>> DistanceMatrixDisplay.from_result(result, metric="cosine").block_means()      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np

__all__ = ["EmbeddingMapDisplay", "DistanceMatrixDisplay", "ProjectionGridDisplay", "CmcDisplay"]


def _new_ax(ax, figsize=(6, 5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _colors(n: int):
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


class EmbeddingMapDisplay:
    """Points of a 2-D map coloured by identity.

    Parameters
    ----------
    coords : (N, 2) array
    identities : sequence
    images : sequence, optional
        One image (array or path) per point, drawn as a thumbnail on it when ``thumbnails=True``.
    pairs : pandas.DataFrame, optional
        From :func:`facelab.analysis.projection.misjudged_pairs`: drawn as lines (false accepts solid red,
        false rejects dashed orange).
    names : mapping, optional
        Display names of identities (e.g. ``FolderDataset.names``).
    title : str, optional
    """

    def __init__(self, coords, identities, *, images: Optional[Sequence] = None, pairs=None,
                 names: Optional[Mapping] = None, title: Optional[str] = None):
        self.coords = np.asarray(coords, dtype=float)
        self.identities = np.asarray(identities)
        self.images = images
        self.pairs = pairs
        self.names = dict(names or {})
        self.title = title

    @classmethod
    def from_projection(cls, projection, identities, *, images=None, pairs=None, names=None, title=None, ax=None,
                        **plot_kwargs):
        disp = cls(projection.coords, identities, images=images, pairs=pairs, names=names,
                   title=title or projection.describe())
        return disp.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_embeddings(cls, embeddings, identities, *, method="umap", threshold=None, images=None, names=None,
                        max_pairs: int = 30, ax=None, projection_kwargs=None, **plot_kwargs):
        """Project (see :func:`facelab.analysis.projection.project`) and draw; with a ``threshold``, the
        ``max_pairs`` hardest misjudged pairs are drawn as lines."""
        from facelab.analysis.projection import misjudged_pairs, project

        proj = project(embeddings, method=method, **(projection_kwargs or {}))
        pairs = misjudged_pairs(embeddings, identities, threshold, max_pairs=max_pairs) if threshold is not None else None
        disp = cls.from_projection(proj, identities, images=images, pairs=pairs, names=names, ax=ax, **plot_kwargs)
        disp.projection_ = proj
        return disp

    def plot(self, ax=None, *, thumbnails: bool = True, zoom: float = 0.35, thumb_size: int = 64,
             point_size: float = 30, legend: bool = True):
        from matplotlib.lines import Line2D
        from matplotlib.offsetbox import AnnotationBbox, OffsetImage

        ax = _new_ax(ax)
        uniq = list(dict.fromkeys(sorted(self.identities.tolist(), key=str)))
        cols = dict(zip(uniq, _colors(len(uniq))))
        handles, line_handles = [], []
        if self.pairs is not None and len(self.pairs):
            for row in self.pairs.itertuples():
                fa = row.kind == "false accept"
                xy = self.coords[[row.i, row.j]]
                ax.plot(xy[:, 0], xy[:, 1], color="#d62728" if fa else "#ff7f0e", ls="-" if fa else "--",
                        lw=0.8, alpha=0.6, zorder=4)
            kinds = set(self.pairs["kind"])
            if "false accept" in kinds:
                line_handles.append(Line2D([], [], color="#d62728", lw=1, label="false accept (different people)"))
            if "false reject" in kinds:
                line_handles.append(Line2D([], [], color="#ff7f0e", lw=1, ls="--", label="false reject (same person)"))
        for ident in uniq:
            m = self.identities == ident
            label = self.names.get(str(ident), str(ident))
            h = ax.scatter(self.coords[m, 0], self.coords[m, 1], s=point_size, color=cols[ident], label=label,
                           zorder=2, edgecolors="white", linewidths=0.5)
            handles.append(h)
        if thumbnails and self.images is not None:
            from facelab.plotting.verification import _thumb

            for k, img in enumerate(self.images):
                if img is None:
                    continue
                oi = OffsetImage(_thumb(img, thumb_size), zoom=zoom)
                ab = AnnotationBbox(oi, self.coords[k], frameon=True, pad=0.1, zorder=3,
                                    bboxprops=dict(edgecolor=cols[self.identities[k]], lw=1.5))
                ax.add_artist(ab)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
        ax.margins(0.08)
        ax.set_title(self.title or "Embedding map", fontsize=10)
        if legend and len(uniq) <= 20:
            ax.legend(handles=handles + line_handles, fontsize=8, loc="best", framealpha=0.85)
        self.colors_ = cols
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def add_points(self, coords, identities, *, marker: str = "x", size: float = 50, label: Optional[str] = None):
        """Draw more points on the map in their identity's colour (e.g. new faces placed by
        :meth:`facelab.analysis.projection.Projection.transform`); returns self."""
        coords = np.asarray(coords, dtype=float).reshape(-1, 2)
        identities = np.asarray(identities)
        for k, ident in enumerate(dict.fromkeys(identities.tolist())):
            m = identities == ident
            self.ax_.scatter(coords[m, 0], coords[m, 1], marker=marker, s=size, color=self.colors_.get(ident, "k"),
                             zorder=5, label=label if (label and k == 0) else None)
        if label:
            self.ax_.legend(fontsize=8, loc="best", framealpha=0.85)
        return self


#: The two views of :class:`DistanceMatrixDisplay`: colour map, value range, colour bar label.
MATRIX_METRICS = {
    "squared": ("viridis_r", "squared L2 distance (0 = identical)"),
    "cosine": ("viridis", "cosine similarity (1 = identical)"),
}


class DistanceMatrixDisplay:
    """Every two faces' squared distance (or cosine similarity), faces grouped by identity, with
    the identity blocks marked: same-person blocks on the diagonal, different people off it.

    Parameters
    ----------
    matrix : (N, N) array
        In the order of ``identities``.
    identities : sequence
        One per row, grouped (see :meth:`from_embeddings`).
    metric : {"squared", "cosine"}
    names : mapping, optional
        Display names of identities.
    title : str, optional
    """

    def __init__(self, matrix, identities, *, metric: str = "squared", names: Optional[Mapping] = None,
                 title: Optional[str] = None):
        if metric not in MATRIX_METRICS:
            raise ValueError(f"metric must be one of {', '.join(MATRIX_METRICS)}, got {metric!r}")
        self.matrix = np.asarray(matrix, dtype=float)
        self.identities = np.asarray(identities)
        self.metric = metric
        self.names = {str(k): v for k, v in (names or {}).items()}
        self.title = title

    @classmethod
    def from_embeddings(cls, embeddings, identities, *, metric: str = "squared", names=None, title=None,
                        ax=None, **plot_kwargs) -> DistanceMatrixDisplay:
        """Unit-length embeddings (rows) -> the matrix, rows grouped by identity (stable), drawn.

        The squared distance of unit vectors is ``2 - 2 cos`` (:func:`facelab.core.calibration.squared_distance`).
        """
        from facelab.core.vectors import unit_rows

        emb = unit_rows(embeddings)
        ids = np.asarray(identities)
        order = np.argsort(ids.astype(str), kind="stable")
        e = emb[order]
        cos = np.clip(e @ e.T, -1.0, 1.0)
        matrix = cos if metric == "cosine" else np.maximum(2.0 - 2.0 * cos, 0.0)
        disp = cls(matrix, ids[order], metric=metric, names=names, title=title)
        disp.order_ = order
        return disp.plot(ax, **plot_kwargs)

    @classmethod
    def from_result(cls, result, *, metric: str = "squared", names=None, ax=None, **plot_kwargs):
        """From an :class:`~facelab.engine.result.EmbeddingResult` (its embedded faces), titled with its model."""
        what = "squared distance" if metric == "squared" else "cosine similarity"
        return cls.from_embeddings(result.embeddings, result.identities, metric=metric, names=names, ax=ax,
                                   title=f"{result.model}: {what} of every two faces", **plot_kwargs)

    def block_means(self) -> dict:
        """Mean value over pairs of one person (diagonal excluded) and over pairs of two people."""
        same = np.equal.outer(self.identities, self.identities)
        off = ~np.eye(len(self.identities), dtype=bool)
        return {"same person": float(self.matrix[same & off].mean()) if (same & off).any() else float("nan"),
                "different people": float(self.matrix[~same].mean()) if (~same).any() else float("nan")}

    def plot(self, ax=None, *, colorbar: bool = True, vmin: Optional[float] = None,
             vmax: Optional[float] = None) -> DistanceMatrixDisplay:
        """Draw; returns self with ``ax_``, ``figure_`` and ``image_`` set.

        ``vmin`` / ``vmax`` default to 0 and the largest distance (squared), -0.2 and 1 (cosine).
        """
        cmap, label = MATRIX_METRICS[self.metric]
        if self.metric == "cosine":
            vmin = -0.2 if vmin is None else vmin
            vmax = 1.0 if vmax is None else vmax
        else:
            vmin = 0.0 if vmin is None else vmin
            vmax = float(self.matrix.max()) if vmax is None and self.matrix.size else vmax
        ax = _new_ax(ax, (6.5, 5.5))
        im = ax.imshow(self.matrix, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ids = self.identities
        for b in np.flatnonzero(ids[1:] != ids[:-1]) + 0.5:
            ax.axhline(b, color="white", lw=1.5)
            ax.axvline(b, color="white", lw=1.5)
        uniq = list(dict.fromkeys(ids.tolist()))
        ticks = [float(np.mean(np.flatnonzero(ids == i))) for i in uniq]
        labels = [self.names.get(str(i), str(i)) for i in uniq]
        if len(uniq) <= 20:
            ax.set_xticks(ticks, labels, fontsize=8)
            ax.set_yticks(ticks, labels, rotation=90, va="center", fontsize=8)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(self.title or f"{label.split(' (')[0]} of every two faces ({len(ids)})", fontsize=10)
        if colorbar:
            ax.figure.colorbar(im, ax=ax, label=label, shrink=0.85)
        self.image_ = im
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ProjectionGridDisplay:
    """Small multiples: the same embeddings under several UMAP settings (rows: ``n_neighbors``,
    columns: ``min_dist``), to see which structure is robust and which is an artefact."""

    def __init__(self, projections: dict, identities, *, names=None):
        self.projections = projections  # {(n_neighbors, min_dist): Projection}
        self.identities = np.asarray(identities)
        self.names = names

    @classmethod
    def from_embeddings(cls, embeddings, identities, *, n_neighbors=(5, 15, 50), min_dist=(0.0, 0.5),
                        random_state=0, names=None, figure=None):
        from facelab.analysis.projection import project

        projs = {(nn, md): project(embeddings, method="umap", n_neighbors=nn, min_dist=md, random_state=random_state)
                 for nn in n_neighbors for md in min_dist}
        return cls(projs, identities, names=names).plot(figure=figure)

    def plot(self, figure=None):
        import matplotlib.pyplot as plt

        nns = sorted({k[0] for k in self.projections})
        mds = sorted({k[1] for k in self.projections})
        fig = figure or plt.figure(figsize=(3.0 * len(mds), 2.7 * len(nns)), layout="constrained")
        axes = fig.subplots(len(nns), len(mds), squeeze=False)
        for r, nn in enumerate(nns):
            for c, md in enumerate(mds):
                ax = axes[r, c]
                p = self.projections[(nn, md)]
                EmbeddingMapDisplay(p.coords, self.identities, names=self.names).plot(
                    ax=ax, thumbnails=False, point_size=14, legend=(r == 0 and c == len(mds) - 1))
                ax.set_title(f"n_neighbors={p.params['n_neighbors']}, min_dist={md}", fontsize=9)
                ax.set_xlabel("")
                ax.set_ylabel("")
        fig.suptitle("UMAP settings: rows n_neighbors (local → global), columns min_dist (tight → spread)",
                     fontsize=10)
        self.ax_, self.figure_ = axes, fig
        return self


class CmcDisplay:
    """Cumulative match characteristic: identification rate against rank.

    Parameters
    ----------
    cmc : array
        ``cmc[r-1]`` = fraction of mated probes with their identity in the top ``r``.
    name : str, optional
    """

    def __init__(self, cmc, *, name: Optional[str] = None, n_probes: Optional[int] = None):
        self.cmc = np.asarray(cmc, dtype=float)
        self.name = name
        self.n_probes = n_probes

    @classmethod
    def from_result(cls, result, *, name=None, ax=None, **kwargs):
        """From a :class:`~facelab.identification.evaluate.ClosedSetResult` or ``IdentificationResult``."""
        return cls(result.cmc, name=name, n_probes=getattr(result, "n_probes", None)).plot(ax=ax, **kwargs)

    @classmethod
    def from_embeddings(cls, embeddings, identities, *, k: int = 1, seed: int = 0, name=None, ax=None, **kwargs):
        from facelab.identification.evaluate import closed_set, gallery_probe_split

        split = gallery_probe_split(identities, k=k, seed=seed)
        return cls.from_result(closed_set(embeddings, identities, split), name=name, ax=ax, **kwargs)

    def plot(self, ax=None, *, max_rank: Optional[int] = None, **line_kwargs):
        ax = _new_ax(ax, figsize=(5, 3.8))
        n = self.cmc.size if max_rank is None else min(max_rank, self.cmc.size)
        ranks = np.arange(1, n + 1)
        label = (self.name or "CMC") + (f" (rank-1 = {self.cmc[0]:.3f})" if self.cmc.size else "")
        self.line_, = ax.plot(ranks, self.cmc[:n], marker="o" if n <= 30 else None, ms=4, label=label, **line_kwargs)
        ax.set_xlabel("rank")
        ax.set_ylabel("identification rate")
        ax.set_ylim(min(0.0, float(self.cmc[:n].min()) if n else 0.0) - 0.02, 1.02)
        if n <= 20:
            ax.set_xticks(ranks)
        ax.set_title("Cumulative match characteristic" + (f" ({self.n_probes} probes)" if self.n_probes else ""),
                     fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self
