"""What a threshold does to a set of pairs, small enough to ship to a browser: :func:`summarise_pairs`
-> :class:`PairSummary` (computing only; the explorer in :mod:`facelab.plotting.explorer` draws it).

Scores are never all held at once: every pair is scored in row blocks (``chunk_size`` rows
against all others), and only what a threshold slider needs is kept -- FAR/FRR counts on a fixed
threshold grid (step :data:`GRID_STEP`, exact for thresholds on the grid), each face's hardest
impostor and hardest genuine score (which decide, exactly, whether it is "in a misjudged pair" at
any threshold) and the ``max_pairs`` highest-scoring impostor and lowest-scoring genuine pairs.
Every count, misjudged pair and face is judged at a grid threshold by one rule
(:func:`grid_positions`), so what is drawn never disagrees with what is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError
from facelab.core.vectors import block_rows, unit_rows

__all__ = ["GRID_STEP", "PairSummary", "HardestPartners", "grid_positions", "hardest_partners", "summarise_pairs"]

#: Spacing of the threshold grid (cosine) on which FAR/FRR are counted exactly.
GRID_STEP = 0.001


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

    def grid_threshold(self, threshold: float) -> float:
        """The grid threshold nearest ``threshold``: the one every count of this summary is exact at."""
        return float(self.thresholds[self.index(threshold)])

    def n_misjudged(self, threshold: float) -> int:
        """False accepts + false rejects at :meth:`grid_threshold` (all pairs, not only :attr:`hardest`)."""
        k = self.index(threshold)
        return int(self.n_false_accept[k] + self.n_false_reject[k])

    def misjudged_faces(self, threshold: float) -> np.ndarray:
        """Whether each face is in a pair misjudged at :meth:`grid_threshold` (bool per face)."""
        k = self.index(threshold)
        return (grid_positions(self.max_impostor) >= k) | (grid_positions(self.min_genuine) < k)

    def misjudged_pairs(self, threshold: float, *, limit: int | None = None) -> pd.DataFrame:
        """The rows of :attr:`hardest` misjudged at :meth:`grid_threshold`, hardest first.

        Judged as the counts are (same grid threshold, same rule), so there are never more of them
        than :meth:`n_misjudged`. Hardest first: by how far the score lies on the wrong side
        (``score - t`` for a false accept, ``t - score`` for a false reject), ties in
        :attr:`hardest` order; ``limit`` keeps the first ones. Adds the column ``margin``.
        """
        k = self.index(threshold)
        t = float(self.thresholds[k])
        h = self.hardest
        same = h["same"].to_numpy(bool)
        s = h["score"].to_numpy(np.float64)
        pos = grid_positions(s)
        wrong = np.where(same, pos < k, pos >= k)
        margin = np.where(same, t - s, s - t)
        rows = np.flatnonzero(wrong)
        rows = rows[np.argsort(-margin[rows], kind="stable")]
        if limit is not None:
            rows = rows[: max(int(limit), 0)]
        return h.iloc[rows].assign(margin=margin[rows])

    def best_threshold(self) -> float:
        """The accuracy-best grid threshold inside the score range (ties: the lowest)."""
        lo, hi = self.index(self.score_min), self.index(self.score_max) + 1
        k = lo + int(np.argmax(self.accuracy[lo:hi + 1]))
        return float(self.thresholds[min(k, self.thresholds.size - 1)])


def _unit_rows_and_codes(embeddings, identities) -> tuple[np.ndarray, np.ndarray]:
    """``(unit rows as float32, identity code of each row)``; one label per embedding, or an error."""
    e = unit_rows(embeddings, dtype=np.float32, finite=True)
    ids = np.asarray(identities)
    if ids.shape != (e.shape[0],):
        raise EvaluationError(f"{e.shape[0]} embeddings but {ids.size} identity labels")
    _, codes = np.unique(ids.astype(str), return_inverse=True)
    return e, codes


def _grid() -> np.ndarray:
    return np.round(np.arange(-1.0, 1.0 + GRID_STEP / 2, GRID_STEP), 6)


def grid_positions(values) -> np.ndarray:
    """The grid position of each score: ``value >= thresholds[k]`` exactly when its position is ``>= k``.

    The one rule every count, line and colour of the threshold grid uses (a tolerance of 1e-9
    grid steps keeps scores that sit on a grid point on it). ``-inf`` gives -1 (below every
    threshold), ``inf`` the grid size (above every one).
    """
    v = np.asarray(values, dtype=np.float64)
    g = _grid().size
    out = np.full(v.shape, -1, dtype=np.int64)
    out[v == np.inf] = g
    ok = np.isfinite(v)
    out[ok] = np.clip(np.floor((v[ok] + 1.0) / GRID_STEP + 1e-9), -1, g).astype(np.int64)
    return out


def _at_or_above(values: np.ndarray, g: int) -> np.ndarray:
    """Counts of ``values >= grid[k]`` for every k (bincount of grid positions, reversed cumsum)."""
    pos = grid_positions(values) + 1
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
    e, codes = _unit_rows_and_codes(embeddings, identities)
    n = e.shape[0]
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


@dataclass(frozen=True)
class HardestPartners:
    """Each face's hardest partners among every pair of a set (:func:`hardest_partners`).

    Attributes
    ----------
    genuine, impostor : (N,) int arrays
        The row of each face's lowest-scoring face of the same identity, and of its
        highest-scoring face of another identity (-1: none).
    genuine_score, impostor_score : (N,) float arrays
        Their cosine scores (NaN: none).
    """

    genuine: np.ndarray
    genuine_score: np.ndarray
    impostor: np.ndarray
    impostor_score: np.ndarray


def hardest_partners(embeddings, identities, *, chunk_size: int | None = None) -> HardestPartners:
    """Each face's lowest-scoring genuine partner and highest-scoring impostor, over every pair.

    Rows are scored in blocks against all others (float32 products; the chosen pairs are scored
    again in float64, as :func:`facelab.verification.pairs.pair_scores` does), so memory stays
    ``O(block * N)``: all 13,233 LFW faces in seconds.
    """
    e, codes = _unit_rows_and_codes(embeddings, identities)
    n = e.shape[0]
    gen = np.full(n, -1, np.int64)
    imp = np.full(n, -1, np.int64)
    step = block_rows(n, chunk_size)
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        s = e[rows] @ e.T
        same = codes[rows][:, None] == codes[None, :]
        same[np.arange(rows.size), rows] = False  # a face with itself is no pair
        other = ~(codes[rows][:, None] == codes[None, :])
        g = np.where(same, s, np.inf).argmin(axis=1)
        i = np.where(other, s, -np.inf).argmax(axis=1)
        gen[rows] = np.where(same.any(axis=1), g, -1)
        imp[rows] = np.where(other.any(axis=1), i, -1)
    e64 = unit_rows(embeddings)

    def scores(partner):
        ok = partner >= 0
        out = np.full(n, np.nan)
        out[ok] = np.einsum("ij,ij->i", e64[ok], e64[partner[ok]])
        return np.clip(out, -1.0, 1.0)

    return HardestPartners(gen, scores(gen), imp, scores(imp))
