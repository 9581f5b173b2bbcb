"""ROC/AUC, DET, EER and TAR@FAR checked against hand-worked values and brute force (facelab.verification.curves)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facelab.core.errors import EvaluationError
from facelab.verification.curves import det, eer, eer_from_curve, far_key, roc, roc_points, tar_at_far


@pytest.mark.parametrize("ties", [False, True])
def test_roc_matches_brute_force_counting(ties, brute_rates, brute_auc, random_set):
    s, y = random_set(0, ties=ties)
    r = roc(s, y)
    assert r.auc == pytest.approx(brute_auc(s, y))
    for fpr, tpr, t in zip(r.fpr[1:], r.tpr[1:], r.thresholds[1:]):
        assert (fpr, tpr) == pytest.approx(brute_rates(s, y, t))
    assert r.fpr[0] == 0 and r.tpr[0] == 0 and r.fpr[-1] == 1 and r.tpr[-1] == 1


def test_det_is_fpr_and_miss_rate(brute_rates, random_set):
    s, y = random_set(1)
    d = det(s, y)
    for fpr, fnr, t in zip(d.fpr, d.fnr, d.thresholds):
        far, tar = brute_rates(s, y, t)
        assert fpr == pytest.approx(far) and fnr == pytest.approx(1 - tar)


def test_metrics_refuse_one_class():
    with pytest.raises(EvaluationError, match="no impostor"):
        roc([0.1, 0.2], [True, True])
    with pytest.raises(EvaluationError, match="no genuine"):
        eer([0.1, 0.2], [False, False])
    with pytest.raises(EvaluationError, match="2 scores but 3"):
        roc([0.1, 0.2], [True, False, True])
    with pytest.raises(EvaluationError, match="NaN"):
        roc([0.1, np.nan], [True, False])


def test_eer_exact_at_an_operating_point():
    # At t = 0.65: impostor 0.65 accepted (FAR 1/4), genuine 0.6 rejected (FRR 1/4).
    s = [0.6, 0.7, 0.8, 0.9, 0.1, 0.2, 0.3, 0.65]
    y = [True] * 4 + [False] * 4
    e, t = eer(s, y)
    assert e == pytest.approx(0.25) and t == pytest.approx(0.65)


def test_eer_interpolated_between_points():
    # Points (threshold, FAR, FRR): (0.8, 0, 1/3), (0.75, 1/2, 1/3): FAR - FRR goes from
    # -1/3 to +1/6, crossing at 2/3 of the way: EER = 1/3, threshold 0.8 - 2/3 * 0.05.
    s = [0.9, 0.8, 0.7, 0.75, 0.1]
    y = [True, True, True, False, False]
    e, t = eer(s, y)
    assert e == pytest.approx(1 / 3) and t == pytest.approx(0.8 - 0.05 * 2 / 3)


def test_eer_perfect_and_inverted_separation():
    e, t = eer([0.9, 0.8, 0.2, 0.1], [True, True, False, False])
    assert e == 0.0 and 0.2 < t <= 0.8
    e, _ = eer([0.1, 0.2, 0.8, 0.9], [True, True, False, False])
    assert e == pytest.approx(1.0)


def test_eer_brute_force_bracket(brute_rates, random_set):
    for seed in range(5):
        s, y = random_set(seed, ties=seed % 2 == 1)
        e, t = eer(s, y)
        # The EER lies between FAR and FRR at the operating points bracketing t.
        pts = [brute_rates(s, y, x) for x in np.unique(s)]
        diffs = [(far - (1 - tar), far, 1 - tar) for far, tar in pts]
        lo = max((d for d in diffs if d[0] <= 0), key=lambda d: d[0])
        hi = min((d for d in diffs if d[0] >= 0), key=lambda d: d[0])
        assert min(lo[1], hi[1]) - 1e-12 <= e <= max(lo[2], hi[2]) + 1e-12


def test_tar_at_far_with_ties():
    # 10 impostors: 0.9 (x1), 0.8 (x2 tied), the rest low. Genuine: 0.95, 0.85, 0.8, 0.5.
    imp = [0.9, 0.8, 0.8] + [0.1] * 7
    gen = [0.95, 0.85, 0.8, 0.5]
    s = gen + imp
    y = [True] * 4 + [False] * 10
    r = {t.far: t for t in tar_at_far(s, y, fars=(0.1, 0.2, 0.3, 0.05))}
    # FAR <= 0.1: only the 0.9 impostor may pass; the lowest such threshold is 0.85 (TAR 2/4).
    assert r[0.1].threshold == pytest.approx(0.85) and r[0.1].tar == pytest.approx(0.5)
    assert r[0.1].far_actual == pytest.approx(0.1)
    # FAR <= 0.2: the tied 0.8 impostors would make it 0.3 together -> still 0.85, FAR 0.1.
    assert r[0.2].threshold == pytest.approx(0.85) and r[0.2].far_actual == pytest.approx(0.1)
    # FAR <= 0.3: the ties pass together; going down to 0.5 adds no impostor -> TAR 1.
    assert r[0.3].threshold == pytest.approx(0.5) and r[0.3].tar == pytest.approx(1.0)
    assert r[0.3].far_actual == pytest.approx(0.3)
    # 0.05 needs 20 impostors: NaN with a reason.
    assert math.isnan(r[0.05].tar) and "needs at least 20" in r[0.05].reason
    assert "only 10 impostor pairs" in r[0.05].reason


def test_tar_at_far_when_top_score_is_impostor():
    s = [0.99] + [0.5] * 9 + [0.9, 0.4]
    y = [False] * 10 + [True, True]
    (r,) = tar_at_far(s, y, fars=(0.01,))
    assert math.isnan(r.tar)  # 10 impostors < 100
    (r,) = tar_at_far(s, y, fars=(0.1,))
    # The 0.99 impostor is the allowed 1 in 10; the lowest threshold keeping it so is 0.9.
    assert r.tar == pytest.approx(0.5) and r.threshold == pytest.approx(0.9)
    # FAR 0 impossible to beat below 1/10 resolution: FAR=0.1 with top impostor accepted exactly.
    s2 = [0.99, 0.98] + [0.5] * 8 + [0.9, 0.4]
    (r,) = tar_at_far(s2, y, fars=(0.1,))
    assert r.threshold == pytest.approx(0.99) and r.tar == 0.0 and r.far_actual == pytest.approx(0.1)


def test_tar_at_far_brute_force(brute_rates, random_set):
    s, y = random_set(7, n_gen=40, n_imp=200, ties=True)
    for t in tar_at_far(s, y, fars=(0.1, 0.05, 0.01)):
        far, tar = brute_rates(s, y, t.threshold)
        assert far <= t.far + 1e-12 and tar == pytest.approx(t.tar)
        lower = np.unique(s)[np.unique(s) < t.threshold]
        if lower.size:  # the next lower distinct threshold breaks the FAR target
            assert brute_rates(s, y, lower[-1])[0] > t.far


def test_far_key():
    assert [far_key(x) for x in (0.1, 0.01, 1e-3, 1e-4)] == ["1e-1", "1e-2", "1e-3", "1e-4"]


def test_eer_from_curve_by_hand():
    # (threshold, FAR, TPR): FAR - FRR = -1, -0.5, 0.25, 1: crosses between the 2nd and 3rd point,
    # 2/3 of the way (0.5 / 0.75): FAR = 0.1 + 2/3 * 0.4, threshold = 0.6 - 2/3 * 0.2.
    fpr = [0.0, 0.1, 0.5, 1.0]
    tpr = [0.0, 0.4, 0.75, 1.0]
    thr = [0.9, 0.6, 0.4, 0.1]
    e, t = eer_from_curve(fpr, tpr, thr)
    assert e == pytest.approx(0.1 + 2 / 3 * 0.4) and t == pytest.approx(0.6 - 2 / 3 * 0.2)
    # An operating point with FAR == FRR is returned as it is.
    assert eer_from_curve([0.0, 0.25, 1.0], [0.0, 0.75, 1.0], [0.9, 0.5, 0.1]) == (0.25, 0.5)


def test_eer_is_eer_from_curve_of_the_exact_points(random_set):
    for seed in range(3):
        s, y = random_set(seed, ties=seed == 1)
        ss, yy = np.asarray(s, float), np.asarray(y, bool)
        assert eer(s, y) == eer_from_curve(*roc_points(ss, yy))
