"""1:N search at scale with FAISS: exact inner product by default, HNSW or IVF past a size.

Vectors are L2-normalised here, so inner product is cosine similarity. Below
``approx_threshold`` gallery vectors the index is exact (``IndexFlatIP``: the same ranking as a
NumPy matrix product); from there on it is approximate -- HNSW (``IndexHNSWFlat``, no training) or
IVF-Flat (``IndexIVFFlat``, k-means trained on the gallery) -- and its recall@k against exact
search is measured on the queries (:meth:`SearchIndex.measure_recall`) and reported, never assumed.

Examples
--------
>>> idx = build_index(gallery, approx_threshold=100_000)          # doctest: +SKIP
>>> scores, rows = idx.search(probes, k=5)                         # doctest: +SKIP
>>> idx.measure_recall(probes, k=1)                                # doctest: +SKIP
Recall(k=1, recall=0.998, n_queries=1000, ...)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from facelab.core.vectors import unit_rows

__all__ = ["SearchIndex", "Recall", "build_index", "exact_search", "recall_at_k", "APPROX_THRESHOLD"]

#: Gallery size from which :func:`build_index` builds an approximate index by default. Exact search
#: of a batch of queries is one matrix product, and building an approximate index costs far more
#: than the searches it saves in an evaluation run: at 10^6 128-d vectors on 2 cores, exact search
#: answers 566 queries/s with no build, HNSW (M 32, efConstruction 200, efSearch 128) 1,501/s
#: after a 13.5-minute build (``python benchmarks/search_scale.py --sizes 1e6``). Past 10^7 vectors
#: (5 GB at 128-d) an approximate index is worth its build; choose one sooner with
#: ``approx_threshold`` or ``kind`` when a gallery is searched again and again.
APPROX_THRESHOLD = 10_000_000


def _unit32(x) -> np.ndarray:
    # FAISS wants C-contiguous float32 unit rows.
    return np.ascontiguousarray(unit_rows(x, dtype=np.float32))


@dataclass(frozen=True)
class Recall:
    """Recall@k of an approximate index against exact search on the same queries.

    ``recall`` is the fraction of the exact top-k rows that the approximate top-k also returns
    (for k = 1: the fraction of queries whose best match is the exact best match).
    """

    k: int
    recall: float
    n_queries: int
    approx_qps: float
    exact_qps: float

    def describe(self) -> str:
        return (f"recall@{self.k} {self.recall:.4f} against exact search on {self.n_queries} queries "
                f"({self.approx_qps:,.0f} vs {self.exact_qps:,.0f} queries/s)")


def recall_at_k(approx_rows: np.ndarray, exact_rows: np.ndarray, k: int) -> float:
    """Fraction of the exact top-``k`` rows found in the approximate top-``k`` (per query, averaged)."""
    a, e = np.asarray(approx_rows)[:, :k], np.asarray(exact_rows)[:, :k]
    hits = [len(set(x[x >= 0]) & set(y)) for x, y in zip(a, e)]
    return float(np.sum(hits) / e.size) if e.size else float("nan")


class SearchIndex:
    """A FAISS index over unit gallery vectors (cosine = inner product).

    Attributes
    ----------
    kind : {"exact", "hnsw", "ivf"}
    size, dim : int
    build_seconds : float
        Time to build (train and add) the index.
    recall : Recall or None
        Set by :meth:`measure_recall` (always None for an exact index: its recall is 1).
    """

    def __init__(self, kind: str, dim: int, *, hnsw_m: int = 32, ef_construction: int = 200, ef_search: int = 128,
                 nlist: Optional[int] = None, nprobe: int = 16):
        import faiss

        if kind not in ("exact", "hnsw", "ivf"):
            raise ValueError(f"index kind must be exact, hnsw or ivf, got {kind!r}")
        self.kind, self.dim = kind, int(dim)
        self.nlist, self.nprobe, self.ef_search = nlist, int(nprobe), int(ef_search)
        if kind == "hnsw":
            self.index = faiss.IndexHNSWFlat(self.dim, int(hnsw_m), faiss.METRIC_INNER_PRODUCT)
            self.index.hnsw.efConstruction = int(ef_construction)
            self.index.hnsw.efSearch = self.ef_search
        elif kind == "exact":
            self.index = faiss.IndexFlatIP(self.dim)
        else:
            self.index = None  # IVF: built on the first add (nlist follows the size)
        self.build_seconds = 0.0
        self.recall: Optional[Recall] = None
        self._exact: Optional[np.ndarray] = None  # the gallery, for exact re-checks of recall

    def __repr__(self) -> str:
        extra = {"hnsw": f", efSearch={self.ef_search}", "ivf": f", nlist={self.nlist}, nprobe={self.nprobe}"}.get(self.kind, "")
        return f"SearchIndex({self.kind}, {self.size} x {self.dim}{extra})"

    @property
    def size(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def add(self, vectors) -> SearchIndex:
        """Add gallery vectors (normalised here); rows are numbered in the order added."""
        import faiss

        x = _unit32(vectors)
        if x.shape[1] != self.dim:
            raise ValueError(f"vectors have {x.shape[1]} dimensions, the index {self.dim}")
        t0 = time.perf_counter()
        if self.kind == "ivf":
            if self.index is None:
                # ~4 sqrt(N) lists, at least 39 training points per list (FAISS's own advice).
                self.nlist = self.nlist or max(1, min(int(4 * np.sqrt(len(x))), len(x) // 39))
                quantizer = faiss.IndexFlatIP(self.dim)
                self.index = faiss.IndexIVFFlat(quantizer, self.dim, self.nlist, faiss.METRIC_INNER_PRODUCT)
                self.index.train(x)
                self._quantizer = quantizer  # keep it alive beside the index
            self.index.nprobe = min(self.nprobe, self.nlist)
        self.index.add(x)
        self.build_seconds += time.perf_counter() - t0
        self._exact = x if self._exact is None else np.concatenate([self._exact, x])
        return self

    def search(self, queries, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, rows)``, each ``(n_queries, k)``, best first; rows -1 / scores -inf past the gallery."""
        q = _unit32(queries)
        if self.size == 0:
            raise ValueError("the index is empty: add gallery vectors first")
        k = int(k)
        scores, rows = self.index.search(q, min(k, self.size))
        if k > self.size:
            pad = k - self.size
            scores = np.hstack([scores, np.full((len(q), pad), -np.inf, np.float32)])
            rows = np.hstack([rows, np.full((len(q), pad), -1, np.int64)])
        scores = np.where(rows < 0, -np.inf, scores).astype(np.float32)
        return scores, rows.astype(np.int64)

    def measure_recall(self, queries, *, k: int = 1, sample: int = 1000, seed: int = 0) -> Recall:
        """Recall@k of this index against exact search on (a sample of) ``queries``; kept in :attr:`recall`."""
        q = _unit32(queries)
        if len(q) > sample:
            q = q[np.sort(np.random.default_rng(seed).choice(len(q), sample, replace=False))]
        t0 = time.perf_counter()
        _, approx = self.search(q, k)
        t_a = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, exact = exact_search(self._exact, q, k=k)
        t_e = time.perf_counter() - t0
        r = Recall(k=int(k), recall=recall_at_k(approx, exact, k) if self.kind != "exact" else 1.0, n_queries=len(q),
                   approx_qps=len(q) / max(t_a, 1e-9), exact_qps=len(q) / max(t_e, 1e-9))
        self.recall = r
        return r

    def describe(self) -> str:
        s = f"{self.kind} index ({'IndexFlatIP' if self.kind == 'exact' else type(self.index).__name__}), " \
            f"{self.size:,} vectors, built in {self.build_seconds:.2f} s"
        return s + (f"; {self.recall.describe()}" if self.recall is not None else "")


def build_index(gallery, *, kind: str = "auto", approx_threshold: int = APPROX_THRESHOLD, approx: str = "hnsw",
                **options) -> SearchIndex:
    """A :class:`SearchIndex` over ``gallery``.

    Parameters
    ----------
    gallery : (N, D) array
    kind : {"auto", "exact", "hnsw", "ivf"}
        ``auto``: exact below ``approx_threshold`` vectors, ``approx`` from there.
    approx_threshold : int
    approx : {"hnsw", "ivf"}
    **options
        ``hnsw_m``, ``ef_construction``, ``ef_search`` (HNSW); ``nlist``, ``nprobe`` (IVF).
    """
    g = np.asarray(gallery)
    if kind == "auto":
        kind = approx if len(g) >= int(approx_threshold) else "exact"
    return SearchIndex(kind, g.shape[1], **options).add(g)


def exact_search(gallery, queries, *, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` cosine search (``IndexFlatIP``): ``(scores, rows)``."""
    return SearchIndex("exact", np.asarray(gallery).shape[1]).add(gallery).search(queries, k)
