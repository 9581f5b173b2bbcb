"""An interactive embedding explorer: one call gives a linked Bokeh page (map, hover thumbnails,
nearest neighbours, selection table, colour modes, threshold slider with FAR/FRR and failures).

Everything the page needs is computed in Python and shipped in the page's data sources: the
neighbours (:func:`facelab.core.vectors.nearest_neighbours`), the pair summary behind the slider
(:func:`facelab.verification.pair_summary.summarise_pairs`), the thumbnails
(:mod:`facelab.plotting.thumbnails`); the browser only looks things up (Bokeh ``CustomJS``
callbacks select rows and copy columns). Drawing lives in :mod:`facelab.plotting.interactive`.

Examples
--------
>>> from facelab.plotting.explorer import explore
>>> ex = explore(result)                    # an EmbeddingResult      # doctest: +SKIP
>>> ex                                      # in JupyterLab: the live explorer  # doctest: +SKIP
>>> ex.save("explorer.html")                # one offline file         # doctest: +SKIP

Or from plain arrays (no pipeline needed)::

    explore_embeddings(emb, identities, image_ids=ids, thumbnails=chips, detection_scores=s, residuals=r)

The threshold
-------------
The slider moves on the pair summary's grid (step
:data:`~facelab.verification.pair_summary.GRID_STEP`); a threshold given off the grid (a model's
calibrated threshold) starts it at the nearest grid point, and the readout's counts, the lines and
the "misjudged" colours are all judged at that one threshold. The misjudged pairs drawn as lines
start with the hardest :data:`facelab.plotting.interactive.MAX_LINES` (10: more hide the map); the page's "lines drawn" box asks
for more, up to every kept candidate.

Large sets
----------
Pairs are scored in row blocks and only the summary is kept (see
:mod:`facelab.verification.pair_summary`). Thumbnails are downsampled PNGs inlined as ``data:``
URIs: 64 px up to 1,000 faces, 32 px beyond, and past ``max_thumbnails`` (default 2,000) only an
evenly spread subset, chosen per identity, carries one (the others hover with text only), which
keeps a 10^4-point page at a few MB (``benchmarks/explorer_scale.py`` times it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facelab.core.errors import EvaluationError
from facelab.core.vectors import Neighbours, nearest_neighbours, unit_rows
from facelab.plotting.thumbnails import BLANK_URI, make_thumbnails, spread_subset, thumbnail_uris
from facelab.verification.pair_summary import PairSummary, summarise_pairs

__all__ = ["Explorer", "ExplorerData", "explore", "explore_embeddings"]


@dataclass
class ExplorerData:
    """Everything the explorer page shows, as plain arrays (one entry per face unless noted).

    ``threshold`` is a point of the pair summary's grid: the page opens there, and its counts,
    lines and colours are exact there.
    """

    coords: np.ndarray
    identities: np.ndarray
    names: np.ndarray
    image_ids: np.ndarray
    thumbs: list
    detection_scores: np.ndarray
    residuals: np.ndarray
    neighbours: Neighbours
    pairs: PairSummary
    threshold: float
    title: str = "Embedding explorer"
    method: str = ""
    thumb_size: int = 32
    n_thumbnails: int = 0
    extras: dict = field(default_factory=dict)
    #: More colour modes, ``{label: one category per face}`` (e.g. an audit's flags, clusters):
    #: each joins the colour menu, with a legend, and the hover text; ``""`` is drawn grey (none).
    categories: dict = field(default_factory=dict)
    #: The colour mode the page opens with: ``"identity"`` or a key of ``categories``.
    colour: str = "identity"


class Explorer:
    """The explorer: ``.layout`` (a Bokeh layout), ``.save(path)`` (one offline HTML file) and,
    in JupyterLab, its own display (a ``jupyter_bokeh.BokehModel`` widget).

    Attributes
    ----------
    data : ExplorerData
    """

    def __init__(self, data: ExplorerData, **layout_kwargs):
        self.data = data
        self.layout_kwargs = layout_kwargs
        self._layout = None

    def build(self):
        """A new Bokeh layout (a Bokeh model belongs to one document, so each use gets its own)."""
        from facelab.plotting.interactive import explorer_layout

        return explorer_layout(self.data, **self.layout_kwargs)

    @property
    def layout(self):
        if self._layout is None:
            self._layout = self.build()
        return self._layout

    def html(self, *, title: str | None = None) -> str:
        """The standalone page: BokehJS and every thumbnail inlined, no network request."""
        from facelab.plotting.interactive import standalone_html

        return standalone_html(self.build(), title=title or self.data.title)

    def save(self, path, *, title: str | None = None) -> Path:
        """Write the standalone page (atomically) and return its path."""
        from facelab.core.atomic import atomic_write_text

        path = Path(path)
        atomic_write_text(path, self.html(title=title))
        return path

    def widget(self):
        """A ``jupyter_bokeh.BokehModel`` ipywidget (renders in JupyterLab 4 offline: BokehJS ships
        inside the ``jupyter_bokeh`` lab extension)."""
        from facelab.plotting.interactive import notebook_widget

        return notebook_widget(self.build())

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget())

    def __repr__(self) -> str:
        d = self.data
        return (f"Explorer({len(d.image_ids)} faces, {len(set(d.identities.tolist()))} identities, "
                f"{d.method or 'given'} map, threshold {d.threshold:.3f}, {d.n_thumbnails} thumbnails)")


def explore_embeddings(embeddings, identities, *, image_ids: Sequence[str] | None = None,
                       thumbnails=None, detection_scores=None, residuals=None, pairs=None, pair_scores=None,
                       coords=None, method: str = "umap", projection_kwargs: Mapping | None = None,
                       threshold: float | None = None, k: int = 5, names: Mapping | None = None,
                       max_thumbnails: int = 2000, thumb_size: int | None = None, max_pairs: int = 300,
                       title: str | None = None, categories: Mapping[str, Sequence] | None = None,
                       colour: str = "identity", **layout_kwargs) -> Explorer:
    """The explorer from plain inputs.

    Parameters
    ----------
    embeddings : (N, D) array
    identities : sequence of N labels
    image_ids : sequence of N str, optional
        Shown on hover and in the tables (default ``"0"``, ``"1"``, ...).
    thumbnails : (N, H, W, 3) uint8 array or sequence of arrays / None, optional
        Faces (e.g. aligned chips); see :func:`make_thumbnails` to make them from images.
    detection_scores, residuals : sequence of N floats, optional
        Detector confidence and alignment residual (pixels); NaN where unknown.
    pairs, pair_scores : optional
        The pairs the threshold judges (``PairSet`` or ``(i, j)``) and their cosine scores;
        default every pair (see :func:`summarise_pairs`).
    coords : (N, 2) array, optional
        A ready map; otherwise :func:`facelab.analysis.projection.project` with ``method`` and
        ``projection_kwargs``.
    threshold : float, optional
        Initial cosine threshold (default: the accuracy-best one), moved to the nearest grid point
        (:meth:`~facelab.verification.pair_summary.PairSummary.grid_threshold`): the counts, lines and
        colours of the page are exact there.
    k : int
        Neighbours listed when a face is clicked.
    names : mapping, optional
        Display names of identities.
    max_thumbnails, thumb_size : int
        Thumbnails are inlined for at most ``max_thumbnails`` faces (an evenly spread subset
        beyond), at ``thumb_size`` px (default 64 up to 1,000 faces, else 32).
    max_pairs : int
        Hardest impostor and genuine pairs kept for the lines and the failure list.
    categories : mapping, optional
        More colour modes, ``{label: one category per face}`` (e.g. ``{"audit flag":
        audit.flags()}``): each joins the colour menu (with a legend) and the hover text; ``""``
        means none and is drawn grey.
    colour : str
        The colour mode the page opens with: ``"identity"`` or a key of ``categories``.
    **layout_kwargs
        For :func:`facelab.plotting.interactive.explorer_layout` (``width``, ``height``,
        ``max_lines``: misjudged pairs drawn when the page opens, default
        :data:`facelab.plotting.interactive.MAX_LINES`, ...).
    """
    e = unit_rows(embeddings, dtype=np.float32, finite=True)
    n = e.shape[0]
    ids = np.asarray(identities).astype(str)
    if ids.shape != (n,):
        raise EvaluationError(f"{n} embeddings but {np.size(identities)} identity labels")

    def column(values, what, default):
        if values is None:
            return np.full(n, default, dtype=float)
        arr = np.asarray(values, dtype=float)
        if arr.shape != (n,):
            raise EvaluationError(f"{what}: expected {n} values, got shape {arr.shape}")
        return arr

    img_ids = np.asarray([str(i) for i in range(n)] if image_ids is None else [str(i) for i in image_ids])
    if img_ids.shape != (n,):
        raise EvaluationError(f"image_ids: expected {n} values, got {img_ids.size}")
    det = column(detection_scores, "detection_scores", np.nan)
    res = column(residuals, "residuals", np.nan)
    if coords is None:
        from facelab.analysis.projection import project

        proj = project(e, method=method, **dict(projection_kwargs or {}))
        xy, how = proj.coords[:, :2], proj.describe()
    else:
        xy, how = np.asarray(coords, dtype=float), "given coordinates"
        if xy.shape != (n, 2):
            raise EvaluationError(f"coords: expected shape ({n}, 2), got {xy.shape}")
    nn = nearest_neighbours(e, k=k)
    summary = summarise_pairs(e, ids, pairs=pairs, scores=pair_scores, max_pairs=max_pairs)
    t = summary.best_threshold() if threshold is None else summary.grid_threshold(threshold)
    size = int(thumb_size or (64 if n <= 1000 else 32))
    if thumbnails is None:
        uris, n_thumbs = [BLANK_URI] * n, 0
    else:
        if len(thumbnails) != n:
            raise EvaluationError(f"thumbnails: expected {n}, got {len(thumbnails)}")
        rows = None if n <= max_thumbnails else spread_subset(ids, max_thumbnails)
        uris = thumbnail_uris(thumbnails, size=size, rows=rows)
        n_thumbs = sum(u != BLANK_URI for u in uris)
    cats = {str(label): np.asarray([str(v) for v in values], dtype=object)
            for label, values in dict(categories or {}).items()}
    for label, values in cats.items():
        if values.shape != (n,):
            raise EvaluationError(f"categories[{label!r}]: expected {n} values, got {values.size}")
    if colour != "identity" and colour not in cats:
        raise EvaluationError(f"colour must be 'identity' or one of the categories ({', '.join(cats) or 'none given'}), "
                              f"got {colour!r}")
    names = dict(names or {})
    shown = np.asarray([names.get(i, i) for i in ids])
    data = ExplorerData(coords=xy, identities=ids, names=shown, image_ids=img_ids, thumbs=uris,
                        detection_scores=det, residuals=res, neighbours=nn, pairs=summary, threshold=t,
                        title=title or f"Embedding explorer: {n} faces, {len(set(ids.tolist()))} identities",
                        method=how, thumb_size=size, n_thumbnails=n_thumbs, categories=cats, colour=colour)
    return Explorer(data, **layout_kwargs)


def explore(result, *, thumbnails=None, names: Mapping | None = None, **kwargs) -> Explorer:
    """The explorer of an :class:`~facelab.engine.result.EmbeddingResult`.

    Takes the embeddings, identities, image ids and alignment residuals from the result
    (``result.embedded``); the detection scores from its typed faces (``result.embedded_faces``;
    NaN where a row has none); thumbnails from ``thumbnails``, else ``result.chips``
    (``embed_images(..., keep_chips=True)``), else the face boxes cropped from the images
    (:func:`make_thumbnails`). Other keywords go to :func:`explore_embeddings`.
    """
    rows = result.embedded
    n = len(rows)
    if n != len(result.embeddings):
        raise EvaluationError(f"the result has {len(result.embeddings)} embeddings but {n} embedded rows")
    det = [np.nan if face is None else float(face.score) for face in result.embedded_faces]
    if thumbnails is None:
        thumbnails = result.chips
    if thumbnails is None and "path" in rows:
        boxes = list(rows["box"]) if "box" in rows else None
        size = 64 if n <= 1000 else 32
        thumbnails = make_thumbnails(list(rows["path"]), boxes=boxes, size=size)
    residuals = rows["residual"].to_numpy(dtype=float) if "residual" in rows else None
    return explore_embeddings(result.embeddings, list(rows["identity"]), image_ids=list(rows["image_id"]),
                              thumbnails=thumbnails, detection_scores=det, residuals=residuals, names=names,
                              **kwargs)
