"""facelab.verification.comparison against brute-force values on small sets."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from facelab.core.errors import EvaluationError
from facelab.verification.bootstrap import identity_resample
from facelab.verification.comparison import fit_fusion, mcnemar, paired_bootstrap


def _small_set(seed=0, n_ids=6):
    """Pairs among ``n_ids`` people: every genuine pair of 3 photos each, every impostor pair of first photos."""
    rng = np.random.default_rng(seed)
    id1, id2, same = [], [], []
    for p in range(n_ids):
        for _ in range(3):
            id1.append(p), id2.append(p), same.append(True)
    for p, q in itertools.combinations(range(n_ids), 2):
        id1.append(p), id2.append(q), same.append(False)
    y = np.array(same)
    a = np.where(y, 0.6, 0.3) + rng.normal(0, 0.15, y.size)  # model A: better separated
    b = np.where(y, 0.55, 0.35) + rng.normal(0, 0.2, y.size)
    return a, b, y, np.array(id1), np.array(id2)


def _auc_brute(s, y):
    g, im = s[y], s[~y]
    return float(np.mean([1.0 if x > z else 0.5 if x == z else 0.0 for x in g for z in im]))


def _eer_brute(s, y):
    # Scan every threshold; FAR and FRR cross between two operating points: interpolate as the
    # library does (linear between the bracketing points of the ROC).
    ts = np.concatenate([np.unique(s)[::-1]])
    far = [0.0] + [float(np.mean(s[~y] >= t)) for t in ts]
    frr = [1.0] + [float(np.mean(s[y] < t)) for t in ts]
    for k in range(1, len(far)):
        d0, d1 = far[k - 1] - frr[k - 1], far[k] - frr[k]
        if d1 >= 0:
            if d1 == 0:
                return far[k]
            w = d0 / (d0 - d1)
            return far[k - 1] + w * (far[k] - far[k - 1])
    return math.nan


def _tar_brute(s, y, far):
    best = 0.0
    for t in np.unique(s):
        if np.mean(s[~y] >= t) <= far + 1e-12:
            best = max(best, float(np.mean(s[y] >= t)))
    return best


def test_paired_bootstrap_equals_brute_force():
    a, b, y, id1, id2 = _small_set()
    res = paired_bootstrap(a, b, y, id1, id2, metrics=("auc", "eer", "tar@0.1"), n_boot=60, seed=3)
    rng = np.random.default_rng(3)
    diffs = {"auc": [], "eer": [], "tar@0.1": []}
    for _ in range(60):
        idx = identity_resample(id1, id2, rng)  # the same resample for both models
        ys = y[idx]
        if idx.size == 0 or ys.all() or not ys.any():
            continue
        diffs["auc"].append(_auc_brute(a[idx], ys) - _auc_brute(b[idx], ys))
        diffs["eer"].append(_eer_brute(a[idx], ys) - _eer_brute(b[idx], ys))
        if (~ys).sum() >= 10:  # FAR 0.1 needs at least 10 impostor pairs
            diffs["tar@0.1"].append(_tar_brute(a[idx], ys, 0.1) - _tar_brute(b[idx], ys, 0.1))
    for m, d in diffs.items():
        r = res[m]
        assert r.n_valid == len(d), m
        lo, hi = np.quantile(d, [0.025, 0.975])
        assert r.low == pytest.approx(lo, abs=1e-12) and r.high == pytest.approx(hi, abs=1e-12), m
    assert res["auc"].a == pytest.approx(_auc_brute(a, y)) and res["auc"].b == pytest.approx(_auc_brute(b, y))
    assert res["auc"].difference == pytest.approx(res["auc"].a - res["auc"].b)
    assert res["eer"].a == pytest.approx(_eer_brute(a, y))


def test_paired_interval_is_narrower_than_unpaired_for_correlated_models():
    """Pairing matters: two models sharing most of their noise differ by far less than either varies."""
    a, _, y, id1, id2 = _small_set(seed=1, n_ids=10)
    b = a + np.random.default_rng(5).normal(0, 0.02, a.size)
    res = paired_bootstrap(a, b, y, id1, id2, metrics=("auc",), n_boot=200, seed=0)["auc"]
    from facelab.verification import bootstrap_ci

    single = bootstrap_ci(a, y, id1, id2, metric="auc", n_boot=200, seed=0)
    assert (res.high - res.low) < 0.5 * (single.high - single.low)
    assert res.low <= 0 <= res.high and not res.excludes_zero


def test_identical_models_differ_by_zero():
    a, _, y, id1, id2 = _small_set()
    res = paired_bootstrap(a, a.copy(), y, id1, id2, n_boot=30, seed=0)
    for r in res.values():
        if r.n_valid:
            assert r.low == r.high == 0.0 and r.difference == 0.0


def _binom_two_sided(k, n):
    # Exact two-sided binomial p at p = 1/2: twice the smaller tail, capped at 1.
    tail = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


def test_mcnemar_equals_brute_force():
    a, b, y, _, _ = _small_set(seed=2, n_ids=8)
    r = mcnemar(a, b, y, threshold_a=0.45, threshold_b=0.45)
    ra = [(s >= 0.45) == t for s, t in zip(a, y)]
    rb = [(s >= 0.45) == t for s, t in zip(b, y)]
    n10 = sum(x and not z for x, z in zip(ra, rb))
    n01 = sum(z and not x for x, z in zip(ra, rb))
    assert (r.a_only_right, r.b_only_right) == (n10, n01)
    assert r.both_right + r.both_wrong + n10 + n01 == y.size
    assert r.p_value == pytest.approx(_binom_two_sided(n10, n10 + n01), rel=1e-9)
    chi = (abs(n10 - n01) - 1) ** 2 / (n10 + n01)
    assert r.statistic == pytest.approx(chi)
    assert r.p_value_chi2 == pytest.approx(math.erfc(math.sqrt(chi / 2)), rel=1e-9)  # chi2(1) survival
    assert r.accuracy_a == pytest.approx(np.mean(ra))


def test_mcnemar_default_thresholds_are_each_models_best():
    from facelab.verification import best_accuracy_threshold

    a, b, y, _, _ = _small_set(seed=4)
    r = mcnemar(a, b, y)
    assert r.threshold_a == best_accuracy_threshold(a, y)[0] and r.threshold_b == best_accuracy_threshold(b, y)[0]
    same = mcnemar(a, a, y)
    assert same.n_discordant == 0 and same.p_value == 1.0
    with pytest.raises(EvaluationError, match="different lengths"):
        mcnemar(a, b[:-1], y)


def test_fusion_fitted_on_train_applied_to_test():
    rng = np.random.default_rng(0)

    def draw(n):
        y = rng.random(n) < 0.5
        # Two models with independent errors: their combination separates better than either.
        la = np.where(y, 1.0, -1.0) + rng.normal(0, 1.2, n)
        lb = np.where(y, 1.0, -1.0) + rng.normal(0, 1.2, n)
        return {"a": 1 / (1 + np.exp(-la)), "b": 1 / (1 + np.exp(-lb))}, y

    train, ytr = draw(2000)
    test, yte = draw(2000)
    fusion = fit_fusion(train, ytr, source="train")
    assert fusion.models == ["a", "b"] and fusion.n_train == 2000
    assert all(c > 0 for c in fusion.coef)
    from sklearn.metrics import roc_auc_score

    fused = fusion.predict_proba(test)
    assert roc_auc_score(yte, fused) > max(roc_auc_score(yte, test["a"]), roc_auc_score(yte, test["b"])) + 0.01
    # By hand: sigmoid(intercept + coef . logit(scores)).
    z = fusion.intercept + sum(c * np.log(test[m] / (1 - test[m])) for m, c in zip(fusion.models, fusion.coef))
    np.testing.assert_allclose(fused, 1 / (1 + np.exp(-z)), rtol=1e-6)
    with pytest.raises(EvaluationError, match="needs the calibrated scores of b"):
        fusion.predict_proba({"a": test["a"]})
    with pytest.raises(EvaluationError, match="at least two models"):
        fit_fusion({"a": train["a"]}, ytr)


def test_fold_difference_is_the_paired_t_interval_of_the_fold_accuracies():
    from scipy.stats import t as student_t

    from facelab.verification.comparison import fold_difference

    a = np.array([0.99, 0.985, 0.995, 0.99, 0.98])
    b = np.array([0.985, 0.985, 0.99, 0.98, 0.975])
    d = fold_difference(a, b)
    diff = a - b
    half = student_t.ppf(0.975, 4) * diff.std(ddof=1) / np.sqrt(5)
    assert d.per_fold == pytest.approx(list(diff)) and d.n_folds == 5 and d.level == 0.95
    assert d.mean == pytest.approx(diff.mean()) and d.std == pytest.approx(diff.std(ddof=1))
    assert (d.t_low, d.t_high) == (pytest.approx(diff.mean() - half), pytest.approx(diff.mean() + half))
    assert d.t_low > 0  # model a is better on every fold but one: the interval excludes 0
    assert set(d.to_dict()) == {"per_fold", "mean", "std", "n_folds", "level", "t_low", "t_high"}
    one = fold_difference([0.9], [0.8])
    assert one.mean == pytest.approx(0.1) and np.isnan(one.std) and np.isnan(one.t_low)
