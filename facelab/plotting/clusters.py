"""Figures of clustered faces (scikit-learn Display style): a gallery per cluster, the scores over
thresholds, and a photo with each face's number and cluster.

The numbers come from :mod:`facelab.analysis.face_clusters` (:class:`~facelab.analysis.face_clusters.FaceClusters`,
:func:`~facelab.analysis.face_clusters.threshold_sweep`); nothing is computed here but thumbnails.

Examples
--------
>>> ClusterGalleryDisplay.from_clusters(clusters, max_clusters=6).plot()    # doctest: +SKIP
>>> ClusterSweepDisplay.from_sweep(sweep, calibrated=cal.cosine_threshold)  # doctest: +SKIP
>>> PhotoFacesDisplay.from_clusters(clusters, "group_0001")                 # doctest: +SKIP
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

__all__ = ["ClusterGalleryDisplay", "ClusterSweepDisplay", "PhotoFacesDisplay", "face_thumbnails"]

#: Colour of a face that is not its cluster's most common person.
ODD_COLOR = "#d62728"


def face_thumbnails(faces: pd.DataFrame, rows, size: int) -> dict:
    """``{row: (size, size, 3) uint8}``: the faces of ``rows`` (positions in ``faces``, a table with
    ``path`` and ``box``) cut around their boxes with a margin, each photo read once."""
    from facelab.data.imageio import load_image
    from facelab.plotting.explorer import make_thumbnails

    out = {}
    rows = sorted(set(int(r) for r in rows))
    sub = faces.iloc[rows].assign(_row=rows)
    for path, grp in sub.groupby("path", sort=False):
        image = load_image(path)
        out.update(zip(grp._row.tolist(), make_thumbnails([image] * len(grp), boxes=list(grp.box), size=size)))
    return out


class ClusterGalleryDisplay:
    """A row of faces per cluster (largest first), and a row of unclustered faces.

    Parameters
    ----------
    rows : dict
        ``{cluster: face rows shown}`` (:func:`~facelab.analysis.face_clusters.gallery_rows`; ``-1``: unclustered).
    thumbnails : dict
        ``{face row: (S, S, 3) uint8}``.
    titles : dict
        ``{cluster: row title}``.
    odd : set
        Face rows drawn with a red frame (not their cluster's most common person).
    """

    def __init__(self, rows: dict, thumbnails: dict, titles: dict, odd: set = frozenset()):
        self.rows, self.thumbnails, self.titles, self.odd = rows, thumbnails, titles, set(odd)

    @classmethod
    def from_clusters(cls, clusters, *, max_clusters: int = 6, per_cluster: int = 10, max_unclustered: int = 10,
                      size: int = 64, ax=None) -> ClusterGalleryDisplay:
        """Pick the faces (:func:`~facelab.analysis.face_clusters.gallery_rows`: a spread from most to least
        confident), cut their thumbnails and draw."""
        from facelab.analysis.face_clusters import gallery_rows

        rows = gallery_rows(clusters, max_clusters=max_clusters, per_cluster=per_cluster,
                            max_unclustered=max_unclustered)
        if not len(rows.get(-1, [])):
            rows.pop(-1, None)
        f, c = clusters.faces, clusters.clustering
        majority = {}
        if clusters.identities is not None and len(clusters.identities):
            majority = dict(zip(clusters.identities.cluster, clusters.identities.identity))
        names = clusters.names
        titles, odd = {}, set()
        for k, rs in rows.items():
            if k < 0:
                titles[k] = f"unclustered ({c.n_unclustered})"
                continue
            who = majority.get(k)
            titles[k] = f"cluster {k}: {c.sizes[k]} faces" + (f", mostly {names.get(who, who)}" if who else "")
            odd |= {int(r) for r in rs if who and f.identity.iloc[r] and f.identity.iloc[r] != who}
        thumbs = face_thumbnails(f, np.concatenate([np.asarray(r, int) for r in rows.values()] + [np.zeros(0, int)]), size)
        return cls(rows, thumbs, titles, odd).plot(ax=ax)

    def plot(self, ax=None) -> ClusterGalleryDisplay:
        """Draw (one image of all rows); returns self with ``ax_`` and ``figure_``."""
        import matplotlib.pyplot as plt

        keys = list(self.rows)
        width = max([len(self.rows[k]) for k in keys] + [1])
        size = next(iter(self.thumbnails.values())).shape[0] if self.thumbnails else 64
        pad = 4
        canvas = np.full((len(keys) * (size + pad + 14), width * (size + pad), 3), 255, np.uint8)
        for i, k in enumerate(keys):
            y = i * (size + pad + 14) + 14
            for j, r in enumerate(self.rows[k]):
                x = j * (size + pad)
                canvas[y : y + size, x : x + size] = self.thumbnails[int(r)]
                if int(r) in self.odd:  # a red frame
                    canvas[y : y + 3, x : x + size] = canvas[y + size - 3 : y + size, x : x + size] = (214, 39, 40)
                    canvas[y : y + size, x : x + 3] = canvas[y : y + size, x + size - 3 : x + size] = (214, 39, 40)
        if ax is None:
            _, ax = plt.subplots(figsize=(min(16, 1.1 + width * 0.85), 0.3 + len(keys) * 1.05))
        ax.imshow(canvas)
        for i, k in enumerate(keys):
            ax.text(0, i * (size + pad + 14) + 11, self.titles[k], fontsize=9, va="bottom")
        ax.set_axis_off()
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ClusterSweepDisplay:
    """Pairwise against BCubed F (and NMI) over thresholds, and the number of clusters.

    Parameters
    ----------
    sweep : pandas.DataFrame
        :func:`~facelab.analysis.face_clusters.threshold_sweep`'s table.
    calibrated : float, optional
        The model's calibrated cosine threshold (marked).
    n_identities : int, optional
        The true number of people (marked on the right panel).
    """

    def __init__(self, sweep: pd.DataFrame, *, calibrated: Optional[float] = None, n_identities: Optional[int] = None,
                 title: str = ""):
        self.sweep, self.calibrated, self.n_identities, self.title = sweep, calibrated, n_identities, title

    @classmethod
    def from_sweep(cls, sweep: pd.DataFrame, *, calibrated: Optional[float] = None, title: str = "",
                   axes=None) -> ClusterSweepDisplay:
        n_id = int(sweep.n_identities.iloc[0]) if "n_identities" in sweep and len(sweep) else None
        return cls(sweep, calibrated=calibrated, n_identities=n_id, title=title).plot(axes=axes)

    def plot(self, axes=None) -> ClusterSweepDisplay:
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        s = self.sweep
        a, b = axes
        a.plot(s.threshold, s.bcubed_f, "-o", ms=3, label="BCubed F")
        a.plot(s.threshold, s.pairwise_f, "-s", ms=3, label="pairwise F")
        a.plot(s.threshold, s.nmi, ":", label="NMI")
        a.plot(s.threshold, s.bcubed_precision, "--", lw=1, alpha=.7, label="BCubed precision")
        a.plot(s.threshold, s.bcubed_recall, "--", lw=1, alpha=.7, label="BCubed recall")
        a.set_xlabel("threshold (cosine)")
        a.set_ylim(0, 1.02)
        a.set_title(self.title or "scores over thresholds")
        b.plot(s.threshold, s.n_clusters, "-o", ms=3, label="clusters")
        b.plot(s.threshold, s.n_unclustered, "-s", ms=3, label="faces left alone")
        if self.n_identities:
            b.axhline(self.n_identities, color="k", lw=1, ls=":", label=f"{self.n_identities} people")
        b.set_xlabel("threshold (cosine)")
        b.set_title("clusters and faces left alone")
        for ax in axes:
            if self.calibrated is not None:
                ax.axvline(self.calibrated, color="grey", lw=1, ls="--", label="model's calibrated threshold")
            ax.legend(fontsize=8)
        self.axes_, self.figure_ = axes, axes[0].figure
        return self


class PhotoFacesDisplay:
    """One photo with each face's box, face number and cluster."""

    def __init__(self, image: np.ndarray, faces: pd.DataFrame, *, title: str = ""):
        self.image, self.faces, self.title = image, faces, title

    @classmethod
    def from_clusters(cls, clusters, image_id: str, *, ax=None) -> PhotoFacesDisplay:
        from facelab.data.imageio import load_image

        f = clusters.faces[clusters.faces.image_id == str(image_id)]
        if f.empty:
            raise KeyError(f"no face of {image_id!r} was clustered")
        return cls(load_image(f.path.iloc[0]), f, title=str(image_id)).plot(ax=ax)

    def plot(self, ax=None) -> PhotoFacesDisplay:
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        ax.imshow(self.image)
        for r in self.faces.itertuples():
            x0, y0, x1, y1 = r.box
            color = f"C{r.cluster % 10}" if r.cluster >= 0 else "grey"
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, lw=2))
            face = "" if pd.isna(r.face) else f"face {r.face}: "
            ax.text(x0, y0 - 3, face + (f"cluster {r.cluster}" if r.cluster >= 0 else "alone"), color=color,
                    fontsize=8, va="bottom", bbox=dict(facecolor="white", alpha=.7, lw=0, pad=1))
        ax.set_title(self.title, fontsize=10)
        ax.set_axis_off()
        self.ax_, self.figure_ = ax, ax.figure
        return self
