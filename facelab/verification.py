"""Face verification (1:1) metrics: pairs, ROC/AUC, DET, EER, TAR@FAR, k-fold accuracy, CIs.

Conventions
-----------
* A *score* is a similarity: higher means "more likely the same person". Facelab scores pairs
  with the cosine similarity of their embeddings.
* A pair is called "same person" when ``score >= threshold``.
* ``same`` is a boolean array: True for genuine (same-person) pairs, False for impostor pairs.
* Thresholds are reported on facelab's three scales: cosine similarity (higher = same), squared
  L2 distance of unit vectors ``d = 2 - 2 cos`` (lower = same) and the calibrated score
  ``sigmoid((mean - d) / std)`` of :class:`facelab.calibration.Calibration` (higher = same).

Everything here returns numpy arrays, floats or frozen dataclasses; drawing lives in
:mod:`facelab.plotting.verification`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from facelab.calibration import Calibration, cosine_to_distance
from facelab.errors import EvaluationError

__all__ = [
    "PairSet",
    "genuine_pairs",
    "impostor_pairs",
    "make_pairs",
    "pair_scores",
    "squared_distances",
    "all_pair_scores",
    "LfwScores",
    "lfw_pair_scores",
    "RocResult",
    "DetResult",
    "roc",
    "det",
    "eer",
    "TarAtFar",
    "tar_at_far",
    "candidate_thresholds",
    "accuracy_at",
    "best_accuracy_threshold",
    "youden_j",
    "KFoldResult",
    "kfold_accuracy",
    "Confusion",
    "confusion_at",
    "threshold_sweep",
    "wrong_side_pairs",
    "ThresholdView",
    "threshold_view",
    "StreamingRoc",
    "score_histograms",
    "streaming_roc",
    "pair_block_counts",
    "roc_from_histograms",
    "BootstrapCI",
    "bootstrap_ci",
    "bootstrap_cis",
    "METRICS",
    "VerificationReport",
    "evaluate_verification",
    "DEFAULT_FARS",
    "far_key",
]

DEFAULT_FARS = (1e-1, 1e-2, 1e-3, 1e-4)


# --------------------------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------------------------


def _check_scores(scores, same, *, need_both: bool = True) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same).ravel()
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise EvaluationError("`same` must be boolean (True for same-person pairs)")
        y = y.astype(bool)
    if s.shape != y.shape:
        raise EvaluationError(f"{s.size} scores but {y.size} same/different labels")
    if not np.isfinite(s).all():
        raise EvaluationError(f"{int((~np.isfinite(s)).sum())} scores are NaN or infinite")
    if need_both:
        n_gen, n_imp = int(y.sum()), int((~y).sum())
        if n_gen == 0 and n_imp == 0:
            raise EvaluationError("no pairs to evaluate")
        if n_gen == 0:
            raise EvaluationError(f"no genuine (same-person) pairs among {n_imp} pairs: cannot evaluate")
        if n_imp == 0:
            raise EvaluationError(f"no impostor (different-person) pairs among {n_gen} pairs: cannot evaluate")
    return s, y


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


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
        """The identity labels of both sides (for :func:`bootstrap_ci`)."""
        ids = np.asarray(identities)
        return ids[self.i], ids[self.j]


def _codes(identities) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(identities)
    if ids.ndim != 1:
        raise EvaluationError("identities must be a 1-D sequence of labels")
    uniq, codes = np.unique(ids, return_inverse=True)
    return uniq, codes.ravel()


def genuine_pairs(identities) -> tuple[np.ndarray, np.ndarray]:
    """Every same-identity pair ``(i, j)`` with ``i < j``, sorted by ``i`` then ``j``.

    Returns
    -------
    (i, j) : tuple of int arrays
    """
    _, codes = _codes(identities)
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
    _, codes = _codes(identities)
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
    uniq, codes = _codes(identities)
    if codes.size == 0:
        raise EvaluationError("no images to make pairs from")
    if uniq.size < 2:
        raise EvaluationError(
            f"only one identity ({uniq[0]!r}, {codes.size} images): verification needs at least two "
            "identities for impostor pairs"
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


def _unit_rows(embeddings) -> np.ndarray:
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2:
        raise EvaluationError(f"embeddings must be a 2-D array (N, D), got shape {e.shape}")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EvaluationError(f"{int((norms == 0).sum())} embeddings are all zeros")
    return e / norms


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
    e = _unit_rows(embeddings)
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
    e = _unit_rows(embeddings)
    _, codes = _codes(identities)
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


# --------------------------------------------------------------------------------------------
# LFW protocol
# --------------------------------------------------------------------------------------------

#: Score given to a pair with a missing embedding under the "worst" policy: the lowest cosine,
#: so the pair is always decided "different person" (a false reject when it is genuine).
WORST_SCORE = -1.0


@dataclass(frozen=True)
class LfwScores:
    """Scores of an LFW pairs protocol.

    Attributes
    ----------
    scores, same, folds : ndarrays
        One entry per pair kept.
    name1, name2 : ndarrays of str
        Identities of both sides (for identity-level bootstrap).
    missing : pandas.DataFrame
        Pairs with at least one image without an embedding: ``pair`` (row in the pairs table),
        ``image_id1``, ``image_id2``, ``same``, ``missing`` (the ids lacking an embedding).
    missing_images : list of str
        Distinct image ids without an embedding.
    policy : str
        ``"worst"`` (scored :data:`WORST_SCORE`, i.e. decided "different person") or ``"drop"``.
    n_pairs : int
        Pairs in the protocol before any were dropped.
    """

    scores: np.ndarray
    same: np.ndarray
    folds: np.ndarray
    name1: np.ndarray
    name2: np.ndarray
    missing: pd.DataFrame
    missing_images: list
    policy: str
    n_pairs: int

    def summary(self) -> dict:
        """JSON-ready account of the pairs without embeddings and what was done with them."""
        action = {
            "worst": f"scored {WORST_SCORE} (decided 'different person'; a genuine pair counts as a false reject)",
            "drop": "dropped from the evaluation",
        }[self.policy]
        return {
            "count": len(self.missing_images),
            "images": list(self.missing_images),
            "pairs_affected": int(len(self.missing)),
            "genuine_pairs_affected": int(self.missing["same"].sum()) if len(self.missing) else 0,
            "policy": self.policy,
            "action": action,
            "pairs_total": int(self.n_pairs),
            "pairs_evaluated": int(self.scores.size),
        }


def lfw_pair_scores(pairs: pd.DataFrame, embeddings, id_to_row: Mapping[str, int], *, missing: str = "worst") -> LfwScores:
    """Cosine scores of an LFW pairs table.

    Parameters
    ----------
    pairs : pandas.DataFrame
        From :meth:`facelab.datasets.LFW.pairs`: columns ``fold``, ``same``, ``image_id1``,
        ``image_id2`` (``name1``/``name2`` used for identities when present).
    embeddings : (N, D) array
    id_to_row : mapping
        image_id -> row of ``embeddings``. Images without a row have no embedding (no face found,
        unreadable file...).
    missing : {"worst", "drop"}
        What to do with pairs whose image has no embedding. ``"worst"`` (default) keeps them with
        score :data:`WORST_SCORE`, so they are always decided "different person", as LFW's
        "unrestricted" results count failures to detect; ``"drop"`` leaves them out. Either way
        they are listed in :attr:`LfwScores.missing`.
    """
    if missing not in ("worst", "drop"):
        raise ValueError(f"missing must be 'worst' or 'drop', got {missing!r}")
    need = {"fold", "same", "image_id1", "image_id2"}
    if not need <= set(pairs.columns):
        raise EvaluationError(f"pairs table lacks columns {sorted(need - set(pairs.columns))}")
    e = _unit_rows(embeddings) if len(id_to_row) else np.zeros((0, 1))
    r1 = np.array([id_to_row.get(k, -1) for k in pairs["image_id1"]], dtype=np.int64)
    r2 = np.array([id_to_row.get(k, -1) for k in pairs["image_id2"]], dtype=np.int64)
    ok = (r1 >= 0) & (r2 >= 0)
    scores = np.full(len(pairs), WORST_SCORE, dtype=np.float64)
    if ok.any():
        scores[ok] = pair_scores(e, (r1[ok], r2[ok]))
    same = pairs["same"].to_numpy(bool)
    folds = pairs["fold"].to_numpy(np.int64)
    name1 = pairs["name1"].to_numpy(str) if "name1" in pairs else pairs["image_id1"].str.rsplit("_", n=1).str[0].to_numpy(str)
    name2 = pairs["name2"].to_numpy(str) if "name2" in pairs else pairs["image_id2"].str.rsplit("_", n=1).str[0].to_numpy(str)
    bad = np.flatnonzero(~ok)
    miss_rows = []
    miss_images: dict[str, None] = {}
    for k in bad:
        ids = [x for x, r in ((pairs["image_id1"].iat[k], r1[k]), (pairs["image_id2"].iat[k], r2[k])) if r < 0]
        for x in ids:
            miss_images.setdefault(x, None)
        miss_rows.append((int(k), pairs["image_id1"].iat[k], pairs["image_id2"].iat[k], bool(same[k]), ids))
    miss = pd.DataFrame(miss_rows, columns=["pair", "image_id1", "image_id2", "same", "missing"])
    keep = ok if missing == "drop" else np.ones(len(pairs), bool)
    return LfwScores(
        scores=scores[keep],
        same=same[keep],
        folds=folds[keep],
        name1=name1[keep],
        name2=name2[keep],
        missing=miss,
        missing_images=sorted(miss_images),
        policy=missing,
        n_pairs=len(pairs),
    )


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RocResult:
    """ROC curve: ``fpr[k]``, ``tpr[k]`` when accepting ``score >= thresholds[k]``.

    ``thresholds`` decrease; ``thresholds[0]`` is ``inf`` (nothing accepted), as in
    :func:`sklearn.metrics.roc_curve`.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float

    @property
    def fnr(self) -> np.ndarray:
        return 1.0 - self.tpr


@dataclass(frozen=True)
class DetResult:
    """DET curve: false accept rate ``fpr`` against false reject rate ``fnr`` per threshold."""

    fpr: np.ndarray
    fnr: np.ndarray
    thresholds: np.ndarray


def roc(scores, same, *, drop_intermediate: bool = False) -> RocResult:
    """ROC curve and its area (:func:`sklearn.metrics.roc_curve`, :func:`roc_auc_score`).

    The AUC is the probability that a random genuine pair scores above a random impostor pair,
    ties counting one half.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    s, y = _check_scores(scores, same)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=drop_intermediate)
    return RocResult(fpr=fpr, tpr=tpr, thresholds=thr, auc=float(roc_auc_score(y, s)))


def det(scores, same) -> DetResult:
    """DET curve (:func:`sklearn.metrics.det_curve`)."""
    from sklearn.metrics import det_curve

    s, y = _check_scores(scores, same)
    fpr, fnr, thr = det_curve(y, s)
    return DetResult(fpr=fpr, fnr=fnr, thresholds=thr)


def _roc_points(s: np.ndarray, y: np.ndarray):
    """Every operating point, thresholds decreasing, the first "accept nothing" at a finite value."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    thr = thr.astype(np.float64).copy()
    if not np.isfinite(thr[0]):
        thr[0] = np.nextafter(s.max(), np.inf)
    return fpr, tpr, thr


def eer(scores, same) -> tuple[float, float]:
    """Equal error rate and its threshold.

    False accept rate ``FAR(t)`` (impostors with ``score >= t``) rises and false reject rate
    ``FRR(t)`` falls as the threshold is lowered through the distinct scores. The EER is where the
    two cross. Between the two adjacent operating points where ``FAR - FRR`` changes sign, both
    rates and the threshold are interpolated linearly (the crossing of the two piecewise-linear
    curves), so the EER is exact when an operating point has ``FAR == FRR`` and otherwise lies
    between the two bracketing points. The "accept nothing" point uses the next float above the
    highest score as its threshold.

    Returns
    -------
    (eer, threshold) : floats (threshold on the score scale)
    """
    s, y = _check_scores(scores, same)
    fpr, tpr, thr = _roc_points(s, y)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # -1 at "accept nothing", +1 at "accept all"
    k = int(np.argmax(diff >= 0))
    if k == 0 or diff[k] == 0:
        return float(fpr[k]), float(thr[k])
    t = diff[k - 1] / (diff[k - 1] - diff[k])
    rate = fpr[k - 1] + t * (fpr[k] - fpr[k - 1])
    return float(rate), float(thr[k - 1] + t * (thr[k] - thr[k - 1]))


def far_key(far: float) -> str:
    """``0.001 -> "1e-3"``: the JSON key of a FAR point."""
    m, e = f"{far:.0e}".split("e")
    return f"{m}e{int(e)}"


@dataclass(frozen=True)
class TarAtFar:
    """True accept rate at a target false accept rate.

    Attributes
    ----------
    far : float
        Target FAR.
    tar : float
        Fraction of genuine pairs accepted at ``threshold``; NaN when not estimable.
    threshold : float
        Lowest threshold (on the score scale, accept ``score >= threshold``) whose FAR is at most
        the target; NaN when not estimable.
    far_actual : float
        The FAR at that threshold (ties among impostor scores can keep it below the target).
    n_impostors : int
    reason : str
        Why the value is NaN ("" otherwise).
    """

    far: float
    tar: float
    threshold: float
    far_actual: float
    n_impostors: int
    reason: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def tar_at_far(scores, same, fars: Sequence[float] = DEFAULT_FARS) -> list[TarAtFar]:
    """TAR at each target FAR.

    The threshold is the lowest distinct score ``t`` with ``FAR(t) <= far`` (accept
    ``score >= t``); tied scores are accepted or rejected together, so the reached FAR can be
    below the target. A FAR of ``f`` can only be measured with at least ``ceil(1 / f)`` impostor
    pairs (fewer give a FAR resolution coarser than ``f``); below that the TAR is NaN and
    ``reason`` says so.
    """
    s, y = _check_scores(scores, same)
    n_imp = int((~y).sum())
    fpr, tpr, thr = _roc_points(s, y)
    out = []
    for far in fars:
        far = float(far)
        need = math.ceil(1.0 / far - 1e-9)
        if n_imp < need:
            out.append(TarAtFar(far, math.nan, math.nan, math.nan, n_imp,
                                f"only {n_imp} impostor pairs; FAR={far:g} needs at least {need}"))
            continue
        k = int(np.flatnonzero(fpr <= far + 1e-12)[-1])
        out.append(TarAtFar(far, float(tpr[k]), float(thr[k]), float(fpr[k]), n_imp))
    return out


# --------------------------------------------------------------------------------------------
# Single thresholds
# --------------------------------------------------------------------------------------------


def candidate_thresholds(scores) -> np.ndarray:
    """Thresholds that separate the distinct scores: midpoints between adjacent distinct scores,
    plus one below the lowest ("accept all") and one above the highest ("accept nothing").

    Tied scores are never split, and a threshold never sits on a score.
    """
    u = np.unique(np.asarray(scores, dtype=np.float64))
    if u.size == 0:
        return u
    gap = float(np.min(np.diff(u))) / 2 if u.size > 1 else 0.5
    return np.concatenate([[u[0] - gap], (u[:-1] + u[1:]) / 2, [u[-1] + gap]])


def _accuracy_curve(s: np.ndarray, y: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    # Counts of genuine / impostor scores >= each threshold, by sorting: O((N + T) log N).
    g = np.sort(s[y])
    im = np.sort(s[~y])
    tp = g.size - np.searchsorted(g, thresholds, side="left")
    fp = im.size - np.searchsorted(im, thresholds, side="left")
    tn = im.size - fp
    return (tp + tn) / s.size


def accuracy_at(scores, same, threshold: float) -> float:
    """Fraction of pairs decided right with ``same person iff score >= threshold``."""
    s, y = _check_scores(scores, same, need_both=False)
    return float(np.mean((s >= threshold) == y)) if s.size else math.nan


def best_accuracy_threshold(scores, same) -> tuple[float, float]:
    """Threshold of highest accuracy, and that accuracy.

    Candidates are the midpoints between adjacent distinct scores (plus one below the lowest and
    one above the highest score): tied scores are never split. When several candidates reach the
    best accuracy, the middle one of them (by rank, the lower middle for an even count) is chosen,
    so the threshold does not hug one end of a plateau.

    Returns
    -------
    (threshold, accuracy)
    """
    s, y = _check_scores(scores, same, need_both=False)
    if s.size == 0:
        raise EvaluationError("no pairs to choose a threshold on")
    cand = candidate_thresholds(s)
    acc = _accuracy_curve(s, y, cand)
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    k = best[(best.size - 1) // 2]
    return float(cand[k]), float(acc[k])


def youden_j(scores, same) -> tuple[float, float]:
    """Youden's J = max over thresholds of ``TPR - FPR``, and the threshold reaching it.

    The threshold is an operating point of the ROC curve (accept ``score >= threshold``); the first
    (highest) one reaching the maximum.
    """
    s, y = _check_scores(scores, same)
    fpr, tpr, thr = _roc_points(s, y)
    k = int(np.argmax(tpr - fpr))
    return float(tpr[k] - fpr[k]), float(thr[k])


@dataclass(frozen=True)
class KFoldResult:
    """LFW-protocol accuracy: threshold chosen on the other folds, tested on each fold.

    Attributes
    ----------
    accuracies, thresholds : ndarrays
        One per fold, in ``folds`` order.
    folds : ndarray
        Fold labels.
    mean : float
    std : float
        Standard deviation of the fold accuracies (``ddof=0``, as commonly reported for LFW).
    """

    accuracies: np.ndarray
    thresholds: np.ndarray
    folds: np.ndarray
    mean: float
    std: float

    @property
    def sem(self) -> float:
        """Standard error of the mean (``std(ddof=1) / sqrt(k)``), LFW's "mean +/- SE"."""
        k = self.accuracies.size
        return float(np.std(self.accuracies, ddof=1) / math.sqrt(k)) if k > 1 else math.nan


def kfold_accuracy(scores, same, folds) -> KFoldResult:
    """The LFW protocol: for each fold, the best-accuracy threshold on the other folds
    (:func:`best_accuracy_threshold`) is applied to the held-out fold.

    Raises
    ------
    EvaluationError
        With fewer than two folds.
    """
    s, y = _check_scores(scores, same, need_both=False)
    f = np.asarray(folds).ravel()
    if f.shape != s.shape:
        raise EvaluationError(f"{s.size} scores but {f.size} fold labels")
    labels = np.unique(f)
    if labels.size < 2:
        raise EvaluationError("k-fold accuracy needs at least two folds")
    accs, thrs = [], []
    for lab in labels:
        test = f == lab
        t, _ = best_accuracy_threshold(s[~test], y[~test])
        thrs.append(t)
        accs.append(float(np.mean((s[test] >= t) == y[test])))
    a = np.asarray(accs)
    return KFoldResult(accuracies=a, thresholds=np.asarray(thrs), folds=labels, mean=float(a.mean()), std=float(a.std()))


@dataclass(frozen=True)
class Confusion:
    """Decisions at one threshold (accept ``score >= threshold``).

    ``far = fp / impostors``, ``frr = fn / genuines``, ``precision = tp / (tp + fp)`` (NaN with no
    accept), ``recall = tp / genuines`` (= 1 - frr), ``accuracy = (tp + tn) / pairs``.
    """

    tp: int
    fp: int
    tn: int
    fn: int
    far: float
    frr: float
    precision: float
    recall: float
    accuracy: float
    threshold: float = math.nan

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _div(a, b) -> float:
    return float(a) / float(b) if b else math.nan


def confusion_at(scores, same, threshold: float) -> Confusion:
    """Confusion counts and rates at ``threshold`` (see :class:`Confusion`)."""
    s, y = _check_scores(scores, same, need_both=False)
    acc = s >= threshold
    tp = int((acc & y).sum())
    fp = int((acc & ~y).sum())
    tn = int((~acc & ~y).sum())
    fn = int((~acc & y).sum())
    return Confusion(tp, fp, tn, fn, _div(fp, fp + tn), _div(fn, fn + tp), _div(tp, tp + fp), _div(tp, tp + fn),
                     _div(tp + tn, s.size), float(threshold))


def threshold_sweep(scores, same, thresholds=None) -> pd.DataFrame:
    """FAR, FRR, precision, recall and accuracy over a grid of thresholds.

    Parameters
    ----------
    thresholds : array-like, optional
        Default: :func:`candidate_thresholds` of the scores.

    Returns
    -------
    pandas.DataFrame
        Columns ``threshold``, ``far``, ``frr``, ``precision``, ``recall``, ``accuracy``.
    """
    s, y = _check_scores(scores, same)
    t = candidate_thresholds(s) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    g = np.sort(s[y])
    im = np.sort(s[~y])
    tp = g.size - np.searchsorted(g, t, side="left")
    fp = im.size - np.searchsorted(im, t, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
    return pd.DataFrame({
        "threshold": t,
        "far": fp / im.size,
        "frr": 1 - tp / g.size,
        "precision": precision,
        "recall": tp / g.size,
        "accuracy": (tp + im.size - fp) / s.size,
    })


def wrong_side_pairs(scores, same, threshold: float, *, labels=None) -> pd.DataFrame:
    """Pairs decided wrongly at ``threshold``, hardest first.

    Returns
    -------
    pandas.DataFrame
        Columns ``pair`` (index into the inputs), ``score``, ``same``, ``kind`` ("false accept":
        different people with ``score >= threshold``; "false reject": same person below it),
        ``margin`` (how far on the wrong side) and ``label`` (from ``labels``, e.g. "a.jpg vs b.jpg").
    """
    s, y = _check_scores(scores, same, need_both=False)
    fa = ~y & (s >= threshold)
    fr = y & (s < threshold)
    idx = np.flatnonzero(fa | fr)
    lab = np.asarray(labels, dtype=object)[idx] if labels is not None else np.full(idx.size, "", dtype=object)
    df = pd.DataFrame({"pair": idx, "score": s[idx], "same": y[idx],
                       "kind": np.where(fa[idx], "false accept", "false reject"),
                       "margin": np.abs(s[idx] - threshold), "label": lab})
    return df.sort_values(["margin", "pair"], ascending=[False, True], ignore_index=True)


@dataclass(frozen=True)
class ThresholdView:
    """What one threshold does: the decisions, the threshold on the three scales, and the pairs on
    the wrong side. Used by the notebook's threshold slider; ``text()`` is its printout."""

    threshold: float
    confusion: Confusion
    scales: dict
    wrong: pd.DataFrame

    def text(self, max_rows: int = 8) -> str:
        c, sc = self.confusion, self.scales
        lines = [
            f"threshold: cosine {sc['cosine']:.4f} | squared distance {sc['distance']:.4f}"
            + (f" | calibrated score {sc['score']:.4f}" if sc.get("score") is not None else ""),
            f"FAR {c.far:.4f}  FRR {c.frr:.4f}  precision {c.precision:.4f}  recall {c.recall:.4f}  "
            f"accuracy {c.accuracy:.4f}",
            f"accepted {c.tp + c.fp} pairs ({c.fp} impostors), rejected {c.tn + c.fn} ({c.fn} genuine)",
            f"pairs on the wrong side: {len(self.wrong)}"
            + (f" (hardest {min(max_rows, len(self.wrong))} below)" if len(self.wrong) else ""),
        ]
        for r in self.wrong.head(max_rows).itertuples():
            lines.append(f"  {r.kind:<12} score {r.score:.4f}  {r.label}")
        return "\n".join(lines)


def threshold_view(scores, same, threshold: float, *, labels=None, calibration: Optional[Calibration] = None) -> ThresholdView:
    """:class:`ThresholdView` of a cosine ``threshold``."""
    d = float(cosine_to_distance(threshold))
    scales = {"cosine": float(threshold), "distance": d,
              "score": float(calibration.score(d)) if calibration is not None else None}
    return ThresholdView(float(threshold), confusion_at(scores, same, threshold), scales,
                         wrong_side_pairs(scores, same, threshold, labels=labels))


# --------------------------------------------------------------------------------------------
# Bootstrap over identities
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapCI:
    """A percentile bootstrap interval; unpacks as ``low, high, estimate``.

    Attributes
    ----------
    low, high : float
        Percentile interval of the resampled metric (NaN if no replicate was valid).
    estimate : float
        The metric on the full data.
    level : float
    n_boot : int
    n_valid : int
        Replicates where the metric could be computed (a resample can lack genuine or impostor
        pairs, or give NaN).
    """

    low: float
    high: float
    estimate: float
    level: float = 0.95
    n_boot: int = 0
    n_valid: int = 0

    def __iter__(self):
        return iter((self.low, self.high, self.estimate))

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _metric_eer(s, y):
    return eer(s, y)[0]


def _metric_eer_threshold(s, y):
    return eer(s, y)[1]


def _metric_best_threshold(s, y):
    return best_accuracy_threshold(s, y)[0]


def _metric_best_accuracy(s, y):
    return best_accuracy_threshold(s, y)[1]


def _metric_auc(s, y):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def _tar_metric(far: float) -> Callable:
    def metric(s, y):
        return tar_at_far(s, y, (far,))[0].tar

    metric.__name__ = f"tar@{far_key(far)}"
    return metric


#: Named metrics for :func:`bootstrap_ci` (``"tar@1e-3"`` and the like are built on demand).
METRICS: dict[str, Callable] = {
    "eer": _metric_eer,
    "eer_threshold": _metric_eer_threshold,
    "best_threshold": _metric_best_threshold,
    "accuracy": _metric_best_accuracy,
    "auc": _metric_auc,
}


def _resolve_metric(metric) -> Callable:
    if callable(metric):
        return metric
    if isinstance(metric, str):
        if metric in METRICS:
            return METRICS[metric]
        if metric.startswith("tar@"):
            return _tar_metric(float(metric[4:]))
    raise ValueError(f"unknown metric {metric!r}: use a callable(scores, same), one of {sorted(METRICS)} or 'tar@<far>'")


def identity_resample(id1, id2, rng) -> np.ndarray:
    """Pair indices of one identity-level bootstrap replicate.

    Identities are drawn with replacement (as many draws as there are identities). A pair is kept
    when both its identities were drawn, repeated once per way of picking them: ``c[a]`` times for
    a genuine pair of identity ``a`` drawn ``c[a]`` times, ``c[a] * c[b]`` times for an impostor pair
    of identities ``a`` and ``b``. All pairs of an identity thus come in or go out together, which
    keeps the dependence between pairs that share a person.
    """
    a = np.asarray(id1)
    b = np.asarray(id2)
    uniq, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    ca, cb = inv[: a.size], inv[a.size:]
    draws = rng.integers(0, uniq.size, size=uniq.size)
    c = np.bincount(draws, minlength=uniq.size)
    w = np.where(ca == cb, c[ca], c[ca] * c[cb])
    return np.repeat(np.arange(a.size), w)


def bootstrap_cis(scores, same, id1, id2, *, metrics: Mapping[str, object], n_boot: int = 1000, seed: int = 0,
                  level: float = 0.95) -> dict[str, BootstrapCI]:
    """Identity-level bootstrap intervals of several metrics from the same replicates.

    See :func:`bootstrap_ci`.
    """
    s, y = _check_scores(scores, same, need_both=False)
    id1 = np.asarray(id1)
    id2 = np.asarray(id2)
    if id1.shape != s.shape or id2.shape != s.shape:
        raise EvaluationError(f"{s.size} scores but {id1.size} / {id2.size} identity labels")
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level}")
    fns = {name: _resolve_metric(m) for name, m in metrics.items()}
    est = {}
    for name, fn in fns.items():
        try:
            est[name] = float(fn(s, y))
        except EvaluationError:
            est[name] = math.nan
    rng = np.random.default_rng(seed)
    vals = {name: [] for name in fns}
    for _ in range(n_boot):
        idx = identity_resample(id1, id2, rng)
        ys = y[idx]
        if idx.size == 0 or ys.all() or not ys.any():
            continue
        ss = s[idx]
        for name, fn in fns.items():
            try:
                v = float(fn(ss, ys))
            except EvaluationError:
                continue
            if math.isfinite(v):
                vals[name].append(v)
    alpha = (1 - level) / 2
    out = {}
    for name in fns:
        v = np.asarray(vals[name])
        lo, hi = (np.quantile(v, [alpha, 1 - alpha]) if v.size else (math.nan, math.nan))
        out[name] = BootstrapCI(float(lo), float(hi), est[name], level, n_boot, int(v.size))
    return out


def bootstrap_ci(scores, same, id1, id2, *, metric, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> BootstrapCI:
    """Percentile bootstrap interval of a metric, resampling identities rather than pairs.

    Pairs sharing a person are not independent, so resampling pairs understates the spread.
    Each replicate draws identities with replacement and keeps the pairs whose two identities
    were both drawn, with multiplicity (see :func:`identity_resample`); the metric is recomputed
    on them. Replicates lacking genuine or impostor pairs, or giving NaN, are skipped
    (``n_valid`` counts the rest).

    Parameters
    ----------
    scores, same : array-like
    id1, id2 : array-like
        Identity of each side of each pair.
    metric : callable or str
        ``metric(scores, same) -> float``, or ``"eer"``, ``"eer_threshold"``, ``"best_threshold"``,
        ``"accuracy"``, ``"auc"``, ``"tar@1e-3"`` (any FAR).
    n_boot, seed, level :
        Replicates, seed (same seed, same interval) and coverage.

    Returns
    -------
    BootstrapCI
        Unpacks as ``(low, high, estimate)``.
    """
    return bootstrap_cis(scores, same, id1, id2, metrics={"m": metric}, n_boot=n_boot, seed=seed, level=level)["m"]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _f(x) -> Optional[float]:
    return None if x is None or not math.isfinite(float(x)) else float(x)


@dataclass(frozen=True)
class VerificationReport:
    """Everything :func:`evaluate_verification` measured. See :meth:`to_dict`."""

    n_pairs: int
    n_genuine: int
    n_impostor: int
    auc: float
    eer: float
    eer_threshold: float
    threshold: float
    accuracy: float
    accuracy_std: Optional[float]
    kfold: Optional[KFoldResult]
    tar_at_far: tuple
    youden: float
    youden_threshold: float
    calibration: Optional[Calibration]
    cis: dict = field(default_factory=dict)
    scores: Optional[np.ndarray] = field(default=None, repr=False)
    same: Optional[np.ndarray] = field(default=None, repr=False)

    def scales(self, cosine: float) -> dict:
        """A cosine threshold on the three scales: cosine, squared distance, calibrated score."""
        if cosine is None or not math.isfinite(cosine):
            return {"cosine": None, "distance": None, "score": None}
        d = float(cosine_to_distance(cosine))
        return {"cosine": float(cosine), "distance": d,
                "score": float(self.calibration.score(d)) if self.calibration is not None else None}

    def to_dict(self) -> dict:
        """JSON-ready summary (NaN becomes ``None``)."""
        out = {
            "pairs": self.n_pairs,
            "genuine_pairs": self.n_genuine,
            "impostor_pairs": self.n_impostor,
            "auc": _f(self.auc),
            "eer": _f(self.eer),
            "eer_threshold": _f(self.eer_threshold),
            "threshold": _f(self.threshold),
            "accuracy": _f(self.accuracy),
            "accuracy_std": _f(self.accuracy_std),
            "accuracy_protocol": (f"{self.kfold.accuracies.size}-fold: threshold chosen on the other folds"
                                  if self.kfold is not None else "best threshold on all pairs (optimistic)"),
            "tar_at_far": {far_key(t.far): t.to_dict() for t in self.tar_at_far},
            "youden": {"j": _f(self.youden), "threshold": _f(self.youden_threshold)},
            "thresholds": {
                "eer": self.scales(self.eer_threshold),
                "best_accuracy": self.scales(self.threshold),
                **{f"far_{far_key(t.far)}": self.scales(t.threshold) for t in self.tar_at_far},
            },
            "calibration": self.calibration.to_dict() if self.calibration is not None else None,
            "ci": {k: v.to_dict() for k, v in self.cis.items()},
        }
        if self.kfold is not None:
            out["folds"] = {"accuracies": [float(a) for a in self.kfold.accuracies],
                            "thresholds": [float(t) for t in self.kfold.thresholds]}
        return out

    def threshold_table(self) -> pd.DataFrame:
        """One row per operating point (EER, best accuracy, each FAR target).

        Columns: ``cosine``, ``distance``, ``score`` (the threshold on the three scales), ``FAR``,
        ``FRR``, ``accuracy`` measured on all pairs at that threshold, ``CI`` (the bootstrap
        interval as a ``(low, high)`` tuple, None if not computed), ``CI of`` (which quantity the
        interval is about: the EER, the best threshold on the cosine scale, or the TAR) and the
        interval's ends as numbers, ``CI low`` and ``CI high``.
        """
        rows, index = [], []

        def add(name, cos, ci_key, ci_of):
            sc = self.scales(cos)
            if self.scores is not None and cos is not None and math.isfinite(cos):
                c = confusion_at(self.scores, self.same, cos)
                far, frr, acc = c.far, c.frr, c.accuracy
            else:
                far = frr = acc = math.nan
            ci = self.cis.get(ci_key)
            has = ci is not None and math.isfinite(ci.low)
            rows.append({**{k: (math.nan if v is None else v) for k, v in sc.items()}, "FAR": far, "FRR": frr,
                         "accuracy": acc, "CI": (ci.low, ci.high) if has else None,
                         "CI of": ci_of if has else "", "CI low": ci.low if has else math.nan,
                         "CI high": ci.high if has else math.nan})
            index.append(name)

        add("EER", self.eer_threshold, "eer", "EER")
        add("best accuracy", self.threshold, "best_threshold", "threshold (cosine)")
        for t in self.tar_at_far:
            add(f"FAR={t.far:g}", t.threshold, f"tar@{far_key(t.far)}", "TAR")
        return pd.DataFrame(rows, index=pd.Index(index, name="operating point"))


def evaluate_verification(scores, same, *, folds=None, id1=None, id2=None, calibration: Optional[Calibration] = None,
                          fars: Sequence[float] = DEFAULT_FARS, n_boot: int = 1000, seed: int = 0,
                          level: float = 0.95) -> VerificationReport:
    """All verification metrics of a score set.

    Parameters
    ----------
    scores, same : array-like
        Cosine similarities and same-person labels.
    folds : array-like, optional
        Fold of each pair: accuracy is then the k-fold protocol (:func:`kfold_accuracy`);
        without folds it is the best accuracy on all pairs (optimistic, ``accuracy_std`` None).
    id1, id2 : array-like, optional
        Identities of both sides: enables identity-level bootstrap CIs of the EER, the
        best-accuracy threshold and each TAR@FAR (``n_boot`` replicates; 0 disables).
    calibration : Calibration, optional
        For thresholds on the calibrated-score scale.
    """
    s, y = _check_scores(scores, same)
    r = roc(s, y)
    e, et = eer(s, y)
    thr, acc_all = best_accuracy_threshold(s, y)
    kf = None
    acc, acc_std = acc_all, None
    if folds is not None:
        kf = kfold_accuracy(s, y, folds)
        acc, acc_std = kf.mean, kf.std
    taf = tuple(tar_at_far(s, y, fars))
    j, jt = youden_j(s, y)
    cis = {}
    if id1 is not None and id2 is not None and n_boot > 0:
        metrics = {"eer": "eer", "best_threshold": "best_threshold"}
        for t in taf:
            if math.isfinite(t.tar):
                metrics[f"tar@{far_key(t.far)}"] = _tar_metric(t.far)
        cis = bootstrap_cis(s, y, id1, id2, metrics=metrics, n_boot=n_boot, seed=seed, level=level)
    return VerificationReport(
        n_pairs=int(s.size), n_genuine=int(y.sum()), n_impostor=int((~y).sum()), auc=r.auc, eer=e, eer_threshold=et,
        threshold=thr, accuracy=acc, accuracy_std=acc_std, kfold=kf, tar_at_far=taf, youden=j, youden_threshold=jt,
        calibration=calibration, cis=cis, scores=s, same=y,
    )


# --------------------------------------------------------------------------------------------
# All pairs of a large set, in bounded memory
# --------------------------------------------------------------------------------------------


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
        Equal error rate (linear interpolation between the bracketing points, as :func:`eer`).
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
    e = _unit_rows(embeddings).astype(np.float32)
    _, codes = _codes(identities)
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
    :func:`facelab.distributed.streaming_roc_distributed`): the same block gives the same counts.
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

    :func:`all_pair_scores` + :func:`roc` hold every score (and sklearn sorts them all); here the
    scores are accumulated into genuine / impostor histograms chunk by chunk
    (:func:`score_histograms`) and the curve is read off the cumulative counts.

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
    # EER as in eer(): interpolate the crossing of FAR and FRR between bracketing points.
    diff = fpr - (1.0 - tpr)
    k = int(np.argmax(diff >= 0))
    t_fin = thr.copy()
    t_fin[0] = edges[keep[0] + 1]  # "accept nothing" at the top edge of the highest bin
    if k == 0 or diff[k] == 0:
        e_rate, e_thr = float(fpr[k]), float(t_fin[k])
    else:
        t = diff[k - 1] / (diff[k - 1] - diff[k])
        e_rate = float(fpr[k - 1] + t * (fpr[k] - fpr[k - 1]))
        e_thr = float(t_fin[k - 1] + t * (t_fin[k] - t_fin[k - 1]))
    return StreamingRoc(fpr=fpr, tpr=tpr, thresholds=thr, auc=auc, eer=e_rate, eer_threshold=e_thr,
                        n_genuine=n_g, n_impostor=n_i, genuine_hist=g, impostor_hist=imp, edges=edges)
