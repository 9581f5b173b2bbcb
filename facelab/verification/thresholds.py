"""Single thresholds: the best-accuracy and Youden thresholds, k-fold accuracy, the decisions at
one threshold, sweeps, the pairs on the wrong side and the notebook's threshold view.

A pair is called "same person" when ``score >= threshold`` (cosine scale; the other two scales
come from :mod:`facelab.core.calibration`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.calibration import Calibration, threshold_scales
from facelab.core.errors import EvaluationError
from facelab.core.jsonsafe import json_safe
from facelab.verification._checks import check_scores, div
from facelab.verification.curves import roc_points

__all__ = [
    "candidate_thresholds",
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
]


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
    s, y = check_scores(scores, same, need_both=False)
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
    s, y = check_scores(scores, same)
    fpr, tpr, thr = roc_points(s, y)
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
    s, y = check_scores(scores, same, need_both=False)
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
    return KFoldResult(accuracies=a, thresholds=np.asarray(thrs), folds=labels, mean=float(a.mean()),
                       std=float(a.std()))


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
        return json_safe(asdict(self))


def confusion_at(scores, same, threshold: float) -> Confusion:
    """Confusion counts and rates at ``threshold`` (see :class:`Confusion`)."""
    s, y = check_scores(scores, same, need_both=False)
    acc = s >= threshold
    tp = int((acc & y).sum())
    fp = int((acc & ~y).sum())
    tn = int((~acc & ~y).sum())
    fn = int((~acc & y).sum())
    return Confusion(tp, fp, tn, fn, div(fp, fp + tn), div(fn, fn + tp), div(tp, tp + fp), div(tp, tp + fn),
                     div(tp + tn, s.size), float(threshold))


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
    s, y = check_scores(scores, same)
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

    The one definition of "on the wrong side" in facelab: the threshold view, the misjudged pairs
    drawn on embedding maps (:func:`facelab.analysis.projection.misjudged_pairs`), the failure gallery
    (:class:`facelab.plotting.verification.FailureGalleryDisplay`) and the report all use it.

    Returns
    -------
    pandas.DataFrame
        Columns ``pair`` (index into the inputs), ``score``, ``same``, ``kind`` ("false accept":
        different people with ``score >= threshold``; "false reject": same person below it),
        ``margin`` (how far on the wrong side, ``|score - threshold|``) and ``label`` (from
        ``labels``, e.g. "a.jpg vs b.jpg"). Sorted by ``margin``, largest first; where rounding
        makes two margins equal the score decides (higher first among false accepts, lower first
        among false rejects), then ``pair``. Each kind on its own is therefore ordered by score,
        ties by ``pair``.
    """
    s, y = check_scores(scores, same, need_both=False)
    fa = ~y & (s >= threshold)
    fr = y & (s < threshold)
    idx = np.flatnonzero(fa | fr)
    margin = np.abs(s[idx] - threshold)
    order = np.lexsort((idx, np.where(fa[idx], -s[idx], s[idx]), -margin))
    idx, margin = idx[order], margin[order]
    lab = np.asarray(labels, dtype=object)[idx] if labels is not None else np.full(idx.size, "", dtype=object)
    return pd.DataFrame({"pair": idx, "score": s[idx], "same": y[idx],
                         "kind": np.where(fa[idx], "false accept", "false reject"),
                         "margin": margin, "label": lab})


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


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
            f"threshold: cosine {_num(sc['cosine'])} | squared distance {_num(sc['distance'])}"
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


def threshold_view(scores, same, threshold: float, *, labels=None,
                   calibration: Optional[Calibration] = None) -> ThresholdView:
    """:class:`ThresholdView` of a cosine ``threshold``."""
    return ThresholdView(float(threshold), confusion_at(scores, same, threshold),
                         threshold_scales(threshold, calibration),
                         wrong_side_pairs(scores, same, threshold, labels=labels))
