"""2-D maps of embedding space: UMAP (umap-learn), PCA and t-SNE (scikit-learn).

UMAP and PCA are fitted models: :meth:`Projection.transform` places new faces on an existing map.
t-SNE has no transform; asking for one raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError
from facelab.core.vectors import as_embeddings

__all__ = ["Projection", "project", "misjudged_pairs", "METHODS"]

METHODS = ("umap", "pca", "tsne")


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

    def transform(self, embeddings) -> np.ndarray:
        """Coordinates of new embeddings on this map (UMAP and PCA only)."""
        if self.method == "tsne":
            raise EvaluationError("t-SNE cannot place new points on an existing map; use method='umap' or 'pca'")
        x = as_embeddings(embeddings, dtype=np.float32)
        return np.asarray(self.model.transform(x))

    def describe(self) -> str:
        """Short label such as ``UMAP (n_neighbors=15, min_dist=0.1)``."""
        names = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
        shown = {k: v for k, v in self.params.items() if k in ("n_neighbors", "min_dist", "perplexity", "metric")}
        inner = ", ".join(f"{k}={v}" for k, v in shown.items())
        return f"{names[self.method]} ({inner})" if inner else names[self.method]


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

        import umap

        nn = int(min(n_neighbors, n - 1))
        params = {"n_neighbors": nn, "min_dist": min_dist, "metric": metric, "random_state": random_state,
                  "n_components": n_components}
        model = umap.UMAP(**params)
        with warnings.catch_warnings():
            # "n_jobs overridden to 1 by setting random_state" is expected.
            warnings.filterwarnings("ignore", message=".*n_jobs.*")
            coords = model.fit_transform(x)
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


def misjudged_pairs(embeddings, identities, threshold: float, *, max_pairs: Optional[int] = None) -> pd.DataFrame:
    """Pairs decided wrongly at a cosine ``threshold``: the lines to draw on a map.

    Every unordered pair is scored (fine for the few hundred points a map shows) and the wrong
    ones picked by :func:`facelab.verification.thresholds.wrong_side_pairs`.

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (rows), ``score`` (cosine), ``same`` and ``kind``:
        ``"false accept"`` (different people scoring ``>= threshold``) or ``"false reject"``
        (same person scoring below it). Sorted hardest first (by distance of the score from the
        threshold, on the wrong side; ties by ``i`` then ``j``), then cut to ``max_pairs``.
    """
    from facelab.verification.pairs import all_pair_scores
    from facelab.verification.thresholds import wrong_side_pairs

    s, y, i, j = all_pair_scores(embeddings, identities)
    # all_pair_scores lists pairs by i then j, so wrong_side_pairs' tie-break on the pair index
    # is the tie-break on (i, j).
    w = wrong_side_pairs(s, y, threshold)
    k = w["pair"].to_numpy()
    df = pd.DataFrame({"i": i[k], "j": j[k], "score": w["score"].to_numpy(), "same": w["same"].to_numpy(),
                       "kind": w["kind"].to_numpy()})
    return df.head(max_pairs) if max_pairs is not None else df
