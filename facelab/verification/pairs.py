"""Pairs of a labelled embedding set and their scores.

* A *score* is a similarity: higher means "more likely the same person". Facelab scores pairs
  with the cosine similarity of their embeddings (:func:`pair_scores`); the squared distance
  ``2 - 2 cos`` is :func:`squared_distances` (conversions: :mod:`facelab.core.calibration`).
* ``same`` is a boolean array: True for genuine (same-person) pairs, False for impostor pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from facelab.core.calibration import cosine_to_distance
from facelab.core.errors import EvaluationError
from facelab.core.vectors import unit_rows
from facelab.verification._checks import identity_codes

__all__ = [
    "PairSet",
    "make_pairs",
    "pair_scores",
    "squared_distances",
    "all_pair_scores",
]


@dataclass(frozen=True)
class PairSet:
    """Index pairs into a labelled set of embeddings.

    Attributes
    ----------
    i, j : ndarray of int
        Row indices of the two sides, ``i < j``.
    same : ndarray of bool
        True for genuine pairs.
    n_impostor_total : int
        How many impostor pairs the set has in all (more than ``(~same).sum()`` when sampled).
    """

    i: np.ndarray
    j: np.ndarray
    same: np.ndarray
    n_impostor_total: int = 0

    def __len__(self) -> int:
        return int(self.i.size)

    @property
    def n_genuine(self) -> int:
        return int(self.same.sum())

    @property
    def n_impostor(self) -> int:
        return int((~self.same).sum())

    def identities(self, identities) -> tuple[np.ndarray, np.ndarray]:
        """The identity labels of both sides (for :func:`~facelab.verification.bootstrap.bootstrap_ci`)."""
        ids = np.asarray(identities)
        return ids[self.i], ids[self.j]


def genuine_pairs(identities) -> tuple[np.ndarray, np.ndarray]:
    """Every same-identity pair ``(i, j)`` with ``i < j``, sorted by ``i`` then ``j``.

    Returns
    -------
    (i, j) : tuple of int arrays
    """
    _, codes = identity_codes(identities)
    ii, jj = [], []
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for members in np.split(order, bounds):
        members = np.sort(members)
        if members.size > 1:
            a, b = np.triu_indices(members.size, k=1)
            ii.append(members[a])
            jj.append(members[b])
    if not ii:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    i, j = np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64)
    order = np.lexsort((j, i))
    return i[order], j[order]


def _n_impostor_total(codes: np.ndarray) -> int:
    counts = np.bincount(codes).astype(np.int64)
    n = int(counts.sum())
    return (n * (n - 1) - int((counts * (counts - 1)).sum())) // 2


def impostor_pairs(identities, *, max_pairs: Optional[int] = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Different-identity pairs ``(i, j)``, ``i < j``: all of them, or a seeded sample.

    Parameters
    ----------
    identities : sequence
        One identity label per row.
    max_pairs : int, optional
        Cap. When the set has more impostor pairs than this, a uniform sample of ``max_pairs``
        distinct pairs (without replacement) is drawn with ``seed``; the full list is never built,
        so the cap also bounds memory on large sets.
    seed : int
        Seed of the sample (same seed, same pairs).

    Returns
    -------
    (i, j) : tuple of int arrays, sorted by ``i`` then ``j``.
    """
    _, codes = identity_codes(identities)
    n = codes.size
    total = _n_impostor_total(codes)
    if max_pairs is not None and max_pairs < 0:
        raise ValueError(f"max_pairs must be >= 0, got {max_pairs}")
    if max_pairs is None or max_pairs >= total or (max_pairs > total // 2 and total <= 50_000_000):
        ii, jj = [], []
        # Row blocks keep the boolean mask small on large sets.
        step = max(1, 4_000_000 // max(n, 1))
        for start in range(0, n, step):
            rows = np.arange(start, min(n, start + step))
            cols = np.arange(n)
            mask = (cols[None, :] > rows[:, None]) & (codes[rows][:, None] != codes[None, :])
            a, b = np.nonzero(mask)
            ii.append(rows[a])
            jj.append(b)
        if not ii:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        i, j = np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64)
        if max_pairs is None or max_pairs >= total:
            return i, j
        # A cap above half of all pairs: rejection sampling would crawl, so sample the full list.
        keep = np.sort(np.random.default_rng(seed).choice(i.size, size=max_pairs, replace=False))
        return i[keep], j[keep]
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    out_i, out_j = [], []
    # Rejection sampling of unordered pairs: uniform over all different-identity pairs.
    while len(out_i) < max_pairs:
        need = max_pairs - len(out_i)
        a = rng.integers(0, n, size=2 * need + 16)
        b = rng.integers(0, n, size=2 * need + 16)
        for x, y in zip(a.tolist(), b.tolist()):
            if x == y or codes[x] == codes[y]:
                continue
            lo, hi = (x, y) if x < y else (y, x)
            key = lo * n + hi
            if key in chosen:
                continue
            chosen.add(key)
            out_i.append(lo)
            out_j.append(hi)
            if len(out_i) == max_pairs:
                break
    i, j = np.asarray(out_i, dtype=np.int64), np.asarray(out_j, dtype=np.int64)
    order = np.lexsort((j, i))
    return i[order], j[order]


def make_pairs(identities, *, max_impostors: Optional[int] = None, seed: int = 0) -> PairSet:
    """All genuine pairs plus all (or a seeded sample of) impostor pairs of a labelled set.

    Genuine pairs come first, then impostor pairs.

    Raises
    ------
    EvaluationError
        With one identity (no impostor pair) or when no identity has two images (no genuine pair).
    """
    uniq, codes = identity_codes(identities)
    if codes.size == 0:
        raise EvaluationError("no images to make pairs from")
    if uniq.size < 2:
        name = uniq[0].item() if isinstance(uniq[0], np.generic) else uniq[0]  # 'a', not np.str_('a')
        raise EvaluationError(
            f"only one identity ({name!r}, {codes.size} image{'s' if codes.size != 1 else ''}): verification "
            "needs at least two identities for impostor pairs"
        )
    gi, gj = genuine_pairs(identities)
    if gi.size == 0:
        raise EvaluationError(
            f"no identity among {uniq.size} has two images: verification needs at least one genuine pair"
        )
    ii, ij = impostor_pairs(identities, max_pairs=max_impostors, seed=seed)
    return PairSet(
        i=np.concatenate([gi, ii]),
        j=np.concatenate([gj, ij]),
        same=np.concatenate([np.ones(gi.size, bool), np.zeros(ii.size, bool)]),
        n_impostor_total=_n_impostor_total(codes),
    )


def pair_scores(embeddings, pairs, *, chunk_size: int = 65536) -> np.ndarray:
    """Cosine similarity of each pair.

    Parameters
    ----------
    embeddings : (N, D) array
        Rows are normalised here, so unnormalised vectors are fine too.
    pairs : PairSet or (i, j)
        Row indices.
    chunk_size : int
        Pairs per step (bounds the temporary ``(chunk, D)`` arrays).
    """
    e = unit_rows(embeddings)
    i, j = (pairs.i, pairs.j) if isinstance(pairs, PairSet) else (np.asarray(pairs[0]), np.asarray(pairs[1]))
    out = np.empty(i.size, dtype=np.float64)
    for start in range(0, i.size, chunk_size):
        sl = slice(start, start + chunk_size)
        out[sl] = np.einsum("ij,ij->i", e[i[sl]], e[j[sl]])
    return np.clip(out, -1.0, 1.0)


def squared_distances(embeddings, pairs, *, chunk_size: int = 65536) -> np.ndarray:
    """Squared L2 distance of each pair of L2-normalised embeddings, ``2 - 2 cos``."""
    return cosine_to_distance(pair_scores(embeddings, pairs, chunk_size=chunk_size))


def all_pair_scores(embeddings, identities, *, chunk_size: int = 1024):
    """Cosine scores of every unordered pair, computed in row blocks of ``chunk_size``.

    Only one ``(chunk_size, N)`` similarity block is held at a time; the output itself has
    ``N (N - 1) / 2`` entries.

    Returns
    -------
    scores, same, i, j : ndarrays
    """
    e = unit_rows(embeddings)
    _, codes = identity_codes(identities)
    if codes.size != e.shape[0]:
        raise EvaluationError(f"{e.shape[0]} embeddings but {codes.size} identity labels")
    n = e.shape[0]
    s_parts, y_parts, i_parts, j_parts = [], [], [], []
    for start in range(0, n, chunk_size):
        rows = np.arange(start, min(n, start + chunk_size))
        block = e[rows] @ e.T
        mask = np.arange(n)[None, :] > rows[:, None]
        a, b = np.nonzero(mask)
        s_parts.append(block[a, b])
        i_parts.append(rows[a])
        j_parts.append(b)
        y_parts.append(codes[rows[a]] == codes[b])
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    return (
        np.clip(cat(s_parts, np.float64), -1, 1),
        cat(y_parts, bool),
        cat(i_parts, np.int64),
        cat(j_parts, np.int64),
    )

