"""facelab.analysis.protocol: the LFW protocol against choosing the threshold on the test pairs."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.protocol import bias_vs_pairs, protocol_bias


@pytest.fixture(scope="module")
def protocol_scores():
    rng = np.random.default_rng(1)
    folds = np.repeat(np.arange(10), 60)
    same = np.tile(np.repeat([True, False], 30), 10)
    scores = np.where(same, rng.normal(0.6, 0.15, same.size), rng.normal(0.2, 0.15, same.size))
    return scores, same, folds


def test_protocol_bias_definitions(protocol_scores):
    from facelab import verification as V

    s, y, f = protocol_scores
    b = protocol_bias(s, y, f)
    np.testing.assert_allclose(b.kfold, V.kfold_accuracy(s, y, f).accuracies)
    # Equal folds: the mean over folds at the all-pairs threshold is the best accuracy over all pairs.
    assert b.all_pairs.mean() == pytest.approx(V.best_accuracy_threshold(s, y)[1])
    assert (b.oracle >= b.kfold).all() and (b.oracle >= b.all_pairs).all()
    assert b.bias >= 0 and b.oracle_bias > b.bias
    assert b.summary()["n_pairs"] == 600


def test_bias_shrinks_as_folds_grow(protocol_scores):
    s, y, f = protocol_scores
    t = bias_vs_pairs(s, y, f, pairs_per_fold=[6, 60], repeats=15)
    small, large = t.set_index("pairs_per_fold").loc[6], t.set_index("pairs_per_fold").loc[60]
    assert small.oracle_bias > large.oracle_bias > 0
    assert small.bias > large.bias
