"""Faces -> clusters: who is the same person, without names.

Computing only (no files, no drawing): :func:`cluster_faces` turns unit embeddings into a typed
:class:`Clustering`. :mod:`facelab.analysis.cluster_scores` scores clusters against identities;
:mod:`facelab.analysis.face_clusters` clusters an embedding run's faces and scores them where labels
exist. The figures are in :mod:`facelab.plotting.clusters`, the page in :mod:`facelab.report.cluster_page`;
``facelab cluster`` is the command.

The graph
---------
Every algorithm works on the exact k-nearest-neighbour graph of the faces by cosine
(:func:`facelab.core.vectors.nearest_neighbours`: row blocks against all rows, never an N x N
matrix), so 13,233 LFW faces cluster in seconds and the memory grows with ``N * k``:

=================== ==========================================================================
algorithm           what it does on the graph
=================== ==========================================================================
``chinese_whispers`` dlib's Chinese whispers (``dlib.chinese_whispers``; dlib's
                    ``chinese_whispers_clustering`` does the same on every pair): an unweighted
                    edge between two faces whose cosine reaches the threshold, a self-edge per
                    face, then each face, visited in random order (dlib's fixed seed) 100 times
                    per face, takes the label most of its edges carry
``agglomerative``   average linkage (UPGMA), stopped at the threshold: the two groups with the
                    highest mean cosine over **all** their pairs merge, while it reaches the
                    threshold; only groups joined by an edge of the graph are candidates (the
                    k-NN graph as a sparse connectivity, as in scikit-learn). The mean is exact
                    and cheap -- the mean cosine of two groups of unit vectors is the dot product
                    of their sums over the product of their sizes -- where scikit-learn's
                    ``AgglomerativeClustering(connectivity=...)`` averages over the graph's edges
                    between two groups only, the closest pairs: at the calibrated threshold that
                    merged the two-ID set's two people into one cluster (BCubed F 0.67)
``hdbscan``         scikit-learn's ``HDBSCAN`` on the graph's cosine distances (a sparse
                    precomputed matrix; components joined at the largest distance, 2, so they
                    never merge below the root); no threshold: it finds dense regions itself,
                    and leaves faces in sparse ones unclustered
=================== ==========================================================================

The threshold is the model's calibrated one by default (:attr:`facelab.core.calibration.Calibration.cosine_threshold`:
the cosine at which its calibrated same-person score reaches its threshold). Clusters with fewer
than ``min_size`` faces are dissolved: their faces are **unclustered** (label -1). Clusters are
numbered by decreasing size.

Confidence
----------
Each clustered face gets the model's calibrated same-person score (in (0, 1)) of its cosine to
the centroid of the *other* faces of its cluster: how sure the model is that the face is the
person the rest of the cluster is. The same definition for every algorithm, so the column can be
compared between them; NaN for unclustered faces.

Scores
------
Where identities are known, :func:`facelab.analysis.face_clusters.cluster_result` scores the
clusters with :mod:`facelab.analysis.cluster_scores` (pairwise and BCubed precision / recall / F, NMI).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from facelab.core.calibration import Calibration
from facelab.core.errors import EvaluationError
from facelab.core.vectors import Neighbours, nearest_neighbours, unit_rows

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "DEFAULT_K",
    "Clustering",
    "cluster_faces",
    "knn_graph",
    "chinese_whispers",
    "average_linkage",
    "hdbscan",
    "cluster_confidence",
    "relabel_by_size",
]

#: The algorithms :func:`cluster_faces` offers (``facelab cluster --algorithm``).
ALGORITHMS = ("hdbscan", "chinese_whispers", "agglomerative")
#: The default: the best BCubed F of the three on the teaching set and on all of LFW, with both models
#: (the note's table), as it needs no threshold -- a verification threshold joins people in a large set.
DEFAULT_ALGORITHM = "hdbscan"
#: Neighbours per face in the graph: enough for a face to reach a good part of a large cluster.
DEFAULT_K = 30


@dataclass(frozen=True)
class Clustering:
    """Faces grouped into clusters.

    Attributes
    ----------
    labels : (N,) int array
        Cluster of each face, ``0 .. n_clusters - 1`` by decreasing size; -1: unclustered.
    confidence : (N,) float array
        Calibrated same-person score of each face with the rest of its cluster (see the module
        docstring); NaN when unclustered.
    algorithm : str
    threshold : float or None
        Cosine threshold used (None for HDBSCAN).
    min_size : int
    k : int
        Neighbours per face in the graph.
    params : dict
        Algorithm-specific settings (``linkage``, ``iterations``, ``min_samples``).
    seconds : dict
        ``knn``, ``cluster``, ``confidence``: where the time went.
    """

    labels: np.ndarray
    confidence: np.ndarray
    algorithm: str
    threshold: Optional[float]
    min_size: int
    k: int
    params: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    @property
    def n_faces(self) -> int:
        return int(self.labels.size)

    @property
    def n_clusters(self) -> int:
        """Clusters of at least ``min_size`` faces."""
        return int(self.labels.max() + 1) if self.labels.size else 0

    @property
    def n_unclustered(self) -> int:
        return int((self.labels < 0).sum())

    @property
    def sizes(self) -> np.ndarray:
        """Faces per cluster, cluster 0 first (largest)."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.n_clusters)

    def members(self, cluster: int) -> np.ndarray:
        """Rows of the faces in one cluster (-1: the unclustered ones)."""
        return np.flatnonzero(self.labels == int(cluster))

    def summary(self) -> str:
        how = f"cosine >= {self.threshold:.4f}" if self.threshold is not None else "density (no threshold)"
        sizes = self.sizes
        big = f", largest {sizes[0]}" if sizes.size else ""
        return (f"{self.algorithm} ({how}, k={self.k}, min size {self.min_size}): {self.n_faces} faces -> "
                f"{self.n_clusters} clusters{big}; {self.n_unclustered} faces unclustered")

    def to_dict(self) -> dict:
        from facelab.core.jsonsafe import json_safe

        return json_safe({"algorithm": self.algorithm, "threshold": self.threshold, "min_size": self.min_size,
                          "k": self.k, "params": self.params, "n_faces": self.n_faces,
                          "n_clusters": self.n_clusters, "n_unclustered": self.n_unclustered,
                          "largest_clusters": self.sizes[:10].tolist(), "seconds": self.seconds})


# ------------------------------------------------------------------------------------------
# The graph and the algorithms
# ------------------------------------------------------------------------------------------


def knn_graph(embeddings, *, k: int = DEFAULT_K) -> Neighbours:
    """The exact ``k`` nearest other faces of every face by cosine (in row blocks)."""
    return nearest_neighbours(embeddings, k=k)


def _pairs(nn: Neighbours, min_cosine: Optional[float] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The graph's undirected edges ``(i, j, cosine)`` with ``i < j``, each once, sorted."""
    n, k = nn.index.shape
    i = np.repeat(nn.rows, k)
    j = nn.index.reshape(-1)
    c = nn.cosine.reshape(-1)
    keep = np.isfinite(c) if min_cosine is None else c >= min_cosine
    i, j, c = i[keep], j[keep], c[keep]
    a, b = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((b, a))
    a, b, c = a[order], b[order], c[order]
    first = np.ones(a.size, bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[first], b[first], c[first]


def _sparse(nn: Neighbours, values: str = "distance"):
    """The symmetric k-NN graph as a CSR matrix of cosine distances (floored at 1e-9, so that an
    exact duplicate is still an edge) or of ones."""
    from scipy.sparse import coo_matrix

    n = nn.index.shape[0]
    a, b, c = _pairs(nn)
    v = np.maximum(1.0 - c, 1e-9) if values == "distance" else np.ones(a.size)
    return coo_matrix((np.r_[v, v], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()


def chinese_whispers(nn: Neighbours, threshold: float) -> np.ndarray:
    """Chinese whispers as dlib runs it, on the graph's edges with cosine ``>= threshold``.

    Unweighted edges and a self-edge per face, as ``dlib.chinese_whispers_clustering`` builds them
    from all pairs; ``dlib.chinese_whispers`` then labels them (100 visits per face in random
    order, dlib's fixed seed: the same graph gives the same labels). Returns a label per face (not
    yet ordered or filtered by size).
    """
    import dlib

    n = nn.index.shape[0]
    a, b, _ = _pairs(nn, threshold)
    edges = list(zip(range(n), range(n))) + list(zip(a.tolist(), b.tolist()))
    return np.asarray(dlib.chinese_whispers(edges), dtype=np.int64)


def average_linkage(embeddings, nn: Neighbours, threshold: float) -> np.ndarray:
    """Average-linkage agglomerative clustering (UPGMA) stopped at a cosine threshold, merges
    restricted to groups joined by an edge of the k-NN graph.

    The two candidate groups with the highest mean cosine over all their pairs merge, while that
    mean reaches ``threshold``. For unit vectors the mean over all pairs of groups ``A`` and ``B``
    is ``sum(A) . sum(B) / (|A| |B|)``: exact, from one running sum per group. When the graph
    holds every pair this is SciPy's ``linkage(..., "average")`` cut at ``1 - threshold``
    (tested). Returns a label per face (not yet ordered or filtered by size).
    """
    import heapq

    e = unit_rows(embeddings, dtype=np.float64)
    n = e.shape[0]
    sums, size = e.copy(), np.ones(n)
    parent = np.arange(n)
    version = np.zeros(n, np.int64)
    adj: list = [set() for _ in range(n)]
    a, b, c = _pairs(nn)
    for i, j in zip(a.tolist(), b.tolist()):
        adj[i].add(j)
        adj[j].add(i)
    # (minus the mean cosine, i, j, version of i, version of j): an entry is stale once i or j changed.
    heap = [(-cos, i, j, 0, 0) for i, j, cos in zip(a.tolist(), b.tolist(), c.tolist()) if cos >= threshold]
    heapq.heapify(heap)
    while heap:
        neg, i, j, vi, vj = heapq.heappop(heap)
        if version[i] != vi or version[j] != vj or parent[i] != i or parent[j] != j:
            continue
        # j joins i: i's sum and size grow, j's neighbours become i's.
        sums[i] += sums[j]
        size[i] += size[j]
        parent[j] = i
        for x in adj[j]:
            adj[x].discard(j)
            if x != i:
                adj[x].add(i)
        adj[i] |= adj[j]
        adj[i].discard(i)
        adj[i].discard(j)
        adj[j] = set()
        version[i] += 1
        if adj[i]:
            nb = np.fromiter(adj[i], np.int64, len(adj[i]))
            mean = sums[nb] @ sums[i] / (size[nb] * size[i])
            for x, m in zip(nb[mean >= threshold].tolist(), mean[mean >= threshold].tolist()):
                lo, hi = (i, x) if i < x else (x, i)
                heapq.heappush(heap, (-m, lo, hi, int(version[lo]), int(version[hi])))
    # Every face's group: follow parents to the root.
    root = parent.copy()
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def hdbscan(nn: Neighbours, *, min_size: int, min_samples: Optional[int] = None) -> np.ndarray:
    """scikit-learn's HDBSCAN on the graph's cosine distances; -1 for faces it leaves out.

    The graph's components are chained together by edges at distance 2 (the largest a cosine
    distance can be), as HDBSCAN needs one connected graph: they separate at the root, before
    anything else. ``min_samples`` (default ``min_size``) must not exceed the graph's ``k``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.cluster import HDBSCAN

    n, k = nn.index.shape
    ms = int(min_samples or min_size)
    if ms > k:
        raise EvaluationError(f"HDBSCAN's min_samples ({ms}) cannot exceed the graph's k ({k}); raise k")
    dist = _sparse(nn, "distance")
    n_comp, comp = connected_components(dist, directed=False)
    if n_comp > 1:
        heads = np.array([np.flatnonzero(comp == c)[0] for c in range(n_comp)])
        link = coo_matrix((np.full(2 * (n_comp - 1), 2.0), (np.r_[heads[:-1], heads[1:]], np.r_[heads[1:], heads[:-1]])),
                          shape=(n, n))
        dist = (dist + link).tocsr()
    model = HDBSCAN(min_cluster_size=int(min_size), min_samples=ms, metric="precomputed", copy=False)
    return np.asarray(model.fit_predict(dist), dtype=np.int64)


def relabel_by_size(labels, *, min_size: int = 1) -> np.ndarray:
    """Labels ``0 .. C-1`` by decreasing cluster size (ties: the cluster whose first face comes
    first); clusters under ``min_size`` faces, and label -1, become -1 (unclustered)."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.size, -1, np.int64)
    ok = labels >= 0
    if not ok.any():
        return out
    uniq, first, counts = np.unique(labels[ok], return_index=True, return_counts=True)
    keep = counts >= int(min_size)
    order = np.lexsort((first[keep], -counts[keep]))
    new = np.full(uniq.size, -1, np.int64)
    new[np.flatnonzero(keep)[order]] = np.arange(order.size)
    out[ok] = new[np.searchsorted(uniq, labels[ok])]
    return out


def cluster_confidence(embeddings, labels, calibration: Calibration) -> np.ndarray:
    """Calibrated score of each face's cosine to the centroid of the other faces of its cluster
    (NaN for unclustered faces, and for a face alone in its cluster)."""
    e = unit_rows(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full(labels.size, np.nan)
    ok = labels >= 0
    if not ok.any():
        return out
    sums = np.zeros((int(labels.max()) + 1, e.shape[1]))
    np.add.at(sums, labels[ok], e[ok])
    rest = sums[labels[ok]] - e[ok]
    norm = np.linalg.norm(rest, axis=1)
    cos = np.einsum("ij,ij->i", e[ok], rest) / np.where(norm > 0, norm, np.nan)
    out[ok] = calibration.score_for_cosine(np.clip(cos, -1, 1))
    return out


def cluster_faces(embeddings, *, calibration: Calibration, algorithm: str = DEFAULT_ALGORITHM,
                  threshold: Optional[float] = None, min_size: int = 2, k: int = DEFAULT_K,
                  min_samples: Optional[int] = None,
                  neighbours: Optional[Neighbours] = None) -> Clustering:
    """Group faces into clusters (see the module docstring).

    Parameters
    ----------
    embeddings : (N, D) array
        One row per face (L2-normalised here).
    calibration : Calibration
        The model's: its cosine threshold is the default ``threshold``; the per-face confidence is
        its calibrated score.
    algorithm : {"hdbscan", "chinese_whispers", "agglomerative"}
    threshold : float, optional
        Cosine at or above which two faces may be the same person (default the calibration's);
        HDBSCAN takes none.
    min_size : int
        Smallest cluster kept; smaller ones' faces are unclustered (HDBSCAN: its
        ``min_cluster_size``, at least 2).
    k : int
        Neighbours per face in the graph (at most ``N - 1``).
    min_samples : int, optional
        HDBSCAN only (default ``min_size``, or ``k`` when that is smaller).
    neighbours : Neighbours, optional
        A ready graph (``knn_graph(embeddings, k=...)``), to try several algorithms on one.

    Raises
    ------
    facelab.core.errors.EvaluationError
        Fewer than two faces, an unknown algorithm, a threshold off the cosine scale, a bad size.
    """
    from facelab.core.calibration import check_threshold

    if algorithm not in ALGORITHMS:
        raise EvaluationError(f"unknown clustering algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}")
    e = unit_rows(embeddings, dtype=np.float32, finite=True)
    n = e.shape[0]
    if n < 2:
        raise EvaluationError(f"clustering needs at least 2 faces, got {n}")
    if int(min_size) < 1 or (algorithm == "hdbscan" and int(min_size) < 2):
        raise EvaluationError(f"min_size must be at least {2 if algorithm == 'hdbscan' else 1} for {algorithm}, "
                              f"got {min_size}")
    if algorithm == "hdbscan":
        if threshold is not None:
            raise EvaluationError("HDBSCAN takes no threshold: it finds dense regions itself")
    else:
        threshold = check_threshold(calibration.cosine_threshold if threshold is None else threshold, "cosine")
    seconds = {}
    t0 = time.perf_counter()
    nn = neighbours if neighbours is not None else knn_graph(e, k=min(int(k), n - 1))
    if nn.index.shape[0] != n:
        raise EvaluationError(f"the neighbours given are of {nn.index.shape[0]} faces, not {n}")
    seconds["knn"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    params: dict = {}
    if algorithm == "chinese_whispers":
        raw = chinese_whispers(nn, threshold)
        params["iterations"] = 100
    elif algorithm == "agglomerative":
        raw = average_linkage(e, nn, threshold)
        params["linkage"] = "average"
    else:
        ms = int(min_samples) if min_samples else min(int(min_size), nn.index.shape[1])
        raw = hdbscan(nn, min_size=int(min_size), min_samples=ms)
        params["min_samples"] = ms
    labels = relabel_by_size(raw, min_size=int(min_size))
    seconds["cluster"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    conf = cluster_confidence(e, labels, calibration)
    seconds["confidence"] = time.perf_counter() - t0
    return Clustering(labels=labels, confidence=conf, algorithm=algorithm, threshold=threshold, min_size=int(min_size),
                      k=int(nn.index.shape[1]), params=params, seconds=seconds)
