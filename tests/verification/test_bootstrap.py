"""Identity-level bootstrap intervals (facelab.verification.bootstrap)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from facelab.verification.bootstrap import bootstrap_ci, bootstrap_cis, identity_resample


def test_bootstrap_is_deterministic_with_seed(identity_pairs):
    s, y, a, b = identity_pairs()
    c1 = bootstrap_ci(s, y, a, b, metric="eer", n_boot=50, seed=5)
    c2 = bootstrap_ci(s, y, a, b, metric="eer", n_boot=50, seed=5)
    c3 = bootstrap_ci(s, y, a, b, metric="auc", n_boot=50, seed=6)
    assert tuple(c1) == tuple(c2)
    low, high, est = c3
    assert low <= high and c3.n_valid == 50


def test_bootstrap_resamples_identities_not_pairs(identity_pairs):
    s, y, a, b = identity_pairs(n_id=8)
    seen = []

    def metric(ss, yy):
        # Genuine scores are unique per identity and each identity has 3 genuine pairs:
        # identity resampling keeps them together, so every count is a multiple of 3.
        _, counts = np.unique(ss[yy], return_counts=True)
        seen.append(counts)
        return float(yy.mean())

    bootstrap_ci(s, y, a, b, metric=metric, n_boot=30, seed=0)
    assert len(seen) == 31 and all((c % 3 == 0).all() for c in seen)


def test_identity_resample_multiplicity():
    rng = np.random.default_rng(0)
    id1 = np.array(["a", "a", "b"])
    id2 = np.array(["a", "b", "b"])
    for _ in range(20):
        state = rng.bit_generator.state
        idx = identity_resample(id1, id2, rng)
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
    cis = bootstrap_cis(s, y, a, b, metrics={"tar": "tar@1e-1", "eer": "eer"}, n_boot=100, seed=0)
    assert cis["tar"].low == cis["tar"].high == cis["tar"].estimate == pytest.approx(0.5)
    assert cis["eer"].high - cis["eer"].low == pytest.approx(0.0)
    # Draws with a single distinct identity have no impostor pair and are skipped.
    assert 0 < cis["tar"].n_valid <= 100


def test_bootstrap_unknown_metric():
    with pytest.raises(ValueError, match="unknown metric"):
        bootstrap_ci([0.1, 0.9], [False, True], [0, 0], [1, 0], metric="f1")


@pytest.fixture(scope="module")
def real_pairs(lfw):
    """Real dlib scores: 5 photos of each of 12 LFW people (every pair), with both identities."""
    import pandas as pd

    from facelab import verification as V
    from facelab.engine.pipeline import embed_images

    names = ["Colin_Powell", "Tony_Blair", "George_W_Bush", "Donald_Rumsfeld", "Gerhard_Schroeder", "Ariel_Sharon",
             "Hugo_Chavez", "Junichiro_Koizumi", "Jean_Chretien", "John_Ashcroft", "Jacques_Chirac", "Serena_Williams"]
    rows = [(f"{n}/{k}", str(lfw.image_path(n, k)), n) for n in names for k in range(1, 6)]
    res = embed_images(pd.DataFrame(rows, columns=["image_id", "path", "identity"]), model="dlib", detector="dlib",
                       progress=False)
    ids = np.asarray(res.identities)
    pairs = V.make_pairs(ids)
    s = V.pair_scores(res.embeddings, pairs)
    id1, id2 = pairs.identities(ids)
    return s, pairs.same, id1, id2


def _resorting_cis(s, y, id1, id2, metrics, *, n_boot, seed=0):
    """The intervals as they were computed before the curves were read from scores sorted once:
    each replicate's repeated copy of the pairs through scikit-learn (roc_curve / roc_auc_score)."""
    from facelab.verification.bootstrap import resolve_metric

    rng = np.random.default_rng(seed)
    fns = {n: resolve_metric(n) for n in metrics}
    vals = {n: [] for n in metrics}
    for _ in range(n_boot):
        idx = identity_resample(id1, id2, rng)
        ys = y[idx]
        if idx.size == 0 or ys.all() or not ys.any():
            continue
        for n, fn in fns.items():
            v = float(fn(s[idx], ys))
            if np.isfinite(v):
                vals[n].append(v)
    return {n: np.quantile(v, [0.025, 0.975]) for n, v in vals.items()}, {n: len(v) for n, v in vals.items()}


def test_sorted_once_intervals_equal_resorting_ones_on_real_scores(real_pairs):
    # The same replicates (same seed) give the same intervals: the weighted curves are the curves of
    # the repeated copies, so they agree far inside the Monte-Carlo error of 200 replicates.
    s, y, id1, id2 = real_pairs
    assert y.sum() == 12 * 10 and (~y).sum() > 1000
    metrics = ["eer", "eer_threshold", "best_threshold", "accuracy", "auc", "tar@1e-2", "tar@1e-3"]
    fast = bootstrap_cis(s, y, id1, id2, metrics={n: n for n in metrics}, n_boot=200, seed=0)
    ref, n_valid = _resorting_cis(s, y, id1, id2, metrics, n_boot=200)
    for n in metrics:
        assert fast[n].n_valid == n_valid[n] > 150, n
        assert fast[n].low == pytest.approx(ref[n][0], abs=1e-12), n
        assert fast[n].high == pytest.approx(ref[n][1], abs=1e-12), n
    # And an interval means something here: dlib on 12 people has EER well inside (0, 0.2).
    assert 0 <= fast["eer"].low < fast["eer"].high < 0.2


def test_paired_bootstrap_sorted_once_equals_resorting(real_pairs):
    from facelab.verification.bootstrap import resolve_metric
    from facelab.verification.comparison import paired_bootstrap

    s, y, id1, id2 = real_pairs
    other = np.clip(s + np.random.default_rng(1).normal(0, 0.05, s.size), -1, 1)  # a noisier second model
    got = paired_bootstrap(s, other, y, id1, id2, n_boot=100, seed=3)
    rng = np.random.default_rng(3)
    diffs = {m: [] for m in got}
    for _ in range(100):
        idx = identity_resample(id1, id2, rng)
        ys = y[idx]
        if idx.size == 0 or ys.all() or not ys.any():
            continue
        for m in got:
            fn = resolve_metric(m)
            a, b = fn(s[idx], ys), fn(other[idx], ys)
            if np.isfinite(a) and np.isfinite(b):
                diffs[m].append(a - b)
    for m, d in got.items():
        lo, hi = np.quantile(diffs[m], [0.025, 0.975])
        assert (d.low, d.high) == pytest.approx((lo, hi), abs=1e-12), m
        assert d.n_valid == len(diffs[m])
    assert got["auc"].difference > 0  # the noisier copy ranks pairs worse
