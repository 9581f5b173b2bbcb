"""Verification metrics checked against hand-worked values and brute force."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from facelab.calibration import REFERENCE_CALIBRATION
from facelab.errors import EvaluationError
from facelab import verification as V


# ------------------------------------------------------------------ helpers


def brute_rates(s, y, t):
    """(FAR, TAR) accepting score >= t, by counting."""
    g = [x for x, same in zip(s, y) if same]
    im = [x for x, same in zip(s, y) if not same]
    return sum(x >= t for x in im) / len(im), sum(x >= t for x in g) / len(g)


def brute_auc(s, y):
    g = [x for x, same in zip(s, y) if same]
    im = [x for x, same in zip(s, y) if not same]
    tot = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in g for b in im)
    return tot / (len(g) * len(im))


def random_set(seed, n_gen=30, n_imp=50, ties=False):
    rng = np.random.default_rng(seed)
    g = rng.normal(0.6, 0.15, n_gen)
    im = rng.normal(0.2, 0.15, n_imp)
    s = np.concatenate([g, im])
    if ties:
        s = np.round(s, 1)
    y = np.concatenate([np.ones(n_gen, bool), np.zeros(n_imp, bool)])
    return s, y


# ------------------------------------------------------------------ pairs


def test_genuine_and_impostor_pairs_enumerate_everything():
    ids = ["a", "b", "a", "c", "b", "a"]
    gi, gj = V.genuine_pairs(ids)
    expect_g = sorted((i, j) for i, j in itertools.combinations(range(6), 2) if ids[i] == ids[j])
    assert list(zip(gi.tolist(), gj.tolist())) == expect_g
    ii, ij = V.impostor_pairs(ids)
    expect_i = sorted((i, j) for i, j in itertools.combinations(range(6), 2) if ids[i] != ids[j])
    assert sorted(zip(ii.tolist(), ij.tolist())) == expect_i


def test_impostor_sample_is_seeded_capped_and_valid():
    ids = np.repeat(np.arange(30), 4)
    a = V.impostor_pairs(ids, max_pairs=200, seed=3)
    b = V.impostor_pairs(ids, max_pairs=200, seed=3)
    c = V.impostor_pairs(ids, max_pairs=200, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not (np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1]))
    i, j = a
    assert i.size == 200 and (i < j).all() and (ids[i] != ids[j]).all()
    assert len(set(zip(i.tolist(), j.tolist()))) == 200  # no repeats
    # A cap above half of the pairs samples the full list.
    i2, j2 = V.impostor_pairs(ids[:12], max_pairs=40, seed=0)
    assert i2.size == 40 and (ids[:12][i2] != ids[:12][j2]).all() and len(set(zip(i2.tolist(), j2.tolist()))) == 40
    # A cap above the total gives all of them.
    assert V.impostor_pairs(ids[:8], max_pairs=10_000)[0].size == 16


def test_make_pairs_counts_and_order():
    ids = np.repeat(["x", "y", "z"], [3, 2, 1])
    p = V.make_pairs(ids)
    assert p.n_genuine == 3 + 1
    assert p.n_impostor == p.n_impostor_total == 15 - 4
    assert p.same[: p.n_genuine].all() and not p.same[p.n_genuine:].any()
    p2 = V.make_pairs(ids, max_impostors=5, seed=1)
    assert p2.n_impostor == 5 and p2.n_impostor_total == 11


@pytest.mark.parametrize(
    "ids, match",
    [
        (["a", "a", "a"], "only one identity"),
        (["a", "b", "c"], "no identity among 3 has two images"),
        ([], "no images"),
    ],
)
def test_make_pairs_degenerate_sets_raise_clear_errors(ids, match):
    with pytest.raises(EvaluationError, match=match):
        V.make_pairs(ids)


def test_pair_scores_and_distances_match_direct_computation():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(7, 5))
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    p = V.make_pairs([0, 0, 1, 1, 2, 2, 2])
    s = V.pair_scores(e, p, chunk_size=3)
    assert np.allclose(s, [u[i] @ u[j] for i, j in zip(p.i, p.j)])
    d = V.squared_distances(e, p)
    assert np.allclose(d, [np.sum((u[i] - u[j]) ** 2) for i, j in zip(p.i, p.j)])


def test_all_pair_scores_chunked_equals_dense():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(11, 4))
    ids = [0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 4]
    s, y, i, j = V.all_pair_scores(e, ids, chunk_size=3)
    assert s.size == 55
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert np.allclose(s, np.einsum("ij,ij->i", u[i], u[j]))
    assert np.array_equal(y, np.asarray(ids)[i] == np.asarray(ids)[j])
    assert set(zip(i.tolist(), j.tolist())) == set(itertools.combinations(range(11), 2))


# ------------------------------------------------------------------ LFW protocol


def _lfw_table():
    return pd.DataFrame({
        "fold": [0, 0, 1, 1],
        "same": [True, False, True, False],
        "name1": ["A", "A", "B", "B"],
        "name2": ["A", "C", "B", "A"],
        "image_id1": ["A_0001", "A_0001", "B_0001", "B_0002"],
        "image_id2": ["A_0002", "C_0001", "B_0002", "A_0002"],
    })


def test_lfw_pair_scores_missing_worst_and_drop():
    e = np.array([[1.0, 0], [1.0, 0.1], [0, 1.0], [0.6, 0.8]])
    rows = {"A_0001": 0, "A_0002": 1, "C_0001": 2, "B_0001": 3}  # B_0002 has no embedding
    worst = V.lfw_pair_scores(_lfw_table(), e, rows)
    assert worst.scores.size == 4
    assert worst.scores[2] == V.WORST_SCORE and worst.scores[3] == V.WORST_SCORE
    assert worst.missing_images == ["B_0002"]
    assert list(worst.missing["pair"]) == [2, 3]
    summ = worst.summary()
    assert summ["count"] == 1 and summ["pairs_affected"] == 2 and summ["genuine_pairs_affected"] == 1
    assert summ["policy"] == "worst" and summ["pairs_evaluated"] == 4
    json.dumps(summ)
    dropped = V.lfw_pair_scores(_lfw_table(), e, rows, missing="drop")
    assert dropped.scores.size == 2 and dropped.summary()["pairs_evaluated"] == 2
    assert list(dropped.folds) == [0, 0]
    assert np.isclose(dropped.scores[1], 0.0)  # (1,0) vs (0,1)
    with pytest.raises(ValueError):
        V.lfw_pair_scores(_lfw_table(), e, rows, missing="ignore")


# ------------------------------------------------------------------ ROC, AUC, DET


@pytest.mark.parametrize("ties", [False, True])
def test_roc_matches_brute_force_counting(ties):
    s, y = random_set(0, ties=ties)
    r = V.roc(s, y)
    assert r.auc == pytest.approx(brute_auc(s, y))
    for fpr, tpr, t in zip(r.fpr[1:], r.tpr[1:], r.thresholds[1:]):
        assert (fpr, tpr) == pytest.approx(brute_rates(s, y, t))
    assert r.fpr[0] == 0 and r.tpr[0] == 0 and r.fpr[-1] == 1 and r.tpr[-1] == 1


def test_det_is_fpr_and_miss_rate():
    s, y = random_set(1)
    d = V.det(s, y)
    for fpr, fnr, t in zip(d.fpr, d.fnr, d.thresholds):
        far, tar = brute_rates(s, y, t)
        assert fpr == pytest.approx(far) and fnr == pytest.approx(1 - tar)


def test_metrics_refuse_one_class():
    with pytest.raises(EvaluationError, match="no impostor"):
        V.roc([0.1, 0.2], [True, True])
    with pytest.raises(EvaluationError, match="no genuine"):
        V.eer([0.1, 0.2], [False, False])
    with pytest.raises(EvaluationError, match="2 scores but 3"):
        V.roc([0.1, 0.2], [True, False, True])
    with pytest.raises(EvaluationError, match="NaN"):
        V.roc([0.1, np.nan], [True, False])


# ------------------------------------------------------------------ EER


def test_eer_exact_at_an_operating_point():
    # At t = 0.65: impostor 0.65 accepted (FAR 1/4), genuine 0.6 rejected (FRR 1/4).
    s = [0.6, 0.7, 0.8, 0.9, 0.1, 0.2, 0.3, 0.65]
    y = [True] * 4 + [False] * 4
    e, t = V.eer(s, y)
    assert e == pytest.approx(0.25) and t == pytest.approx(0.65)


def test_eer_interpolated_between_points():
    # Points (threshold, FAR, FRR): (0.8, 0, 1/3), (0.75, 1/2, 1/3): FAR - FRR goes from
    # -1/3 to +1/6, crossing at 2/3 of the way: EER = 1/3, threshold 0.8 - 2/3 * 0.05.
    s = [0.9, 0.8, 0.7, 0.75, 0.1]
    y = [True, True, True, False, False]
    e, t = V.eer(s, y)
    assert e == pytest.approx(1 / 3) and t == pytest.approx(0.8 - 0.05 * 2 / 3)


def test_eer_perfect_and_inverted_separation():
    e, t = V.eer([0.9, 0.8, 0.2, 0.1], [True, True, False, False])
    assert e == 0.0 and 0.2 < t <= 0.8
    e, _ = V.eer([0.1, 0.2, 0.8, 0.9], [True, True, False, False])
    assert e == pytest.approx(1.0)


def test_eer_brute_force_bracket():
    for seed in range(5):
        s, y = random_set(seed, ties=seed % 2 == 1)
        e, t = V.eer(s, y)
        # The EER lies between FAR and FRR at the operating points bracketing t.
        pts = [brute_rates(s, y, x) for x in np.unique(s)]
        diffs = [(far - (1 - tar), far, 1 - tar) for far, tar in pts]
        lo = max((d for d in diffs if d[0] <= 0), key=lambda d: d[0])
        hi = min((d for d in diffs if d[0] >= 0), key=lambda d: d[0])
        assert min(lo[1], hi[1]) - 1e-12 <= e <= max(lo[2], hi[2]) + 1e-12


# ------------------------------------------------------------------ TAR @ FAR


def test_tar_at_far_with_ties():
    # 10 impostors: 0.9 (x1), 0.8 (x2 tied), the rest low. Genuine: 0.95, 0.85, 0.8, 0.5.
    imp = [0.9, 0.8, 0.8] + [0.1] * 7
    gen = [0.95, 0.85, 0.8, 0.5]
    s = gen + imp
    y = [True] * 4 + [False] * 10
    r = {t.far: t for t in V.tar_at_far(s, y, fars=(0.1, 0.2, 0.3, 0.05))}
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
    (r,) = V.tar_at_far(s, y, fars=(0.01,))
    assert math.isnan(r.tar)  # 10 impostors < 100
    (r,) = V.tar_at_far(s, y, fars=(0.1,))
    # The 0.99 impostor is the allowed 1 in 10; the lowest threshold keeping it so is 0.9.
    assert r.tar == pytest.approx(0.5) and r.threshold == pytest.approx(0.9)
    # FAR 0 impossible to beat below 1/10 resolution: FAR=0.1 with top impostor accepted exactly.
    s2 = [0.99, 0.98] + [0.5] * 8 + [0.9, 0.4]
    (r,) = V.tar_at_far(s2, y, fars=(0.1,))
    assert r.threshold == pytest.approx(0.99) and r.tar == 0.0 and r.far_actual == pytest.approx(0.1)


def test_tar_at_far_brute_force():
    s, y = random_set(7, n_gen=40, n_imp=200, ties=True)
    for t in V.tar_at_far(s, y, fars=(0.1, 0.05, 0.01)):
        far, tar = brute_rates(s, y, t.threshold)
        assert far <= t.far + 1e-12 and tar == pytest.approx(t.tar)
        lower = np.unique(s)[np.unique(s) < t.threshold]
        if lower.size:  # the next lower distinct threshold breaks the FAR target
            assert brute_rates(s, y, lower[-1])[0] > t.far


# ------------------------------------------------------------------ thresholds


def test_best_accuracy_threshold_midpoint_between_distinct_scores():
    s = [0.9, 0.8, 0.8, 0.3, 0.2]
    y = [True, True, True, False, False]
    t, acc = V.best_accuracy_threshold(s, y)
    assert acc == 1.0 and t == pytest.approx(0.55)


def test_best_accuracy_threshold_never_splits_ties():
    # A tie of a genuine and an impostor at 0.5: both on the same side of any threshold.
    s = [0.9, 0.5, 0.5, 0.1]
    y = [True, True, False, False]
    t, acc = V.best_accuracy_threshold(s, y)
    assert acc == pytest.approx(0.75)
    assert t not in (0.5,)
    # Both 0.3 (accept 0.9, 0.5, 0.5) and 0.7 (accept 0.9) give 3/4: the lower middle is chosen.
    assert t == pytest.approx(0.3)


def test_best_accuracy_threshold_brute_force():
    for seed in range(4):
        s, y = random_set(seed, ties=True)
        t, acc = V.best_accuracy_threshold(s, y)
        brute = max(np.mean((s >= c) == y) for c in np.concatenate([np.unique(s), [np.inf]]))
        assert acc == pytest.approx(brute) and np.mean((s >= t) == y) == pytest.approx(acc)


def test_youden_j():
    s = [0.9, 0.8, 0.7, 0.75, 0.1]
    y = [True, True, True, False, False]
    j, t = V.youden_j(s, y)
    # t = 0.8: TPR 2/3, FPR 0; t = 0.7: TPR 1, FPR 1/2 -> J = 2/3 at 0.8.
    assert j == pytest.approx(2 / 3) and t == pytest.approx(0.8)


def test_confusion_at():
    s = [0.9, 0.6, 0.4, 0.7, 0.2, 0.1]
    y = [True, True, True, False, False, False]
    c = V.confusion_at(s, y, 0.5)
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 2, 1)
    assert c.far == pytest.approx(1 / 3) and c.frr == pytest.approx(1 / 3)
    assert c.precision == pytest.approx(2 / 3) and c.recall == pytest.approx(2 / 3)
    assert c.accuracy == pytest.approx(4 / 6)
    c = V.confusion_at(s, y, 0.95)
    assert math.isnan(c.precision) and c.to_dict()["precision"] is None


def test_threshold_sweep_agrees_with_confusion():
    s, y = random_set(3, ties=True)
    sw = V.threshold_sweep(s, y)
    for row in sw.itertuples():
        c = V.confusion_at(s, y, row.threshold)
        assert (row.far, row.frr, row.accuracy) == pytest.approx((c.far, c.frr, c.accuracy))


# ------------------------------------------------------------------ k-fold


def test_kfold_accuracy_on_constructed_folds():
    # Folds 0 and 1 are separable at any threshold in (0.4, 0.6); fold 2 has a genuine pair at 0.45.
    s = np.array([0.7, 0.8, 0.3, 0.2, 0.9, 0.65, 0.1, 0.35, 0.45, 0.7, 0.3, 0.2])
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0], bool)
    f = np.repeat([0, 1, 2], 4)
    r = V.kfold_accuracy(s, y, f)
    # Thresholds: fold 0 trained on folds 1+2 -> best gap midpoint; check by recomputing.
    for k, lab in enumerate([0, 1, 2]):
        t_expect, _ = V.best_accuracy_threshold(s[f != lab], y[f != lab])
        assert r.thresholds[k] == pytest.approx(t_expect)
    # Trained without fold 2, the threshold falls in (0.35, 0.65): 0.5 -> the 0.45 genuine is rejected.
    assert r.thresholds[2] == pytest.approx(0.5)
    assert np.allclose(r.accuracies, [1.0, 1.0, 0.75])
    assert r.mean == pytest.approx(11 / 12) and r.std == pytest.approx(np.std([1, 1, 0.75]))
    assert r.sem == pytest.approx(np.std([1, 1, 0.75], ddof=1) / np.sqrt(3))
    with pytest.raises(EvaluationError, match="two folds"):
        V.kfold_accuracy(s, y, np.zeros(12))


# ------------------------------------------------------------------ bootstrap


def _identity_pairs(n_id=12, seed=0):
    """Each identity: 3 genuine pairs with its own score; impostor pairs between neighbours."""
    rng = np.random.default_rng(seed)
    s, y, a, b = [], [], [], []
    for k in range(n_id):
        sc = 0.5 + 0.4 * rng.random()
        for _ in range(3):
            s.append(sc), y.append(True), a.append(k), b.append(k)
        for m in range(n_id):
            if m != k:
                s.append(0.4 * rng.random()), y.append(False), a.append(k), b.append(m)
    return np.array(s), np.array(y), np.array(a), np.array(b)


def test_bootstrap_is_deterministic_with_seed():
    s, y, a, b = _identity_pairs()
    c1 = V.bootstrap_ci(s, y, a, b, metric="eer", n_boot=50, seed=5)
    c2 = V.bootstrap_ci(s, y, a, b, metric="eer", n_boot=50, seed=5)
    c3 = V.bootstrap_ci(s, y, a, b, metric="auc", n_boot=50, seed=6)
    assert tuple(c1) == tuple(c2)
    low, high, est = c3
    assert low <= high and c3.n_valid == 50


def test_bootstrap_resamples_identities_not_pairs():
    s, y, a, b = _identity_pairs(n_id=8)
    seen = []

    def metric(ss, yy):
        # Genuine scores are unique per identity and each identity has 3 genuine pairs:
        # identity resampling keeps them together, so every count is a multiple of 3.
        _, counts = np.unique(ss[yy], return_counts=True)
        seen.append(counts)
        return float(yy.mean())

    V.bootstrap_ci(s, y, a, b, metric=metric, n_boot=30, seed=0)
    assert len(seen) == 31 and all((c % 3 == 0).all() for c in seen)


def test_identity_resample_multiplicity():
    rng = np.random.default_rng(0)
    id1 = np.array(["a", "a", "b"])
    id2 = np.array(["a", "b", "b"])
    for _ in range(20):
        state = rng.bit_generator.state
        idx = V.identity_resample(id1, id2, rng)
        rng2 = np.random.default_rng()
        rng2.bit_generator.state = state
        draws = rng2.integers(0, 2, size=2)
        c = np.bincount(draws, minlength=2)
        assert np.bincount(idx, minlength=3).tolist() == [c[0], c[0] * c[1], c[1]]


def test_bootstrap_zero_width_when_every_identity_looks_the_same():
    # Every identity has genuine scores {0.5, 0.9}; all impostors score 0.7. TAR at FAR=0.1 is
    # 1/2 for any draw of identities, and so is the EER: the CI collapses to a point.
    s, y, a, b = [], [], [], []
    n_id = 6
    for k in range(n_id):
        for sc in (0.5, 0.9):
            s.append(sc), y.append(True), a.append(k), b.append(k)
    for k, m in itertools.combinations(range(n_id), 2):
        for _ in range(2):
            s.append(0.7), y.append(False), a.append(k), b.append(m)
    cis = V.bootstrap_cis(s, y, a, b, metrics={"tar": "tar@1e-1", "eer": "eer"}, n_boot=100, seed=0)
    assert cis["tar"].low == cis["tar"].high == cis["tar"].estimate == pytest.approx(0.5)
    assert cis["eer"].high - cis["eer"].low == pytest.approx(0.0)
    # Draws with a single distinct identity have no impostor pair and are skipped.
    assert 0 < cis["tar"].n_valid <= 100


def test_bootstrap_unknown_metric():
    with pytest.raises(ValueError, match="unknown metric"):
        V.bootstrap_ci([0.1, 0.9], [False, True], [0, 0], [1, 0], metric="f1")


# ------------------------------------------------------------------ report


def test_evaluate_verification_report_and_table():
    s, y, a, b = _identity_pairs(n_id=15)
    f = np.arange(s.size) % 5
    rep = V.evaluate_verification(s, y, folds=f, id1=a, id2=b, calibration=REFERENCE_CALIBRATION, n_boot=40)
    d = rep.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["auc"] == pytest.approx(brute_auc(s, y))
    assert d["accuracy"] == pytest.approx(V.kfold_accuracy(s, y, f).mean)
    assert d["accuracy_std"] is not None
    assert set(d["tar_at_far"]) == {"1e-1", "1e-2", "1e-3", "1e-4"}
    assert d["tar_at_far"]["1e-4"]["tar"] is None and "needs at least 10000" in d["tar_at_far"]["1e-4"]["reason"]
    th = d["thresholds"]["best_accuracy"]
    assert th["distance"] == pytest.approx(2 - 2 * th["cosine"])
    assert th["score"] == pytest.approx(REFERENCE_CALIBRATION.score(th["distance"]))
    assert set(d["ci"]) >= {"eer", "best_threshold", "tar@1e-1"}
    assert d["ci"]["eer"]["low"] <= d["ci"]["eer"]["high"]
    tab = rep.threshold_table()
    assert list(tab.index[:3]) == ["EER", "best accuracy", "FAR=0.1"]
    assert {"cosine", "distance", "score", "FAR", "FRR", "accuracy", "CI"} <= set(tab.columns)
    row = tab.loc["best accuracy"]
    c = V.confusion_at(s, y, rep.threshold)
    assert row["FAR"] == pytest.approx(c.far) and row["accuracy"] == pytest.approx(c.accuracy)
    assert tab.loc["FAR=0.1", "FAR"] <= 0.1
    ci = rep.cis["eer"]
    assert tab.loc["EER", "CI"] == (ci.low, ci.high) and tab.loc["EER", "CI low"] == ci.low
    assert tab.loc["FAR=0.0001", "CI"] is None and math.isnan(tab.loc["FAR=0.0001", "CI high"])


def test_evaluate_verification_without_folds_or_ids():
    s, y = random_set(2)
    d = V.evaluate_verification(s, y).to_dict()
    assert d["accuracy_std"] is None and d["ci"] == {} and d["thresholds"]["eer"]["score"] is None


def test_far_key():
    assert [V.far_key(x) for x in (0.1, 0.01, 1e-3, 1e-4)] == ["1e-1", "1e-2", "1e-3", "1e-4"]


def test_wrong_side_pairs_and_threshold_view():
    s = [0.9, 0.45, 0.3, 0.6, 0.55, 0.1]
    y = [True, True, True, False, False, False]
    w = V.wrong_side_pairs(s, y, 0.5, labels=[f"p{k}" for k in range(6)])
    assert list(w["pair"]) == [2, 3, 4, 1]  # margins 0.2, 0.1, 0.05, 0.05 (ties by index)
    assert list(w["kind"]) == ["false reject", "false accept", "false accept", "false reject"]
    v = V.threshold_view(s, y, 0.5, labels=[f"p{k}" for k in range(6)], calibration=REFERENCE_CALIBRATION)
    assert v.confusion == V.confusion_at(s, y, 0.5)
    assert v.scales["distance"] == pytest.approx(1.0)
    assert v.scales["score"] == pytest.approx(REFERENCE_CALIBRATION.score(1.0))
    text = v.text(max_rows=2)
    assert "FAR 0.6667  FRR 0.6667" in text and "pairs on the wrong side: 4" in text and "p2" in text
    assert "p1" not in text


# --------------------------------------------------------------------------------------------
# All pairs in bounded memory (histograms)
# --------------------------------------------------------------------------------------------


def _clustered_set(n_ids=30, per_id=6, dim=16, spread=0.9, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, dim))
    ids = np.repeat(np.arange(n_ids), per_id)
    e = centres[ids] + spread * rng.normal(size=(ids.size, dim))
    return e, [f"p{k}" for k in ids]


def test_score_histograms_count_every_pair_once_in_any_chunking():
    e, ids = _clustered_set()
    s, y, _, _ = V.all_pair_scores(e, ids)
    ref = None
    for chunk in (1, 7, 1000):
        g, imp, edges = V.score_histograms(e, ids, bins=64, chunk_size=chunk)
        assert g.sum() == y.sum() and imp.sum() == (~y).sum()
        if ref is None:
            ref = (g, imp)
            # The same counts as binning the exact scores (away from edges float32 cannot move them).
            np.testing.assert_array_equal(g, np.histogram(s[y], bins=edges)[0])
        np.testing.assert_array_equal(g, ref[0])
        np.testing.assert_array_equal(imp, ref[1])


def test_streaming_roc_matches_sklearn_within_bin_tolerance():
    e, ids = _clustered_set()
    s, y, _, _ = V.all_pair_scores(e, ids)
    exact = V.roc(s, y)
    exact_eer, exact_thr = V.eer(s, y)
    bins = 2 ** 16
    r = V.streaming_roc(e, ids, bins=bins, chunk_size=17)
    assert (r.n_genuine, r.n_impostor) == (int(y.sum()), int((~y).sum()))
    assert r.thresholds[0] == np.inf and np.all(np.diff(r.thresholds[1:]) < 0)
    assert r.fpr[-1] == 1.0 and r.tpr[-1] == 1.0
    assert abs(r.auc - exact.auc) < 1e-4
    assert abs(r.eer - exact_eer) < 2e-3
    assert abs(r.eer_threshold - exact_thr) < 0.01
    # Every binned operating point is an exact one: at edge t, the pairs with score >= t.
    for k in (1, len(r.fpr) // 3, len(r.fpr) // 2):
        t = r.thresholds[k]
        assert r.tpr[k] == pytest.approx((s[y] >= t).mean(), abs=2 / y.sum())
        assert r.fpr[k] == pytest.approx((s[~y] >= t).mean(), abs=2 / (~y).sum())
    assert isinstance(r.to_roc(), V.RocResult)
    tar, thr = r.tar_at_far(0.01)
    assert 0 < tar <= 1 and (s[~y] >= thr).mean() <= 0.01 + 2 / (~y).sum()
    coarse = V.streaming_roc(e, ids, bins=256)
    assert abs(coarse.auc - exact.auc) < 0.01


def test_streaming_roc_refuses_one_class():
    with pytest.raises(EvaluationError, match="genuine and impostor"):
        V.streaming_roc(np.eye(3), ["a", "b", "c"])
