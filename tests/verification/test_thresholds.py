"""Single thresholds, k-fold accuracy, wrong-side pairs and the threshold view (facelab.verification.thresholds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.core.errors import EvaluationError
from facelab.verification.thresholds import (
    best_accuracy_threshold,
    confusion_at,
    kfold_accuracy,
    threshold_sweep,
    threshold_view,
    wrong_side_pairs,
    youden_j,
)


def test_best_accuracy_threshold_midpoint_between_distinct_scores():
    s = [0.9, 0.8, 0.8, 0.3, 0.2]
    y = [True, True, True, False, False]
    t, acc = best_accuracy_threshold(s, y)
    assert acc == 1.0 and t == pytest.approx(0.55)


def test_best_accuracy_threshold_never_splits_ties():
    # A tie of a genuine and an impostor at 0.5: both on the same side of any threshold.
    s = [0.9, 0.5, 0.5, 0.1]
    y = [True, True, False, False]
    t, acc = best_accuracy_threshold(s, y)
    assert acc == pytest.approx(0.75)
    assert t not in (0.5,)
    # Both 0.3 (accept 0.9, 0.5, 0.5) and 0.7 (accept 0.9) give 3/4: the lower middle is chosen.
    assert t == pytest.approx(0.3)


def test_best_accuracy_threshold_brute_force(random_set):
    for seed in range(4):
        s, y = random_set(seed, ties=True)
        t, acc = best_accuracy_threshold(s, y)
        brute = max(np.mean((s >= c) == y) for c in np.concatenate([np.unique(s), [np.inf]]))
        assert acc == pytest.approx(brute) and np.mean((s >= t) == y) == pytest.approx(acc)


def test_youden_j():
    s = [0.9, 0.8, 0.7, 0.75, 0.1]
    y = [True, True, True, False, False]
    j, t = youden_j(s, y)
    # t = 0.8: TPR 2/3, FPR 0; t = 0.7: TPR 1, FPR 1/2 -> J = 2/3 at 0.8.
    assert j == pytest.approx(2 / 3) and t == pytest.approx(0.8)


def test_confusion_at():
    s = [0.9, 0.6, 0.4, 0.7, 0.2, 0.1]
    y = [True, True, True, False, False, False]
    c = confusion_at(s, y, 0.5)
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 2, 1)
    assert c.far == pytest.approx(1 / 3) and c.frr == pytest.approx(1 / 3)
    assert c.precision == pytest.approx(2 / 3) and c.recall == pytest.approx(2 / 3)
    assert c.accuracy == pytest.approx(4 / 6)
    c = confusion_at(s, y, 0.95)
    assert math.isnan(c.precision) and c.to_dict()["precision"] is None


def test_threshold_sweep_agrees_with_confusion(random_set):
    s, y = random_set(3, ties=True)
    sw = threshold_sweep(s, y)
    for row in sw.itertuples():
        c = confusion_at(s, y, row.threshold)
        assert (row.far, row.frr, row.accuracy) == pytest.approx((c.far, c.frr, c.accuracy))


def test_kfold_accuracy_on_constructed_folds():
    # Folds 0 and 1 are separable at any threshold in (0.4, 0.6); fold 2 has a genuine pair at 0.45.
    s = np.array([0.7, 0.8, 0.3, 0.2, 0.9, 0.65, 0.1, 0.35, 0.45, 0.7, 0.3, 0.2])
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0], bool)
    f = np.repeat([0, 1, 2], 4)
    r = kfold_accuracy(s, y, f)
    # Thresholds: fold 0 trained on folds 1+2 -> best gap midpoint; check by recomputing.
    for k, lab in enumerate([0, 1, 2]):
        t_expect, _ = best_accuracy_threshold(s[f != lab], y[f != lab])
        assert r.thresholds[k] == pytest.approx(t_expect)
    # Trained without fold 2, the threshold falls in (0.35, 0.65): 0.5 -> the 0.45 genuine is rejected.
    assert r.thresholds[2] == pytest.approx(0.5)
    assert np.allclose(r.accuracies, [1.0, 1.0, 0.75])
    assert r.mean == pytest.approx(11 / 12) and r.std == pytest.approx(np.std([1, 1, 0.75]))
    assert r.sem == pytest.approx(np.std([1, 1, 0.75], ddof=1) / np.sqrt(3))
    with pytest.raises(EvaluationError, match="two folds"):
        kfold_accuracy(s, y, np.zeros(12))


def test_wrong_side_pairs_and_threshold_view():
    s = [0.9, 0.45, 0.3, 0.6, 0.55, 0.1]
    y = [True, True, True, False, False, False]
    w = wrong_side_pairs(s, y, 0.5, labels=[f"p{k}" for k in range(6)])
    assert list(w["pair"]) == [2, 3, 4, 1]  # margins 0.2, 0.1, 0.05, 0.05 (ties by index)
    assert list(w["kind"]) == ["false reject", "false accept", "false accept", "false reject"]
    v = threshold_view(s, y, 0.5, labels=[f"p{k}" for k in range(6)], calibration=REFERENCE_CALIBRATION)
    assert v.confusion == confusion_at(s, y, 0.5)
    assert v.scales["distance"] == pytest.approx(1.0)
    assert v.scales["score"] == pytest.approx(REFERENCE_CALIBRATION.score(1.0))
    text = v.text(max_rows=2)
    assert "FAR 0.6667  FRR 0.6667" in text and "pairs on the wrong side: 4" in text and "p2" in text
    assert "p1" not in text


def test_wrong_side_pairs_brute_force(random_set):
    for seed in range(4):
        s, y = random_set(seed, ties=seed % 2 == 1)
        t = 0.41
        w = wrong_side_pairs(s, y, t)
        expect = [(abs(s[k] - t), k, "false accept" if not y[k] else "false reject")
                  for k in range(s.size) if (s[k] >= t) != y[k]]
        expect.sort(key=lambda e: (-e[0], e[1]))
        assert list(w["pair"]) == [k for _, k, _ in expect]
        assert list(w["kind"]) == [kind for *_, kind in expect]
        np.testing.assert_array_equal(w["margin"], [m for m, *_ in expect])
        assert list(w["same"]) == [bool(y[k]) for _, k, _ in expect]
        assert list(w["label"]) == [""] * len(expect)


def test_wrong_side_pairs_order_by_score_when_rounding_ties_margins():
    # Two false accepts one float apart whose margins |s - t| round to the same float: the
    # higher score is still the harder one (the gallery and the map rely on score order).
    t = 0.3
    a = 0.9
    while abs(np.nextafter(a, 2) - t) != abs(a - t):
        a = np.nextafter(a, 2)
    b = np.nextafter(a, 2)
    assert b > a and abs(b - t) == abs(a - t)
    w = wrong_side_pairs([a, b, 0.1], [False, False, True], t)
    assert list(w["pair"]) == [1, 0, 2]
    # Same for false rejects: the lower score first.
    lo = -0.9
    while abs(t - np.nextafter(lo, -2)) != abs(t - lo):
        lo = np.nextafter(lo, -2)
    lo2 = np.nextafter(lo, -2)
    w = wrong_side_pairs([lo, lo2], [True, True], t)
    assert list(w["pair"]) == [1, 0]


def test_threshold_view_of_a_threshold_that_could_not_be_estimated():
    v = threshold_view([0.9, 0.1], [True, False], float("nan"))
    assert v.scales == {"cosine": None, "distance": None, "score": None}
    assert v.text().startswith("threshold: cosine n/a | squared distance n/a\n")
