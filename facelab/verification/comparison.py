"""Two models scored on the same pairs: paired differences, McNemar's test, score fusion.

Plain metrics (arrays and dataclasses, no drawing), for the side-by-side report and
``facelab lfw --model A --model B``:

- :func:`paired_bootstrap`: identity-resampled bootstrap intervals of the *differences* (A - B) in
  AUC, EER and TAR@FAR (:data:`PAIRED_METRICS`, the metrics every comparison in facelab reports).
  Each replicate draws one identity resample (:func:`facelab.verification.identity_resample`) and
  scores both models on it, so the interval reflects how the two models differ on the same people,
  not two independent uncertainties.
- :func:`mcnemar`: McNemar's test on the pairs, each model deciding at its own accuracy-best
  threshold (or given thresholds): exact two-sided binomial p-value on the discordant pairs
  (and the continuity-corrected chi-square one).
- :func:`fold_difference`: the paired difference of two models' per-fold accuracies on the same
  folds (mean, standard deviation, Student-t interval).
- :func:`fit_fusion` / :class:`ScoreFusion`: logistic regression on the models' calibrated scores
  (as logits), fitted on training pairs only (LFW ``pairsDevTrain.txt``) and applied to others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from facelab.core.errors import EvaluationError
from facelab.core.jsonsafe import json_safe
from facelab.verification.bootstrap import resolve_metric

__all__ = [
    "PairedDifference",
    "paired_bootstrap",
    "FoldDifference",
    "fold_difference",
    "McNemarResult",
    "mcnemar",
    "ScoreFusion",
    "fit_fusion",
    "PAIRED_METRICS",
]

#: The metrics two models are compared on (``facelab lfw`` with several models, the report's
#: comparison section): higher AUC / TAR is better, lower EER is better. TAR@FAR=1e-3 needs about
#: 1,000 impostor pairs or more to mean anything; on fewer it is NaN (written as null).
PAIRED_METRICS = ("auc", "eer", "tar@1e-2", "tar@1e-3")



def _check(scores_a, scores_b, same, id1=None, id2=None):
    a = np.asarray(scores_a, dtype=np.float64).ravel()
    b = np.asarray(scores_b, dtype=np.float64).ravel()
    y = np.asarray(same).astype(bool).ravel()
    if not (a.size == b.size == y.size):
        raise EvaluationError(f"scores of different lengths: A {a.size}, B {b.size}, labels {y.size} (same pairs needed)")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise EvaluationError("scores must be finite")
    if id1 is not None:
        id1, id2 = np.asarray(id1), np.asarray(id2)
        if id1.shape != y.shape or id2.shape != y.shape:
            raise EvaluationError(f"{y.size} pairs but {id1.size} / {id2.size} identity labels")
    return a, b, y, id1, id2


@dataclass
class PairedDifference:
    """A metric of two models on the same pairs and the bootstrap interval of their difference.

    Attributes
    ----------
    metric : str
    a, b : float
        The metric of model A and of model B on all pairs.
    difference : float
        ``a - b``.
    low, high : float
        Percentile interval of ``a - b`` over paired replicates (NaN if none was valid).
    level : float
    n_boot, n_valid : int
        Replicates drawn, and those where both models' metric could be computed.
    """

    metric: str
    a: float
    b: float
    difference: float
    low: float
    high: float
    level: float = 0.95
    n_boot: int = 0
    n_valid: int = 0

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely on one side of 0."""
        return bool(self.low > 0 or self.high < 0)

    def to_dict(self) -> dict:
        return json_safe(asdict(self))


def paired_bootstrap(scores_a, scores_b, same, id1, id2, *, metrics: Sequence[str] = PAIRED_METRICS,
                     n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, PairedDifference]:
    """Identity-resampled paired bootstrap intervals of metric differences (A - B).

    Parameters
    ----------
    scores_a, scores_b : array-like
        The two models' similarity scores (higher = more alike) on the same pairs, in the same order.
    same : array-like of bool
    id1, id2 : array-like
        Identity of each side of each pair (resampling unit).
    metrics : sequence of str
        ``"auc"``, ``"eer"``, ``"tar@<far>"``.
    n_boot, seed, level :
        Replicates, seed (same seed, same intervals) and coverage.

    Returns
    -------
    dict of str to PairedDifference
        Replicates lacking genuine or impostor pairs, or where either model's metric is NaN,
        are skipped (``n_valid`` counts the rest).
    """
    from facelab.verification.bootstrap import identity_resample

    a, b, y, id1, id2 = _check(scores_a, scores_b, same, id1, id2)
    if id1 is None:
        raise EvaluationError("paired_bootstrap needs id1 and id2")
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level}")
    fns = {m: resolve_metric(m) for m in metrics}

    def both(idx):
        out = {}
        for m, fn in fns.items():
            try:
                va, vb = float(fn(a[idx], y[idx])), float(fn(b[idx], y[idx]))
            except EvaluationError:
                continue
            if math.isfinite(va) and math.isfinite(vb):
                out[m] = (va, vb)
        return out

    full = both(np.arange(y.size))
    rng = np.random.default_rng(seed)
    diffs: dict[str, list] = {m: [] for m in fns}
    for _ in range(n_boot):
        idx = identity_resample(id1, id2, rng)  # one resample, both models
        ys = y[idx]
        if idx.size == 0 or ys.all() or not ys.any():
            continue
        for m, (va, vb) in both(idx).items():
            diffs[m].append(va - vb)
    alpha = (1 - level) / 2
    out = {}
    for m in fns:
        va, vb = full.get(m, (math.nan, math.nan))
        d = np.asarray(diffs[m])
        lo, hi = np.quantile(d, [alpha, 1 - alpha]) if d.size else (math.nan, math.nan)
        out[m] = PairedDifference(m, va, vb, va - vb, float(lo), float(hi), level, int(n_boot), int(d.size))
    return out


@dataclass(frozen=True)
class FoldDifference:
    """The paired difference of two models' per-fold accuracies (``a - b``, the same folds).

    Attributes
    ----------
    per_fold : list of float
    mean, std : float
        Mean and standard deviation (``ddof=1``; NaN with one fold) over the folds.
    n_folds : int
    level : float
    t_low, t_high : float
        Student-t interval of the mean at ``level`` (NaN with one fold).
    """

    per_fold: list
    mean: float
    std: float
    n_folds: int
    level: float
    t_low: float
    t_high: float

    def to_dict(self) -> dict:
        return {"per_fold": list(self.per_fold), "mean": self.mean, "std": self.std, "n_folds": self.n_folds,
                "level": self.level, "t_low": self.t_low, "t_high": self.t_high}


def fold_difference(acc_a, acc_b, *, level: float = 0.95) -> FoldDifference:
    """Paired difference of two models' per-fold accuracies (``a - b``, same folds).

    Mean, standard deviation (``ddof=1``) and a Student-t interval of the mean over the folds.
    """
    from scipy.stats import t as student_t

    d = np.asarray(acc_a, np.float64) - np.asarray(acc_b, np.float64)
    n = d.size
    mean = float(d.mean()) if n else float("nan")
    sd = float(d.std(ddof=1)) if n > 1 else float("nan")
    if n > 1:
        half = float(student_t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n))
        low, high = mean - half, mean + half
    else:
        low = high = float("nan")
    return FoldDifference(d.tolist(), mean, sd, int(n), level, low, high)


@dataclass
class McNemarResult:
    """McNemar's test of two models' decisions on the same pairs.

    Attributes
    ----------
    threshold_a, threshold_b : float
        Decision thresholds (``same person iff score >= threshold``).
    accuracy_a, accuracy_b : float
    both_right, a_only_right, b_only_right, both_wrong : int
        The 2x2 table of right / wrong decisions.
    p_value : float
        Exact two-sided binomial test of the discordant pairs (``a_only_right`` out of
        ``a_only_right + b_only_right`` against one half); 1.0 when there are none.
    statistic : float
        Continuity-corrected chi-square ``(|b - c| - 1)^2 / (b + c)`` (0 when no discordant pairs).
    p_value_chi2 : float
        Its p-value (1 degree of freedom).
    """

    threshold_a: float
    threshold_b: float
    accuracy_a: float
    accuracy_b: float
    both_right: int
    a_only_right: int
    b_only_right: int
    both_wrong: int
    p_value: float
    statistic: float
    p_value_chi2: float

    @property
    def n_discordant(self) -> int:
        return self.a_only_right + self.b_only_right

    def to_dict(self) -> dict:
        d = json_safe(asdict(self))
        d["n_discordant"] = self.n_discordant
        return d


def mcnemar(scores_a, scores_b, same, *, threshold_a: Optional[float] = None,
            threshold_b: Optional[float] = None) -> McNemarResult:
    """McNemar's test on pair decisions, each model at its own (accuracy-best by default) threshold.

    The default thresholds are each model's accuracy-best threshold on these pairs
    (:func:`facelab.verification.best_accuracy_threshold`); pass thresholds chosen elsewhere
    (e.g. on training folds) for an unbiased test.
    """
    from scipy.stats import binomtest, chi2

    from facelab.verification import best_accuracy_threshold

    a, b, y, _, _ = _check(scores_a, scores_b, same)
    if y.size == 0:
        raise EvaluationError("no pairs to compare")
    ta = best_accuracy_threshold(a, y)[0] if threshold_a is None else float(threshold_a)
    tb = best_accuracy_threshold(b, y)[0] if threshold_b is None else float(threshold_b)
    ra = (a >= ta) == y
    rb = (b >= tb) == y
    n11, n10 = int((ra & rb).sum()), int((ra & ~rb).sum())
    n01, n00 = int((~ra & rb).sum()), int((~ra & ~rb).sum())
    n = n10 + n01
    if n == 0:
        p, stat, p2 = 1.0, 0.0, 1.0
    else:
        p = float(binomtest(n10, n, 0.5, alternative="two-sided").pvalue)
        stat = (abs(n10 - n01) - 1) ** 2 / n
        p2 = float(chi2.sf(stat, 1))
    return McNemarResult(ta, tb, float(ra.mean()), float(rb.mean()), n11, n10, n01, n00, p, float(stat), p2)


_EPS = 1e-7


def _logits(columns: np.ndarray) -> np.ndarray:
    p = np.clip(columns, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


@dataclass
class ScoreFusion:
    """Logistic regression on several models' calibrated scores (as logits).

    ``fused = sigmoid(intercept + sum_m coef[m] * logit(score_m))``. Calibrated scores
    (:meth:`facelab.core.calibration.Calibration.score`, in (0, 1)) saturate near 0 and 1; their logits
    (``(mean - d) / std``, linear in each model's distance) do not, and keep the models' own scales.

    Attributes
    ----------
    models : list of str
    coef : list of float
    intercept : float
    n_train : int
        Training pairs.
    source : str
        Where it was fitted.
    """

    models: list
    coef: list
    intercept: float
    n_train: int = 0
    source: str = ""
    threshold: float = 0.5

    def _matrix(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [m for m in self.models if m not in scores]
        if missing:
            raise EvaluationError(f"fusion needs the calibrated scores of {', '.join(missing)}")
        cols = [np.asarray(scores[m], dtype=np.float64).ravel() for m in self.models]
        if len({c.size for c in cols}) != 1:
            raise EvaluationError("calibrated scores of different lengths")
        return np.column_stack(cols)

    def decision_function(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """Fused logit per pair."""
        return self.intercept + _logits(self._matrix(scores)) @ np.asarray(self.coef, dtype=np.float64)

    def predict_proba(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """Fused score per pair in (0, 1) (higher = same person)."""
        z = self.decision_function(scores)
        return 1.0 / (1.0 + np.exp(-z))

    def same_person(self, scores: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.predict_proba(scores) >= self.threshold

    def to_dict(self) -> dict:
        return asdict(self)


def fit_fusion(scores: Mapping[str, np.ndarray], same, *, source: str = "", C: float = 1e4) -> ScoreFusion:
    """Fit :class:`ScoreFusion` on training pairs (e.g. LFW ``pairsDevTrain.txt`` only).

    Parameters
    ----------
    scores : mapping of model name to array
        Each model's calibrated score (in (0, 1)) on the same training pairs.
    same : array-like of bool
    source : str
        Recorded in the result.
    C : float
        Inverse L2 regularisation of :class:`sklearn.linear_model.LogisticRegression` (large:
        nearly unregularised).
    """
    from sklearn.linear_model import LogisticRegression

    names = list(scores)
    if len(names) < 2:
        raise EvaluationError("score fusion needs at least two models")
    y = np.asarray(same).astype(bool).ravel()
    tmp = ScoreFusion(names, [0.0] * len(names), 0.0)
    X = _logits(tmp._matrix(scores))
    if X.shape[0] != y.size:
        raise EvaluationError(f"{X.shape[0]} scores but {y.size} labels")
    if y.all() or not y.any():
        raise EvaluationError("fusion needs genuine and impostor training pairs")
    lr = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    return ScoreFusion(names, [float(c) for c in lr.coef_[0]], float(lr.intercept_[0]), int(y.size), source)
