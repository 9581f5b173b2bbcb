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
