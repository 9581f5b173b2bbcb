"""ROC, AUC and EER of every pair of a large set in bounded memory, from score histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from facelab.core.errors import EvaluationError
from facelab.core.vectors import unit_rows
from facelab.verification._checks import identity_codes
from facelab.verification.curves import RocResult, eer_from_curve

__all__ = ["StreamingRoc", "streaming_roc", "streaming_roc_distributed"]


@dataclass(frozen=True)
class StreamingRoc:
    """ROC / AUC / EER of every pair of a set, from score histograms (:func:`streaming_roc`).

    Scores are binned on a fixed grid of ``bins`` equal bins over [-1, 1]; the operating points
    are the bin edges (accept ``score >= edge``), so every quantity is exact up to the pairs that
    share a bin with the crossing point: thresholds are good to ``2 / bins`` and rates to the
    fraction of pairs inside one bin.

    Attributes
    ----------
    fpr, tpr, thresholds : ndarray
        Operating points, thresholds decreasing (``thresholds[0]`` is ``inf``, nothing accepted,
        as in :class:`RocResult`); only edges of non-empty bins are kept.
    auc : float
        Trapezoidal area of that curve (pairs in the same bin count as ties, one half).
    eer, eer_threshold : float
        Equal error rate (linear interpolation between the bracketing points, as
        :func:`~facelab.verification.curves.eer`).
    n_genuine, n_impostor : int
    genuine_hist, impostor_hist : ndarray
        Pair counts per bin (int64, length ``bins``; bin ``k`` is ``[edge_k, edge_k+1)``).
    edges : ndarray
        ``bins + 1`` bin edges from -1 to 1.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    eer: float
    eer_threshold: float
    n_genuine: int
    n_impostor: int
    genuine_hist: np.ndarray
    impostor_hist: np.ndarray
    edges: np.ndarray

    @property
    def fnr(self) -> np.ndarray:
        return 1.0 - self.tpr

    @property
    def n_pairs(self) -> int:
        return self.n_genuine + self.n_impostor

    def to_roc(self) -> RocResult:
        """The curve as a :class:`RocResult` (for the ROC/DET displays)."""
        return RocResult(fpr=self.fpr, tpr=self.tpr, thresholds=self.thresholds, auc=self.auc)

    def tar_at_far(self, far: float) -> tuple[float, float]:
        """``(tar, threshold)`` at the lowest edge whose FAR is at most ``far``."""
        k = int(np.flatnonzero(self.fpr <= float(far) + 1e-12)[-1])
        return float(self.tpr[k]), float(self.thresholds[k])


def score_histograms(embeddings, identities, *, bins: int = 65536, chunk_size: Optional[int] = None):
    """Genuine and impostor histograms of the cosine scores of every unordered pair.

    Rows are scored in blocks of ``chunk_size`` against the rows after them (float32 matrix
    products), binned and counted block by block, so memory is ``O(chunk_size * N + bins)``
    whatever the number of pairs (all 13,233 LFW images: 87.5 million pairs).

    Parameters
    ----------
    embeddings : (N, D) array
    identities : sequence of N labels
    bins : int
        Equal bins over [-1, 1].
    chunk_size : int, optional
        Rows per block; default keeps a block near 4 million scores.

    Returns
    -------
    genuine_hist, impostor_hist, edges : ndarrays
    """
    e = unit_rows(embeddings).astype(np.float32)
    _, codes = identity_codes(identities)
    n = e.shape[0]
    if codes.size != n:
        raise EvaluationError(f"{n} embeddings but {codes.size} identity labels")
    bins = int(bins)
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    step = int(chunk_size) if chunk_size else max(1, 4_000_000 // max(n, 1))
    counts = np.zeros(2 * bins, dtype=np.int64)  # [impostor bins | genuine bins]
    for start in range(0, n - 1, step):
        counts += pair_block_counts(e, codes, start, min(n, start + step), bins=bins)
    edges = np.linspace(-1.0, 1.0, bins + 1)
    return counts[bins:], counts[:bins], edges


def pair_block_counts(e: np.ndarray, codes: np.ndarray, start: int, stop: int, *, bins: int) -> np.ndarray:
    """Binned scores of rows ``start..stop`` against every row after each of them.

    ``e`` is the unit-row float32 matrix and ``codes`` the integer identity codes of
    :func:`score_histograms`; returns ``2 * bins`` counts, ``[impostor bins | genuine bins]``.
    One block of :func:`score_histograms` (and one task of
    :func:`facelab.verification.streaming.streaming_roc_distributed`): the same block gives the same counts.
    """
    n = e.shape[0]
    block = e[start:stop] @ e[start:].T  # rows start..stop against columns start..n
    idx = ((block + 1.0) * (bins / 2.0)).astype(np.int64)  # truncation == floor for scores >= -1
    np.clip(idx, 0, bins - 1, out=idx)
    idx += bins * (codes[start:stop, None] == codes[None, start:])
    # Keep the strict upper triangle: column (start + c) after row (start + r).
    upper = np.arange(n - start)[None, :] > np.arange(stop - start)[:, None]
    return np.bincount(idx[upper], minlength=2 * bins)


def streaming_roc(embeddings, identities, *, bins: int = 65536, chunk_size: Optional[int] = None) -> StreamingRoc:
    """ROC, AUC and EER of every pair of a large set in bounded memory.

    :func:`~facelab.verification.pairs.all_pair_scores` + :func:`~facelab.verification.curves.roc`
    hold every score (and sklearn sorts them all); here the scores are accumulated into genuine /
    impostor histograms chunk by chunk (:func:`score_histograms`) and the curve is read off the
    cumulative counts.

    Parameters
    ----------
    embeddings : (N, D) array
    identities : sequence of N labels
    bins : int
        Equal bins over [-1, 1] (2**16: thresholds good to 3e-5).
    chunk_size : int, optional
        Rows per block (see :func:`score_histograms`).

    Returns
    -------
    StreamingRoc
    """
    g, imp, edges = score_histograms(embeddings, identities, bins=bins, chunk_size=chunk_size)
    return roc_from_histograms(g, imp, edges)


def roc_from_histograms(g: np.ndarray, imp: np.ndarray, edges: np.ndarray) -> StreamingRoc:
    """A :class:`StreamingRoc` from genuine / impostor score histograms (:func:`score_histograms`)."""
    n_g, n_i = int(g.sum()), int(imp.sum())
    if n_g == 0 or n_i == 0:
        raise EvaluationError(f"need genuine and impostor pairs (got {n_g} genuine, {n_i} impostor)")
    keep = np.flatnonzero((g + imp) > 0)[::-1]  # non-empty bins, highest first
    tp = np.cumsum(g[keep])
    fp = np.cumsum(imp[keep])
    tpr = np.concatenate([[0.0], tp / n_g])
    fpr = np.concatenate([[0.0], fp / n_i])
    thr = np.concatenate([[np.inf], edges[keep]])
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)  # trapezoids
    # "Accept nothing" at the top edge of the highest bin, then the EER exactly as eer() finds it.
    t_fin = thr.copy()
    t_fin[0] = edges[keep[0] + 1]
    e_rate, e_thr = eer_from_curve(fpr, tpr, t_fin)
    return StreamingRoc(fpr=fpr, tpr=tpr, thresholds=thr, auc=auc, eer=e_rate, eer_threshold=e_thr,
                        n_genuine=n_g, n_impostor=n_i, genuine_hist=g, impostor_hist=imp, edges=edges)


# The same row blocks as Dask tasks (a cluster past one machine).

def _roc_task(e, codes, starts: list, step: int, bins: int) -> np.ndarray:
    counts = np.zeros(2 * bins, dtype=np.int64)
    for s in starts:
        counts += pair_block_counts(e, codes, s, min(e.shape[0], s + step), bins=bins)
    return counts


def streaming_roc_distributed(
    embeddings,
    identities,
    *,
    scheduler=None,
    bins: int = 65536,
    chunk_size: Optional[int] = None,
    blocks_per_task: int = 4,
):
    """:func:`facelab.verification.streaming_roc` with the row blocks as Dask tasks.

    The embeddings are sent to every worker once; each task bins ``blocks_per_task`` row blocks
    of ``chunk_size`` rows against the rows after them (the same blocks as the single-machine
    function, so the histograms are identical) and returns ``2 * bins`` counts; the client sums
    them. A worker holds the embeddings plus one block of scores (``chunk_size * N`` floats).
    ``scheduler``: the cluster, an address (``tcp://host:8786``) or a :class:`distributed.Client`
    (default ``$FACELAB_SCHEDULER``), as everywhere in facelab.

    Returns
    -------
    facelab.verification.StreamingRoc
    """
    from distributed import as_completed

    from facelab.engine.dask import connect


    # The single-machine preparation (unit rows in float32, integer identity codes), so each
    # block is the very same matrix product as in score_histograms.
    e = unit_rows(embeddings).astype(np.float32)
    ids = np.asarray(identities)
    if ids.ndim != 1 or ids.size != e.shape[0]:
        raise EvaluationError(f"{e.shape[0]} embeddings but identities of shape {ids.shape}")
    codes = np.unique(ids, return_inverse=True)[1].ravel()
    n = e.shape[0]
    bins = int(bins)
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    step = int(chunk_size) if chunk_size else max(1, 4_000_000 // max(n, 1))  # score_histograms' default
    starts = list(range(0, n - 1, step))
    groups = [starts[k : k + blocks_per_task] for k in range(0, len(starts), max(1, blocks_per_task))]
    counts = np.zeros(2 * bins, dtype=np.int64)
    with connect(scheduler) as client:
        e_f, c_f = client.scatter([e, codes], broadcast=True, hash=False)  # own keys: released below
        futures = client.map(_roc_task, [e_f] * len(groups), [c_f] * len(groups), groups, step=step, bins=bins,
                             pure=False, retries=3)
        for fut in as_completed(futures, loop=client.loop):
            counts += fut.result()
            fut.release()
        e_f.release()
        c_f.release()
    return roc_from_histograms(counts[bins:], counts[:bins], np.linspace(-1.0, 1.0, bins + 1))
