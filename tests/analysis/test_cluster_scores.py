"""Cluster scores: pairwise and BCubed precision / recall / F and NMI, against their definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from facelab.analysis.cluster_scores import bcubed_scores, cluster_identities, pairwise_scores, score_clusters
from facelab.core.errors import EvaluationError


def _pairwise_by_definition(t, p):
    same_t = same_p = both = 0
    for i, j in itertools.combinations(range(len(t)), 2):
        st, sp = t[i] == t[j], p[i] == p[j] and p[i] >= 0  # -1: a face alone
        same_t += st
        same_p += sp
        both += st and sp
    return both / same_p, both / same_t


def _bcubed_by_definition(t, p):
    n = len(t)
    p = [x if x >= 0 else -1 - k for k, x in enumerate(p)]  # each -1 a cluster of its own
    prec = np.mean([sum(p[j] == p[i] and t[j] == t[i] for j in range(n)) / sum(p[j] == p[i] for j in range(n))
                    for i in range(n)])
    rec = np.mean([sum(p[j] == p[i] and t[j] == t[i] for j in range(n)) / sum(t[j] == t[i] for j in range(n))
                   for i in range(n)])
    return prec, rec


def test_a_worked_example():
    # Ann: 3 faces, Bob: 2. Cluster 0 holds two Anns, cluster 1 one Ann and both Bobs.
    truth, pred = ["Ann", "Ann", "Ann", "Bob", "Bob"], [0, 0, 1, 1, 1]
    p, r, f = pairwise_scores(truth, pred)
    # Pairs put together: (0,1) Ann-Ann, (2,3), (2,4) mixed, (3,4) Bob-Bob -> 2 of 4 right; same-person pairs: 3 + 1 = 4.
    assert (p, r) == (0.5, 0.5) and f == 0.5
    bp, br, bf = bcubed_scores(truth, pred)
    # Precision per face: 1, 1, 1/3, 2/3, 2/3; recall: 2/3, 2/3, 1/3, 1, 1.
    assert bp == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert br == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)
    assert bf == pytest.approx(2 * bp * br / (bp + br))


def test_scores_equal_their_definitions_on_random_labels():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(5, 40))
        truth = rng.integers(0, 5, n).tolist()
        pred = rng.integers(-1, 6, n).tolist()
        if sum(p >= 0 for p in pred) < 2:
            continue
        p, r, _ = pairwise_scores(truth, pred)
        want = _pairwise_by_definition(truth, pred)
        assert (p, r) == pytest.approx(want)
        assert bcubed_scores(truth, pred)[:2] == pytest.approx(_bcubed_by_definition(truth, pred))


def test_score_clusters_counts_and_nmi():
    from sklearn.metrics import normalized_mutual_info_score

    truth = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    perfect = score_clusters(truth, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    assert perfect.bcubed_f == perfect.pairwise_f == pytest.approx(1.0) and perfect.nmi == pytest.approx(1.0)
    assert (perfect.n_faces, perfect.n_identities, perfect.n_clusters, perfect.n_unclustered) == (10, 3, 3, 0)
    # Leaving c's faces unclustered: precision stays 1, recall drops, the count says so.
    alone = score_clusters(truth, [0, 0, 0, 0, 1, 1, 1, 1, -1, -1])
    assert alone.bcubed_precision == 1 and alone.bcubed_recall == pytest.approx(0.9)
    assert (alone.n_clusters, alone.n_unclustered) == (2, 2)
    assert alone.nmi == pytest.approx(normalized_mutual_info_score(truth, [0, 0, 0, 0, 1, 1, 1, 1, 2, 3]))
    # One cluster for everyone: recall 1, precision what the pairs say.
    one = score_clusters(truth, [0] * 10)
    assert one.bcubed_recall == 1 and one.pairwise_precision == pytest.approx((6 + 6 + 1) / 45)
    assert "BCubed F" in one.describe() and one.to_dict()["n_identities"] == 3
    # No pair put together: pairwise precision is undefined (NaN -> null in JSON), not 0 or 1.
    lonely = score_clusters(truth, [-1] * 10)
    assert np.isnan(lonely.pairwise_precision) and lonely.to_dict()["pairwise_precision"] is None
    assert lonely.bcubed_precision == 1


def test_bad_labels_are_refused():
    with pytest.raises(EvaluationError, match="3 identities but 2 cluster labels"):
        score_clusters(["a", "b", "c"], [0, 1])
    with pytest.raises(EvaluationError, match="no faces"):
        bcubed_scores([], [])


def test_cluster_identities_lists_mixed_clusters_and_split_people():
    truth = ["a", "a", "a", "b", "b", "c"]
    t = cluster_identities(truth, [0, 0, 1, 1, 1, -1])
    assert t.cluster.tolist() == [1, 0] and t["size"].tolist() == [3, 2]  # largest first
    assert t.identity.tolist() == ["b", "a"] and t.share.tolist() == pytest.approx([2 / 3, 1.0])
    assert t.identities.tolist() == [2, 1] and t.split.tolist() == [1, 2]  # a's faces lie in 2 clusters
