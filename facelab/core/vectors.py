"""Small vector helpers shared by the metrics modules (verification, identification, projection,
the explorer and the course experiments): checked embedding arrays, unit rows and exact
nearest neighbours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from facelab.core.errors import EvaluationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["as_embeddings", "unit_rows", "block_rows", "Neighbours", "nearest_neighbours"]


def as_embeddings(embeddings, *, dtype=np.float64, finite: bool = True) -> np.ndarray:
    """``embeddings`` as a 2-D ``(N, D)`` array of ``dtype``, checked.

    Raises
    ------
    EvaluationError
        When it is not 2-D, or (``finite=True``) holds NaN or infinite values.
    """
    e = np.asarray(embeddings, dtype=dtype)
    if e.ndim != 2:
        raise EvaluationError(f"embeddings must be a 2-D array (N, D), got shape {e.shape}")
    if finite and not np.isfinite(e).all():
        raise EvaluationError("embeddings contain NaN or infinite values")
    return e


def unit_rows(embeddings, *, dtype=np.float64, finite: bool = False) -> np.ndarray:
    """The rows of ``embeddings`` scaled to unit L2 norm, as ``dtype`` (float64 by default).

    Cosine similarity of unit rows is their dot product, so every score in facelab starts here.

    Raises
    ------
    EvaluationError
        When ``embeddings`` is not 2-D, holds NaN or infinite values (only with ``finite=True``),
        or a row is all zeros (it has no direction).
    """
    e = as_embeddings(embeddings, dtype=dtype, finite=finite)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EvaluationError(f"{int((norms == 0).sum())} embeddings are all zeros")
    return e / norms


def block_rows(n: int, chunk_size: int | None = None) -> int:
    """Rows per block when ``n`` rows are scored against all ``n``: ``chunk_size``, or about
    4 million scores per ``(block, n)`` float32 block."""
    return int(chunk_size or max(1, min(n, 4_000_000 // max(n, 1))))


@dataclass(frozen=True)
class Neighbours:
    """The ``k`` nearest other rows of each query row, by cosine similarity, closest first.

    Attributes
    ----------
    index : (Q, k) int array
    cosine : (Q, k) float array
    rows : (Q,) int array
        The query rows (every row by default).
    """

    index: np.ndarray
    cosine: np.ndarray
    rows: np.ndarray

    def table(self, identities, query: int) -> pd.DataFrame:
        """The neighbours of one query row: ``rank`` (1 = closest), ``row``, ``identity``,
        ``cosine``, ``same`` (same identity as the query)."""
        import pandas as pd

        ids = np.asarray(identities)
        at = np.flatnonzero(self.rows == int(query))
        if at.size == 0:
            raise IndexError(f"row {query} was not a query of these neighbours")
        top, cos = self.index[at[0]], self.cosine[at[0]]
        return pd.DataFrame({"rank": np.arange(1, top.size + 1), "row": top, "identity": ids[top], "cosine": cos,
                             "same": ids[top] == ids[int(query)]})


def nearest_neighbours(embeddings, *, k: int = 5, rows=None, chunk_size: int | None = None) -> Neighbours:
    """Exact ``k`` nearest neighbours (cosine) of ``rows``, each excluding itself, in row blocks.

    Ties are broken by the lower row index, so the result is deterministic. Scores are held one
    block of ``chunk_size`` query rows against all rows at a time (never all pairs at once).

    Parameters
    ----------
    embeddings : (N, D) array
    k : int
        At most ``N - 1``.
    rows : sequence of int, optional
        The query rows (default every row).
    chunk_size : int, optional
        Query rows per block (default: about 4 million scores per block).
    """
    e = unit_rows(embeddings, dtype=np.float32, finite=True)
    n = e.shape[0]
    if n < 2:
        raise EvaluationError(f"need at least 2 embeddings for neighbours, got {n}")
    queries = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    if queries.size and not ((queries >= 0) & (queries < n)).all():
        raise IndexError(f"query rows must lie in 0..{n - 1}")
    k = int(min(k, n - 1))
    step = block_rows(n, chunk_size)
    idx = np.empty((queries.size, k), np.int64)
    cos = np.empty((queries.size, k), np.float64)
    for start in range(0, queries.size, step):
        block = np.arange(start, min(queries.size, start + step))
        q = queries[block]
        s = e[q] @ e.T
        s[np.arange(q.size), q] = -np.inf
        part = np.argpartition(s, n - k, axis=1)[:, n - k:]
        ps = np.take_along_axis(s, part, axis=1)
        order = np.lexsort((part, -ps), axis=1)  # by score, ties by index: deterministic
        idx[block] = np.take_along_axis(part, order, axis=1)
        cos[block] = np.take_along_axis(ps, order, axis=1)
    return Neighbours(idx, np.clip(cos, -1.0, 1.0), queries)
