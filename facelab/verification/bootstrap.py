"""Identity-level bootstrap confidence intervals of verification metrics.

Pairs sharing a person are not independent, so resampling pairs understates the spread; each
replicate here resamples identities (:func:`identity_resample`).

A replicate is the pair set with each pair repeated as often as its identities were drawn
(:func:`identity_weights`). The named metrics (EER, best-accuracy threshold and accuracy, AUC,
TAR@FAR) are read from the replicate's curve computed from the scores sorted once
(:class:`facelab.verification.weighted.SortedScores`): the same numbers as sorting each repeated
copy again, in a fraction of the time (500 replicates of 212,000 pairs: seconds, not minutes).
Any other ``metric(scores, same)`` callable is computed on the repeated copy itself.
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
from facelab.verification.weighted import SortedScores

__all__ = [
    "BootstrapCI",
    "tar_metric",
    "resolve_metric",
    "identity_resample",
    "identity_weights",
    "IdentityResampler",
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


# The same metrics read from a replicate's curve (facelab.verification.weighted.WeightedCurve).
_metric_eer.on_curve = lambda c: c.eer()[0]
_metric_eer_threshold.on_curve = lambda c: c.eer()[1]
_metric_best_threshold.on_curve = lambda c: c.best_accuracy()[0]
_metric_best_accuracy.on_curve = lambda c: c.best_accuracy()[1]
_metric_auc.on_curve = lambda c: c.auc()


def tar_metric(far: float) -> Callable:
    """``metric(scores, same) -> TAR at FAR = far``, for :func:`bootstrap_cis` (named ``tar@<far>``)."""

    def metric(s, y):
        return tar_at_far(s, y, (far,))[0].tar

    metric.__name__ = f"tar@{far_key(far)}"
    metric.on_curve = lambda c: c.tar_at_far(far)
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


class IdentityResampler:
    """Identity-level bootstrap draws over a fixed list of pairs (the labels coded once).

    :meth:`weights` gives one replicate as a count per pair; :func:`identity_weights` and
    :func:`identity_resample` are its one-shot forms. Each draw takes the same numbers from ``rng``
    as every other form, so a seed gives the same replicates whichever is used.
    """

    def __init__(self, id1, id2):
        import pandas as pd

        a = np.asarray(id1)
        b = np.asarray(id2)
        # Codes in sorted label order (as np.unique gives them, by hashing: hundreds of thousands
        # of string labels in milliseconds): draw k is the k-th identity in sorted order.
        inv, uniq = pd.factorize(np.concatenate([a, b]), sort=True)
        self.n_identities = int(uniq.size)
        self.ca, self.cb = inv[: a.size], inv[a.size:]
        self.genuine = self.ca == self.cb

    def weights(self, rng) -> np.ndarray:
        """How many times each pair is in one replicate (int64 per pair; see :func:`identity_resample`)."""
        draws = rng.integers(0, self.n_identities, size=self.n_identities)
        c = np.bincount(draws, minlength=self.n_identities)
        return np.where(self.genuine, c[self.ca], c[self.ca] * c[self.cb]).astype(np.int64)


def identity_weights(id1, id2, rng) -> np.ndarray:
    """How many times each pair is in one identity-level bootstrap replicate (see :func:`identity_resample`)."""
    return IdentityResampler(id1, id2).weights(rng)


def identity_resample(id1, id2, rng) -> np.ndarray:
    """Pair indices of one identity-level bootstrap replicate.

    Identities are drawn with replacement (as many draws as there are identities). A pair is kept
    when both its identities were drawn, repeated once per way of picking them: ``c[a]`` times for
    a genuine pair of identity ``a`` drawn ``c[a]`` times, ``c[a] * c[b]`` times for an impostor pair
    of identities ``a`` and ``b``. All pairs of an identity thus come in or go out together, which
    keeps the dependence between pairs that share a person.
    """
    w = identity_weights(id1, id2, rng)
    return np.repeat(np.arange(w.size), w)


def replicate_weights(id1, id2, same, *, n_boot: int, rng, order=None):
    """The weights of each usable replicate of ``n_boot`` draws: those with genuine and impostor
    pairs (the others are drawn, so the stream of random numbers stays the same, and skipped).

    ``order``: give the weights permuted by it (e.g. :attr:`SortedScores.order`, saving a gather
    per replicate).
    """
    id1, id2, y = np.asarray(id1), np.asarray(id2), np.asarray(same, dtype=bool)
    if order is not None:
        id1, id2, y = id1[order], id2[order], y[order]
    resampler = IdentityResampler(id1, id2)
    yi = y.astype(np.int64)
    for _ in range(n_boot):
        w = resampler.weights(rng)
        n_gen = int(w @ yi)
        if n_gen == 0 or n_gen == int(w.sum()):
            continue
        yield w


def replicate_values(fns: Mapping[str, Callable], s: np.ndarray, y: np.ndarray, w: np.ndarray, *,
                     sorted_scores=None, presorted: bool = False) -> dict:
    """Each metric on one replicate (pair ``k`` repeated ``w[k]`` times): from the replicate's
    curve where the metric has an ``on_curve`` form, else on the repeated copy. A metric that
    cannot be computed (:class:`EvaluationError`) is left out. ``presorted``: ``w`` is in
    ``sorted_scores.order`` (then every metric must have an ``on_curve`` form)."""
    out, curve, idx = {}, None, None
    for name, fn in fns.items():
        try:
            if sorted_scores is not None and hasattr(fn, "on_curve"):
                if curve is None:
                    curve = sorted_scores.curve_sorted(w) if presorted else sorted_scores.curve(w)
                out[name] = float(fn.on_curve(curve))
            else:
                idx = np.repeat(np.arange(w.size), w) if idx is None else idx
                out[name] = float(fn(s[idx], y[idx]))
        except EvaluationError:
            continue
    return out


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
    sorted_scores = SortedScores(s, y) if any(hasattr(fn, "on_curve") for fn in fns.values()) else None
    est = {}
    for name, fn in fns.items():
        try:
            est[name] = float(fn(s, y))
        except EvaluationError:
            est[name] = math.nan
    rng = np.random.default_rng(seed)
    vals = {name: [] for name in fns}
    # Every metric read from curves: the weights are drawn in the sorted order directly.
    presorted = sorted_scores is not None and all(hasattr(fn, "on_curve") for fn in fns.values())
    order = sorted_scores.order if presorted else None
    for w in replicate_weights(id1, id2, y, n_boot=n_boot, rng=rng, order=order):
        for name, v in replicate_values(fns, s, y, w, sorted_scores=sorted_scores, presorted=presorted).items():
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
