"""Identity-level bootstrap confidence intervals of verification metrics.

Pairs sharing a person are not independent, so resampling pairs understates the spread; each
replicate here resamples identities (:func:`identity_resample`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from facelab.core.errors import EvaluationError
from facelab.core.jsonsafe import json_safe
from facelab.verification._checks import check_scores
from facelab.verification.curves import eer, far_key, tar_at_far
from facelab.verification.thresholds import best_accuracy_threshold

__all__ = [
    "BootstrapCI",
    "tar_metric",
    "resolve_metric",
    "identity_resample",
    "bootstrap_cis",
    "bootstrap_ci",
]


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
        return json_safe(asdict(self))


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


def tar_metric(far: float) -> Callable:
    """``metric(scores, same) -> TAR at FAR = far``, for :func:`bootstrap_cis` (named ``tar@<far>``)."""

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


def resolve_metric(metric) -> Callable:
    if callable(metric):
        return metric
    if isinstance(metric, str):
        if metric in METRICS:
            return METRICS[metric]
        if metric.startswith("tar@"):
            return tar_metric(float(metric[4:]))
    raise ValueError(f"unknown metric {metric!r}: use a callable(scores, same), one of {sorted(METRICS)} "
                     "or 'tar@<far>'")


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
    s, y = check_scores(scores, same, need_both=False)
    id1 = np.asarray(id1)
    id2 = np.asarray(id2)
    if id1.shape != s.shape or id2.shape != s.shape:
        raise EvaluationError(f"{s.size} scores but {id1.size} / {id2.size} identity labels")
    if not (0 < level < 1):
        raise ValueError(f"level must be in (0, 1), got {level}")
    fns = {name: resolve_metric(m) for name, m in metrics.items()}
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


def bootstrap_ci(scores, same, id1, id2, *, metric, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> BootstrapCI:
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
