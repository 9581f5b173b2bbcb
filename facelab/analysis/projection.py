"""2-D maps of embedding space: UMAP (umap-learn), PCA and t-SNE (scikit-learn).

UMAP and PCA are fitted models: :meth:`Projection.transform` places new faces on an existing map.
t-SNE has no transform; asking for one raises.

UMAP's kernels are compiled by numba on first use, which used to cost a fresh process about 20 s
of a 1,240-face map's 30 s; :func:`load_umap` keeps them compiled between runs, in facelab's cache
folder (``<$FACELAB_CACHE>/numba``). Below :data:`UMAP_EXACT_BELOW` faces umap-learn computes every
cosine distance through a Python call per pair (1,240 faces: 770,000 calls, two thirds of the
map's time); :func:`project` gives it the distance matrix instead, one matrix product: the same
distances (to float rounding; the layout, seeded as before, can come out turned or mirrored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError
from facelab.core.vectors import as_embeddings

__all__ = ["Projection", "project", "misjudged_pairs", "find_misjudged_pairs", "MisjudgedPairs", "load_umap",
           "METHODS"]

METHODS = ("umap", "pca", "tsne")

_UMAP_KERNELS_CACHED = False
#: Below this many points umap-learn computes every distance (its own threshold), above it searches
#: approximate neighbours (pynndescent).
UMAP_EXACT_BELOW = 4096


def load_umap():
    """The ``umap`` module, with numba's compiled kernels kept on disk between runs.

    numba compiles UMAP's and pynndescent's functions the first time a process calls them; only a
    few of them ask numba to keep the result. Here every compiled function of both packages is
    given numba's on-disk cache (``Dispatcher.enable_caching``), in ``<cache_dir()>/numba`` (unless
    ``NUMBA_CACHE_DIR`` names another folder), before anything is compiled: the first map of a
    machine compiles and stores them, later processes load them (numba checks each against its
    source file, so an upgrade recompiles). Set before the first ``import umap`` of the process
    for the folder to apply to the functions that cache themselves.
    """
    global _UMAP_KERNELS_CACHED
    if not _UMAP_KERNELS_CACHED:
        import sys

        import numba
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher

        from facelab.engine.cache import cache_dir

        if not numba.config.CACHE_DIR:
            folder = cache_dir() / "numba"
            folder.mkdir(parents=True, exist_ok=True)
            numba.config.CACHE_DIR = str(folder)
        import umap  # noqa: F401  (imports its modules and pynndescent's)

        for name, module in list(sys.modules.items()):
            if module is None or not name.startswith(("umap.", "pynndescent.")):
                continue
            for fn in list(vars(module).values()):
                if isinstance(fn, CPUDispatcher) and isinstance(getattr(fn, "_cache", None), NullCache):
                    fn.enable_caching()
        _UMAP_KERNELS_CACHED = True
    import umap

    return umap


@dataclass(frozen=True)
class Projection:
    """A 2-D (or ``n_components``-D) map of embeddings.

    Attributes
    ----------
    coords : ndarray (N, n_components)
    method : str
    params : dict
        The settings used (for titles and provenance).
    model : object
        The fitted estimator (``umap.UMAP``, ``sklearn.decomposition.PCA`` or
        ``sklearn.manifold.TSNE``).
    """

    coords: np.ndarray
    method: str
    params: dict = field(default_factory=dict)
    model: Any = field(default=None, repr=False)
    fitted_on: Optional[np.ndarray] = field(default=None, repr=False)

    def transform(self, embeddings) -> np.ndarray:
        """Coordinates of new embeddings on this map (UMAP and PCA only)."""
        if self.method == "tsne":
            raise EvaluationError("t-SNE cannot place new points on an existing map; use method='umap' or 'pca'")
        x = as_embeddings(embeddings, dtype=np.float32)
        if self.fitted_on is not None:  # a UMAP fitted on cosine distances: the new faces' to the map's faces
            import warnings

            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*precomputed metric.*")
                return np.asarray(self.model.transform(_cosine_distances(x, self.fitted_on)))
        return np.asarray(self.model.transform(x))

    def describe(self) -> str:
        """Short label such as ``UMAP (n_neighbors=15, min_dist=0.1)``."""
        names = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
        shown = {k: v for k, v in self.params.items() if k in ("n_neighbors", "min_dist", "perplexity", "metric")}
        inner = ", ".join(f"{k}={v}" for k, v in shown.items())
        return f"{names[self.method]} ({inner})" if inner else names[self.method]


def _cosine_distances(a, b) -> np.ndarray:
    """``1 - cos`` of every row of ``a`` with every row of ``b`` (float32, at least 0)."""
    from facelab.core.vectors import unit_rows

    d = 1.0 - unit_rows(a) @ unit_rows(b).T
    return np.maximum(d, 0.0).astype(np.float32)


def project(embeddings, *, method: str = "umap", random_state: Optional[int] = 0, n_neighbors: int = 15,
            min_dist: float = 0.1, n_components: int = 2, metric: str = "cosine", perplexity: float = 30.0) -> Projection:
    """Fit a low-dimensional map of embeddings.

    Parameters
    ----------
    embeddings : (N, D) array
    method : {"umap", "pca", "tsne"}
    random_state : int or None
        Seed (UMAP and t-SNE are stochastic; a seed also makes UMAP single-threaded).
    n_neighbors, min_dist : UMAP settings
        ``n_neighbors`` is capped at ``N - 1`` for small sets.
    metric : str
        UMAP / t-SNE input metric; cosine suits L2-normalised face embeddings.
    perplexity : float
        t-SNE setting, capped below ``N`` for small sets.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = as_embeddings(embeddings, dtype=np.float32)
    n = x.shape[0]
    if n < 3:
        raise EvaluationError(f"need at least 3 embeddings to make a map, got {n}")
    if method == "umap":
        import warnings

        umap = load_umap()
        nn = int(min(n_neighbors, n - 1))
        params = {"n_neighbors": nn, "min_dist": min_dist, "metric": metric, "random_state": random_state,
                  "n_components": n_components}
        exact = metric == "cosine" and n < UMAP_EXACT_BELOW
        # Below UMAP_EXACT_BELOW umap-learn would compute these same distances one pair at a time.
        model = umap.UMAP(**{**params, "metric": "precomputed"}) if exact else umap.UMAP(**params)
        with warnings.catch_warnings():
            # "n_jobs overridden to 1 by setting random_state" is expected.
            warnings.filterwarnings("ignore", message=".*n_jobs.*")
            # Precomputed distances cannot be mapped back (no inverse_transform): the report never asks.
            warnings.filterwarnings("ignore", message=".*precomputed metric.*")
            coords = model.fit_transform(_cosine_distances(x, x) if exact else x)
        if exact:
            return Projection(coords=np.asarray(coords, dtype=np.float64), method=method, params=params, model=model,
                              fitted_on=x)
    elif method == "pca":
        from sklearn.decomposition import PCA

        params = {"n_components": n_components, "random_state": random_state}
        model = PCA(**params)
        coords = model.fit_transform(x)
        params["explained_variance_ratio"] = [round(float(v), 4) for v in model.explained_variance_ratio_]
    else:
        from sklearn.manifold import TSNE

        perp = float(min(perplexity, max(1.0, (n - 1) / 3)))
        params = {"n_components": n_components, "perplexity": perp, "metric": metric, "random_state": random_state,
                  "init": "pca"}
        model = TSNE(**params)
        coords = model.fit_transform(x)
    return Projection(coords=np.asarray(coords, dtype=np.float64), method=method, params=params, model=model)


@dataclass(frozen=True)
class MisjudgedPairs:
    """The pairs decided wrongly at a threshold (:func:`find_misjudged_pairs`).

    Attributes
    ----------
    pairs : pandas.DataFrame
        The hardest of them, hardest first (see :func:`misjudged_pairs`).
    total : int
        How many pairs are misjudged in all (``len(pairs)`` unless cut to ``max_pairs``).
    """

    pairs: pd.DataFrame
    total: int


def find_misjudged_pairs(embeddings, identities, threshold: float, *, max_pairs: Optional[int] = None,
                         chunk_size: int = 1024) -> MisjudgedPairs:
    """Pairs decided wrongly at a cosine ``threshold``, among every unordered pair, and how many.

    Every pair is scored, in blocks of ``chunk_size`` rows against the rows after them, and only the
    wrong ones are kept (all 13,233 LFW faces: 87.5 million pairs scored, a few hundred thousand
    kept, never all scores at once); they are ordered by
    :func:`facelab.verification.thresholds.wrong_side_pairs`. ``pairs`` is that list cut to
    ``max_pairs``, ``total`` its length before the cut.
    """
    from facelab.core.vectors import unit_rows
    from facelab.verification._checks import identity_codes
    from facelab.verification.thresholds import wrong_side_pairs

    e = unit_rows(embeddings)
    _, codes = identity_codes(identities)
    n = e.shape[0]
    if codes.size != n:
        raise EvaluationError(f"{n} embeddings but {codes.size} identity labels")
    parts = []
    for start in range(0, n, chunk_size):
        rows = np.arange(start, min(n, start + chunk_size))
        block = np.clip(e[rows] @ e.T, -1.0, 1.0)
        same = codes[rows][:, None] == codes[None, :]
        wrong = np.where(same, block < threshold, block >= threshold) & (np.arange(n)[None, :] > rows[:, None])
        a, b = np.nonzero(wrong)  # row-major: pairs by i then j
        parts.append((block[a, b], same[a, b], rows[a], b))
    s, y, i, j = (np.concatenate([p[k] for p in parts]) for k in range(4))
    # Listed by i then j, so wrong_side_pairs' tie-break on the pair index is the tie-break on (i, j).
    w = wrong_side_pairs(s, y, threshold)
    k = w["pair"].to_numpy()
    df = pd.DataFrame({"i": i[k].astype(np.int64), "j": j[k].astype(np.int64), "score": w["score"].to_numpy(),
                       "same": w["same"].to_numpy(), "kind": w["kind"].to_numpy()})
    return MisjudgedPairs(df.head(max_pairs) if max_pairs is not None else df, int(len(k)))


def misjudged_pairs(embeddings, identities, threshold: float, *, max_pairs: Optional[int] = None) -> pd.DataFrame:
    """Pairs decided wrongly at a cosine ``threshold``: the lines to draw on a map.

    Every unordered pair is judged, in row blocks (:func:`find_misjudged_pairs`, which also says
    how many there are in all).

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (rows), ``score`` (cosine), ``same`` and ``kind``:
        ``"false accept"`` (different people scoring ``>= threshold``) or ``"false reject"``
        (same person scoring below it). Sorted hardest first (by distance of the score from the
        threshold, on the wrong side; ties by ``i`` then ``j``), then cut to ``max_pairs``.
    """
    return find_misjudged_pairs(embeddings, identities, threshold, max_pairs=max_pairs).pairs
