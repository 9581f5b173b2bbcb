"""An interactive embedding explorer: one call gives a linked Bokeh page (map, hover thumbnails,
nearest neighbours, selection table, colour modes, threshold slider with FAR/FRR and failures).

Everything the page needs is computed here, in Python, and shipped in the page's data sources;
the browser only looks things up (Bokeh ``CustomJS`` callbacks select rows and copy columns).
Drawing lives in :mod:`facelab.plotting.interactive`.

Examples
--------
>>> from facelab.plotting.explorer import explore
>>> ex = explore(result)                    # an EmbeddingResult      # doctest: +SKIP
>>> ex                                      # in JupyterLab: the live explorer  # doctest: +SKIP
>>> ex.save("explorer.html")                # one offline file         # doctest: +SKIP

Or from plain arrays (no pipeline needed)::

    explore_embeddings(emb, identities, image_ids=ids, thumbnails=chips, detection_scores=s, residuals=r)

Large sets
----------
Scores are never all held at once: every pair is scored in row blocks (``chunk_size`` rows
against all others), and only what the page needs is kept -- FAR/FRR counts on a fixed threshold
grid (step :data:`GRID_STEP`, exact for thresholds on the grid), each face's hardest impostor and
hardest genuine score (which decide, exactly, whether it is "in a misjudged pair" at any
threshold), the ``max_pairs`` highest-scoring impostor and lowest-scoring genuine pairs (the
lines drawn), and the ``k`` nearest neighbours of each face. Thumbnails are downsampled PNGs
inlined as ``data:`` URIs: 64 px up to 1,000 faces, 32 px beyond, and past ``max_thumbnails``
(default 2,000) only an evenly spread subset, chosen per identity, carries one (the others hover
with text only), which keeps a 10^4-point page at a few MB; it builds and saves in seconds.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError
from facelab.core.vectors import Neighbours, block_rows, nearest_neighbours, unit_rows

__all__ = [
    "GRID_STEP",
    "Explorer",
    "ExplorerData",
    "PairSummary",
    "explore",
    "explore_embeddings",
    "make_thumbnails",
    "summarise_pairs",
    "thumbnail_uris",
]

#: Spacing of the threshold grid (cosine) on which FAR/FRR are counted exactly.
GRID_STEP = 0.001
#: A tiny transparent GIF: the hover image of faces without a thumbnail.
BLANK_URI = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


# --------------------------------------------------------------------------------------------
# Computing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairSummary:
    """What a threshold does to the pairs, in a form small enough to ship to a browser.

    Attributes
    ----------
    thresholds : (G,) array
        The grid ``-1, -1 + GRID_STEP, ..., 1`` (cosine).
    n_false_accept, n_false_reject : (G,) int arrays
        Impostor pairs scoring ``>= t`` and genuine pairs scoring ``< t``, at each grid threshold.
    n_genuine, n_impostor : int
    score_min, score_max : float
        Range of the pair scores (the slider's range).
    hardest : pandas.DataFrame
        ``i``, ``j``, ``score``, ``same``: the ``max_pairs`` highest-scoring impostor pairs and the
        ``max_pairs`` lowest-scoring genuine pairs (every misjudged pair at any threshold, hardest
        first, as far as ``max_pairs`` goes).
    max_impostor, min_genuine : (N,) arrays
        Each face's highest impostor score and lowest genuine score (``-inf`` / ``inf`` when it has
        none): face ``i`` is in a misjudged pair at ``t`` iff ``max_impostor[i] >= t`` or
        ``min_genuine[i] < t``.
    """

    thresholds: np.ndarray
    n_false_accept: np.ndarray
    n_false_reject: np.ndarray
    n_genuine: int
    n_impostor: int
    score_min: float
    score_max: float
    hardest: pd.DataFrame
    max_impostor: np.ndarray
    min_genuine: np.ndarray

    @property
    def far(self) -> np.ndarray:
        return self.n_false_accept / max(self.n_impostor, 1)

    @property
    def frr(self) -> np.ndarray:
        return self.n_false_reject / max(self.n_genuine, 1)

    @property
    def accuracy(self) -> np.ndarray:
        total = self.n_genuine + self.n_impostor
        return 1 - (self.n_false_accept + self.n_false_reject) / max(total, 1)

    def index(self, threshold: float) -> int:
        """Grid index of a threshold (nearest grid point)."""
        return int(np.clip(round((float(threshold) + 1) / GRID_STEP), 0, self.thresholds.size - 1))

    def best_threshold(self) -> float:
        """The accuracy-best grid threshold inside the score range (ties: the lowest)."""
        lo, hi = self.index(self.score_min), self.index(self.score_max) + 1
        k = lo + int(np.argmax(self.accuracy[lo:hi + 1]))
        return float(self.thresholds[min(k, self.thresholds.size - 1)])


def _grid() -> np.ndarray:
    return np.round(np.arange(-1.0, 1.0 + GRID_STEP / 2, GRID_STEP), 6)


def _at_or_above(values: np.ndarray, g: int) -> np.ndarray:
    """Counts of ``values >= grid[k]`` for every k (bincount of grid positions, reversed cumsum)."""
    pos = np.floor((values.astype(np.float64) + 1.0) / GRID_STEP + 1e-9).astype(np.int64) + 1
    counts = np.bincount(np.clip(pos, 0, g), minlength=g + 1)
    # counts[p]: values with exactly p grid points <= them; value >= grid[k] <=> p > k
    return counts[::-1].cumsum()[::-1][1:]


class _Hardest:
    """Running top-``m`` lists (highest impostor, lowest genuine scores)."""

    def __init__(self, m: int):
        self.m = m
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []

    def add(self, s, i, j, same: bool):
        key = -s if not same else s  # smaller key = harder
        if key.size > self.m:
            keep = np.argpartition(key, self.m - 1)[:self.m]
            s, i, j = s[keep], i[keep], j[keep]
        self.parts.append((s, i, j, same))
        if len(self.parts) > 16:
            self.compact()

    def compact(self):
        out = []
        for same in (False, True):
            ps = [p for p in self.parts if p[3] is same]
            if not ps:
                continue
            s = np.concatenate([p[0] for p in ps])
            i = np.concatenate([p[1] for p in ps])
            j = np.concatenate([p[2] for p in ps])
            key = -s if not same else s
            order = np.lexsort((j, i, key))[:self.m]
            out.append((s[order], i[order], j[order], same))
        self.parts = out

    def frame(self) -> pd.DataFrame:
        self.compact()
        rows = [pd.DataFrame({"i": p[1], "j": p[2], "score": p[0].astype(np.float64), "same": p[3]})
                for p in self.parts if p[0].size]
        if not rows:
            return pd.DataFrame({"i": np.zeros(0, np.int64), "j": np.zeros(0, np.int64),
                                 "score": np.zeros(0), "same": np.zeros(0, bool)})
        return pd.concat(rows, ignore_index=True)


def summarise_pairs(embeddings, identities, *, pairs=None, scores=None, max_pairs: int = 300,
                    chunk_size: int | None = None) -> PairSummary:
    """Score the pairs and keep what a threshold slider needs (see :class:`PairSummary`).

    Parameters
    ----------
    embeddings : (N, D) array
    identities : sequence of N labels
    pairs : PairSet or (i, j), optional
        The pairs to judge; default every unordered pair, scored in row blocks without holding all
        scores (10^4 faces: 5 * 10^7 pairs in a few seconds).
    scores : array, optional
        Cosine score of each of ``pairs`` (default: computed from the embeddings).
    max_pairs : int
        How many of the hardest impostor and of the hardest genuine pairs to keep.
    """
    e = unit_rows(embeddings, dtype=np.float32, finite=True)
    ids = np.asarray(identities)
    n = e.shape[0]
    if ids.shape != (n,):
        raise EvaluationError(f"{n} embeddings but {ids.size} identity labels")
    _, codes = np.unique(ids.astype(str), return_inverse=True)
    grid = _grid()
    g = grid.size
    fa = np.zeros(g, np.int64)
    fr_ge = np.zeros(g, np.int64)  # genuine >= t; false rejects = n_genuine - this
    max_imp = np.full(n, -np.inf)
    min_gen = np.full(n, np.inf)
    hard_imp, hard_gen = _Hardest(max_pairs), _Hardest(max_pairs)
    n_gen = n_imp = 0
    lo, hi = np.inf, -np.inf
    if pairs is None:
        step = block_rows(n, chunk_size)
        cols = np.arange(n)
        for start in range(0, n, step):
            rows = np.arange(start, min(n, start + step))
            s = e[rows] @ e.T
            same = codes[rows][:, None] == codes[None, :]
            same[np.arange(rows.size), rows] = False  # a face with itself is no pair
            imp = ~same
            imp[np.arange(rows.size), rows] = False
            # Whole rows (both directions): per-face extremes, and counts that see every pair twice.
            max_imp[rows] = np.where(imp, s, -np.inf).max(axis=1)
            min_gen[rows] = np.where(same, s, np.inf).min(axis=1)
            for want_same, mask, hard in ((True, same, hard_gen), (False, imp, hard_imp)):
                v = s[mask]
                if not v.size:
                    continue
                lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
                if want_same:
                    n_gen += v.size
                    fr_ge += _at_or_above(v, g)
                else:
                    n_imp += v.size
                    fa += _at_or_above(v, g)
                # The hardest 2m entries of the block hold its hardest m pairs (each seen twice at most).
                m2 = 2 * max_pairs
                if v.size > m2:
                    cut = np.partition(v, m2 - 1)[m2 - 1] if want_same else np.partition(v, v.size - m2)[v.size - m2]
                    mask = mask & ((s <= cut) if want_same else (s >= cut))
                a, b = np.nonzero(mask)
                top = rows[a] < cols[b]  # one direction per pair; the other row block has the mirror
                a, b = a[top], b[top]
                hard.add(s[a, b], rows[a], b, want_same)
        # every pair was seen from both of its faces
        n_gen, n_imp, fr_ge, fa = n_gen // 2, n_imp // 2, fr_ge // 2, fa // 2
    else:
        pi, pj = (pairs.i, pairs.j) if hasattr(pairs, "i") else (np.asarray(pairs[0]), np.asarray(pairs[1]))
        pi, pj = np.asarray(pi, np.int64), np.asarray(pj, np.int64)
        if pi.shape != pj.shape or (pi.size and (min(pi.min(), pj.min()) < 0 or max(pi.max(), pj.max()) >= n)):
            raise EvaluationError(f"pair indices must be two equal-length arrays of rows in [0, {n})")
        if scores is None:
            s = np.einsum("ij,ij->i", e[pi], e[pj]).astype(np.float64)
        else:
            s = np.asarray(scores, dtype=np.float64)
            if s.shape != pi.shape:
                raise EvaluationError(f"{pi.size} pairs but {s.size} scores")
        y = codes[pi] == codes[pj]
        if s.size:
            lo, hi = float(s.min()), float(s.max())
        n_gen, n_imp = int(y.sum()), int((~y).sum())
        fr_ge = _at_or_above(s[y], g)
        fa = _at_or_above(s[~y], g)
        np.maximum.at(max_imp, pi[~y], s[~y])
        np.maximum.at(max_imp, pj[~y], s[~y])
        np.minimum.at(min_gen, pi[y], s[y])
        np.minimum.at(min_gen, pj[y], s[y])
        hard_imp.add(s[~y], pi[~y], pj[~y], False)
        hard_gen.add(s[y], pi[y], pj[y], True)
    if n_gen + n_imp == 0:
        raise EvaluationError("no pairs to judge")
    hardest = pd.concat([hard_imp.frame(), hard_gen.frame()], ignore_index=True)
    return PairSummary(grid, fa, n_gen - fr_ge, int(n_gen), int(n_imp), float(np.clip(lo, -1, 1)),
                       float(np.clip(hi, -1, 1)), hardest, max_imp, min_gen)


# --------------------------------------------------------------------------------------------
# Thumbnails
# --------------------------------------------------------------------------------------------


def _square(img: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise EvaluationError(f"thumbnails must be uint8 images, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise EvaluationError(f"thumbnails must be (H, W, 3) images, got shape {arr.shape}")
    im = Image.fromarray(np.ascontiguousarray(arr[..., :3]))
    scale = size / max(im.width, im.height)
    im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return np.asarray(canvas)


def make_thumbnails(images: Sequence, *, boxes: Sequence | None = None, size: int = 64,
                    margin: float = 0.25) -> np.ndarray:
    """Square ``uint8`` thumbnails ``(N, size, size, 3)`` from image paths or arrays.

    Use it when no aligned chips are at hand (``embed_images(..., keep_chips=True)`` gives them):
    with ``boxes`` (``x0, y0, x1, y1`` per image, e.g. the pipeline table's ``box`` column) each
    thumbnail is the face with ``margin`` of its size around it, else the whole image.

    Raises
    ------
    facelab.data.imageio.ImageLoadError
        When a path cannot be read (the explorer never shows a wrong face silently).
    """
    from facelab.data.imageio import load_image

    out = np.empty((len(images), size, size, 3), np.uint8)
    for n, img in enumerate(images):
        arr = load_image(img) if isinstance(img, (str, bytes)) or hasattr(img, "__fspath__") else np.asarray(img)
        box = None if boxes is None else boxes[n]
        if box is not None and np.size(box) == 4 and np.all(np.isfinite(np.asarray(box, float))):
            x0, y0, x1, y1 = (float(v) for v in box)
            cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * (0.5 + margin)
            h, w = arr.shape[:2]
            a, b = int(max(0, cy - half)), int(min(h, cy + half))
            c, d = int(max(0, cx - half)), int(min(w, cx + half))
            if b > a and d > c:
                arr = arr[a:b, c:d]
        out[n] = _square(arr, size)
    return out


def thumbnail_uris(thumbnails, *, size: int = 32, rows: Sequence[int] | None = None) -> list[str]:
    """``data:image/png;base64,...`` URIs of thumbnails downsampled to ``size`` px.

    ``rows`` limits which get one (the others get :data:`BLANK_URI`); ``None`` entries too.
    """
    from PIL import Image

    want = set(range(len(thumbnails))) if rows is None else {int(r) for r in rows}
    uris = []
    for n, img in enumerate(thumbnails):
        if n not in want or img is None:
            uris.append(BLANK_URI)
            continue
        buf = io.BytesIO()
        Image.fromarray(_square(img, size)).save(buf, format="PNG", optimize=True)
        uris.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
    return uris


def _spread_subset(identities: np.ndarray, m: int, seed: int = 0) -> np.ndarray:
    """``m`` rows spread over identities (round-robin over identities, random within each)."""
    rng = np.random.default_rng(seed)
    groups = [rng.permutation(np.flatnonzero(identities == u)) for u in pd.unique(identities)]
    picked: list[int] = []
    depth = 0
    while len(picked) < m:
        layer = [grp[depth] for grp in groups if depth < grp.size]
        if not layer:
            break
        picked.extend(layer[:m - len(picked)])
        depth += 1
    return np.sort(np.asarray(picked, np.int64))


# --------------------------------------------------------------------------------------------
# The explorer
# --------------------------------------------------------------------------------------------


@dataclass
class ExplorerData:
    """Everything the explorer page shows, as plain arrays (one entry per face unless noted)."""

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
    #: Extra colour modes: ``{label: one category per face}`` (e.g. ``{"cluster": ...}``), shown in
    #: the colour menu after the built-in ones and on hover; ``""`` is drawn grey (no category).
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
        Initial cosine threshold (default: the accuracy-best one).
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
        More colour modes, ``{label: one category per face}`` (e.g. ``{"cluster": labels}``):
        each joins the colour menu and the hover text; ``""`` means none (grey).
    colour : str
        The colour mode the page opens with (``"identity"`` or a key of ``categories``).
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
    t = summary.best_threshold() if threshold is None else float(threshold)
    size = int(thumb_size or (64 if n <= 1000 else 32))
    if thumbnails is None:
        uris, n_thumbs = [BLANK_URI] * n, 0
    else:
        if len(thumbnails) != n:
            raise EvaluationError(f"thumbnails: expected {n}, got {len(thumbnails)}")
        rows = None if n <= max_thumbnails else _spread_subset(ids, max_thumbnails)
        uris = thumbnail_uris(thumbnails, size=size, rows=rows)
        n_thumbs = sum(u != BLANK_URI for u in uris)
    cats = {str(k): np.asarray([str(v) for v in vals]) for k, vals in dict(categories or {}).items()}
    for label, vals in cats.items():
        if vals.shape != (n,):
            raise EvaluationError(f"categories[{label!r}]: expected {n} values, got {vals.size}")
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
