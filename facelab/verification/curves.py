"""Curves over every threshold: ROC/AUC, DET, EER and TAR at target FARs.

A pair is called "same person" when ``score >= threshold`` (scores are cosine similarities,
higher = same). Everything returns numpy arrays, floats or frozen dataclasses; drawing lives in
:mod:`facelab.plotting.verification`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from facelab.core.jsonsafe import json_safe
from facelab.verification._checks import check_scores

__all__ = [
    "DEFAULT_FARS",
    "RocResult",
    "DetResult",
    "roc",
    "det",
    "roc_points",
    "eer",
    "eer_from_curve",
    "far_key",
    "TarAtFar",
    "tar_at_far",
]

DEFAULT_FARS = (1e-1, 1e-2, 1e-3, 1e-4)


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

    s, y = check_scores(scores, same)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=drop_intermediate)
    return RocResult(fpr=fpr, tpr=tpr, thresholds=thr, auc=float(roc_auc_score(y, s)))


def det(scores, same) -> DetResult:
    """DET curve (:func:`sklearn.metrics.det_curve`)."""
    from sklearn.metrics import det_curve

    s, y = check_scores(scores, same)
    fpr, fnr, thr = det_curve(y, s)
    return DetResult(fpr=fpr, fnr=fnr, thresholds=thr)


def roc_points(s: np.ndarray, y: np.ndarray):
    """Every operating point, thresholds decreasing, the first "accept nothing" at a finite value."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    thr = thr.astype(np.float64).copy()
    if not np.isfinite(thr[0]):
        thr[0] = np.nextafter(s.max(), np.inf)
    return fpr, tpr, thr


def eer_from_curve(fpr, tpr, thresholds) -> tuple[float, float]:
    """Equal error rate of a curve given by its operating points, and its threshold.

    ``fpr``, ``tpr`` and ``thresholds`` run from "accept nothing" (``fpr = tpr = 0``) to "accept
    all", thresholds decreasing and all finite. Between the two adjacent points where
    ``FAR - FRR`` changes sign, both rates and the threshold are interpolated linearly. Shared by
    :func:`eer` (exact curve) and :func:`facelab.verification.streaming.streaming_roc` (binned).
    """
    fpr = np.asarray(fpr)
    thr = np.asarray(thresholds)
    diff = fpr - (1.0 - np.asarray(tpr))  # -1 at "accept nothing", +1 at "accept all"
    k = int(np.argmax(diff >= 0))
    if k == 0 or diff[k] == 0:
        return float(fpr[k]), float(thr[k])
    t = diff[k - 1] / (diff[k - 1] - diff[k])
    rate = fpr[k - 1] + t * (fpr[k] - fpr[k - 1])
    return float(rate), float(thr[k - 1] + t * (thr[k] - thr[k - 1]))


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
    s, y = check_scores(scores, same)
    fpr, tpr, thr = roc_points(s, y)
    return eer_from_curve(fpr, tpr, thr)


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
        return json_safe(asdict(self))


def tar_at_far(scores, same, fars: Sequence[float] = DEFAULT_FARS) -> list[TarAtFar]:
    """TAR at each target FAR.

    The threshold is the lowest distinct score ``t`` with ``FAR(t) <= far`` (accept
    ``score >= t``); tied scores are accepted or rejected together, so the reached FAR can be
    below the target. A FAR of ``f`` can only be measured with at least ``ceil(1 / f)`` impostor
    pairs (fewer give a FAR resolution coarser than ``f``); below that the TAR is NaN and
    ``reason`` says so.
    """
    s, y = check_scores(scores, same)
    n_imp = int((~y).sum())
    fpr, tpr, thr = roc_points(s, y)
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

