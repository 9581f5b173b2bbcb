"""The ROC of a weighted copy of a score set, from the scores sorted once.

An identity-bootstrap replicate (:mod:`facelab.verification.bootstrap`) is the score set with
each pair repeated ``w`` times (``w = 0`` for pairs whose identities were not drawn). Sorting the
repeated copy for every replicate -- what :func:`sklearn.metrics.roc_curve` does -- costs
``O(n log n)`` per replicate; here the scores are sorted once (:class:`SortedScores`) and each
replicate's curve (:class:`WeightedCurve`) is a pass of cumulative sums over the weights,
``O(n)``. The curve is the one :func:`~facelab.verification.curves.roc_points` gives on the
repeated copy -- one operating point per distinct score present in it, thresholds decreasing --
so the EER, the best-accuracy threshold and the TAR@FAR read from it are those of
:func:`~facelab.verification.curves.eer`, :func:`~facelab.verification.thresholds.best_accuracy_threshold`
and :func:`~facelab.verification.curves.tar_at_far` on the repeated copy, number for number (the
AUC to float rounding: the trapezoids are summed over every point instead of sklearn's corners).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from facelab.verification.curves import eer_from_curve

__all__ = ["SortedScores", "WeightedCurve"]


@dataclass(frozen=True)
class WeightedCurve:
    """The ROC of one weighted copy of a score set: one point per distinct score present.

    Attributes
    ----------
    thresholds : ndarray
        Distinct scores with a positive weight, decreasing.
    tps, fps : ndarray of int
        Genuine / impostor weight scoring ``>= thresholds[k]``.
    n_genuine, n_impostor : int
        Total genuine / impostor weight (the pairs of the repeated copy).
    """

    thresholds: np.ndarray
    tps: np.ndarray
    fps: np.ndarray
    n_genuine: int
    n_impostor: int

    @cached_property
    def points(self):
        """``(fpr, tpr, thresholds)`` as :func:`facelab.verification.curves.roc_points` gives them:
        the "accept nothing" point first, at the next float above the highest score."""
        fpr = np.concatenate([[0.0], self.fps / self.n_impostor])
        tpr = np.concatenate([[0.0], self.tps / self.n_genuine])
        thr = np.concatenate([[np.nextafter(self.thresholds[0], np.inf)], self.thresholds])
        return fpr, tpr, thr

    def eer(self) -> tuple[float, float]:
        """``(eer, threshold)``, as :func:`facelab.verification.curves.eer`."""
        return eer_from_curve(*self.points)

    def tar_at_far(self, far: float) -> float:
        """TAR at the lowest threshold whose FAR is at most ``far`` (NaN with fewer than
        ``ceil(1 / far)`` impostor pairs), as :func:`facelab.verification.curves.tar_at_far`."""
        far = float(far)
        if self.n_impostor < math.ceil(1.0 / far - 1e-9):
            return math.nan
        fpr, tpr, _ = self.points
        return float(tpr[np.flatnonzero(fpr <= far + 1e-12)[-1]])

    def auc(self) -> float:
        """Area under the ROC (trapezoids: tied scores count one half)."""
        fpr, tpr, _ = self.points
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)

    def best_accuracy(self) -> tuple[float, float]:
        """``(threshold, accuracy)``, as :func:`facelab.verification.thresholds.best_accuracy_threshold`:
        candidates between adjacent distinct scores, the middle of the best plateau."""
        u = self.thresholds[::-1]  # ascending
        g = u.size
        gap = float(np.min(np.diff(u))) / 2 if g > 1 else 0.5
        cand = np.concatenate([[u[0] - gap], (u[:-1] + u[1:]) / 2, [u[-1] + gap]])
        # first[k]: the first distinct score >= cand[k] (a midpoint that rounds down onto the
        # score below it accepts that score too, as searchsorted does).
        first = np.arange(g + 1)
        first[1:g] -= cand[1:g] <= u[:-1]
        first[g] -= cand[g] <= u[-1]
        # Weights scoring >= u[k], ascending k (and 0 past the top).
        tp = np.concatenate([self.tps[::-1], [0]])[first]
        fp = np.concatenate([self.fps[::-1], [0]])[first]
        total = self.n_genuine + self.n_impostor
        acc = (tp + (self.n_impostor - fp)) / total
        best = np.flatnonzero(acc >= acc.max() - 1e-12)
        k = best[(best.size - 1) // 2]
        return float(cand[k]), float(acc[k])


class SortedScores:
    """A score set sorted once, for the curves of many weighted copies of it (:meth:`curve`).

    Parameters
    ----------
    scores : (n,) float array
    same : (n,) bool array

    Attributes
    ----------
    order : (n,) int array
        The pairs by score, highest first: ``weights[order]`` is what :meth:`curve_sorted` takes.
    """

    def __init__(self, scores, same):
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(same, dtype=bool)
        self.order = np.argsort(-s, kind="stable")
        s = s[self.order]
        self.genuine = y[self.order]
        # The last position of each run of equal scores (one operating point per distinct score).
        self.group_end = np.concatenate([np.flatnonzero(np.diff(s)), [s.size - 1]]) if s.size else np.zeros(0, int)
        self.values = s[self.group_end]
        self.ties = self.group_end.size < s.size

    def curve(self, weights) -> WeightedCurve:
        """The curve of the copy with pair ``k`` (in the input's order) repeated ``weights[k]`` times."""
        return self.curve_sorted(np.asarray(weights, dtype=np.int64)[self.order])

    def curve_sorted(self, w: np.ndarray) -> WeightedCurve:
        """:meth:`curve` of weights already in :attr:`order`."""
        gen = np.where(self.genuine, w, 0)
        tps = np.cumsum(gen)
        alls = np.cumsum(w)
        if self.ties:
            tps, alls = tps[self.group_end], alls[self.group_end]
            present = np.diff(alls, prepend=0) > 0
        else:
            present = w > 0
        fps = alls - tps
        n_gen = int(tps[-1]) if tps.size else 0
        n_all = int(alls[-1]) if alls.size else 0
        return WeightedCurve(self.values[present], tps[present], fps[present], n_gen, n_all - n_gen)
