"""All pairs in bounded memory, from score histograms (facelab.verification.streaming)."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.core.errors import EvaluationError
from facelab.verification.curves import RocResult, eer, eer_from_curve, roc
from facelab.verification.pairs import all_pair_scores
from facelab.verification.streaming import score_histograms, streaming_roc


def _clustered_set(n_ids=30, per_id=6, dim=16, spread=0.9, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, dim))
    ids = np.repeat(np.arange(n_ids), per_id)
    e = centres[ids] + spread * rng.normal(size=(ids.size, dim))
    return e, [f"p{k}" for k in ids]


def test_score_histograms_count_every_pair_once_in_any_chunking():
    e, ids = _clustered_set()
    s, y, _, _ = all_pair_scores(e, ids)
    ref = None
    for chunk in (1, 7, 1000):
        g, imp, edges = score_histograms(e, ids, bins=64, chunk_size=chunk)
        assert g.sum() == y.sum() and imp.sum() == (~y).sum()
        if ref is None:
            ref = (g, imp)
            # The same counts as binning the exact scores (away from edges float32 cannot move them).
            np.testing.assert_array_equal(g, np.histogram(s[y], bins=edges)[0])
        np.testing.assert_array_equal(g, ref[0])
        np.testing.assert_array_equal(imp, ref[1])


def test_streaming_roc_matches_sklearn_within_bin_tolerance():
    e, ids = _clustered_set()
    s, y, _, _ = all_pair_scores(e, ids)
    exact = roc(s, y)
    exact_eer, exact_thr = eer(s, y)
    bins = 2 ** 16
    r = streaming_roc(e, ids, bins=bins, chunk_size=17)
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
    assert isinstance(r.to_roc(), RocResult)
    tar, thr = r.tar_at_far(0.01)
    assert 0 < tar <= 1 and (s[~y] >= thr).mean() <= 0.01 + 2 / (~y).sum()
    coarse = streaming_roc(e, ids, bins=256)
    assert abs(coarse.auc - exact.auc) < 0.01


def test_streaming_roc_refuses_one_class():
    with pytest.raises(EvaluationError, match="genuine and impostor"):
        streaming_roc(np.eye(3), ["a", "b", "c"])


def test_streaming_eer_is_eer_from_curve_of_the_bins():
    # The one EER helper: the binned curve's EER is eer_from_curve of its points, with "accept
    # nothing" at the top edge of the highest non-empty bin.
    e, ids = _clustered_set(n_ids=8, per_id=5)
    r = streaming_roc(e, ids, bins=128)
    top = r.edges[np.flatnonzero(r.genuine_hist + r.impostor_hist)[-1] + 1]
    t = np.concatenate([[top], r.thresholds[1:]])
    assert (r.eer, r.eer_threshold) == eer_from_curve(r.fpr, r.tpr, t)


# The same row blocks as Dask tasks: a real ``dask scheduler`` and two ``dask worker`` processes on
# 127.0.0.1 (the session's ``cluster`` fixture in ``tests/conftest.py``).


def test_all_pairs_roc_on_the_cluster_equals_single_machine(cluster):
    from distributed import Client

    from facelab import verification as V
    from facelab.verification.streaming import streaming_roc_distributed

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 32))
    ids = rng.integers(0, 40, 3000)
    e = centres[ids] + 0.9 * rng.standard_normal((3000, 32))
    local = V.streaming_roc(e, ids, bins=4096, chunk_size=250)
    with Client(cluster.address, timeout=30, set_as_default=False) as client:
        dist = streaming_roc_distributed(e, ids, scheduler=client, bins=4096, chunk_size=250, blocks_per_task=2)
    np.testing.assert_array_equal(dist.genuine_hist, local.genuine_hist)
    np.testing.assert_array_equal(dist.impostor_hist, local.impostor_hist)
    assert dist.n_pairs == 3000 * 2999 // 2
    assert (dist.auc, dist.eer) == (local.auc, local.eer)
    assert 0.8 < local.auc < 1.0
    # The default block size too, with the scheduler given by its address.
    d2 = streaming_roc_distributed(e, ids, scheduler=cluster.address, bins=4096)
    np.testing.assert_array_equal(d2.genuine_hist, V.streaming_roc(e, ids, bins=4096).genuine_hist)
