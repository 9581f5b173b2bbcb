"""Clustering faces: the k-NN graph, the three algorithms, sizes and confidence, and an embedding run's faces."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.clustering import (
    ALGORITHMS,
    average_linkage,
    cluster_confidence,
    cluster_faces,
    knn_graph,
    relabel_by_size,
)
from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.core.errors import EvaluationError


def _blobs(sizes, dim=16, spread=0.15, seed=0):
    """Unit vectors around well-separated random centres (cosine between centres near 0)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dim))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    e = centres[labels] / np.linalg.norm(centres[labels], axis=1, keepdims=True) + spread * rng.normal(size=(labels.size, dim)) / np.sqrt(dim)
    return e / np.linalg.norm(e, axis=1, keepdims=True), labels


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_finds_separated_groups(algorithm):
    from facelab.analysis.cluster_scores import score_clusters

    e, truth = _blobs([30, 20, 12, 6])
    threshold = None if algorithm == "hdbscan" else 0.7
    c = cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm=algorithm, threshold=threshold, k=10)
    s = score_clusters(truth, c.labels)
    assert s.bcubed_f > 0.97 and c.n_clusters == 4
    assert c.sizes.tolist() == sorted(c.sizes.tolist(), reverse=True)  # numbered largest first
    assert set(c.seconds) == {"knn", "cluster", "confidence"} and c.k == 10
    again = cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm=algorithm, threshold=threshold, k=10)
    np.testing.assert_array_equal(again.labels, c.labels)  # deterministic
    assert c.algorithm in c.summary() and c.to_dict()["n_clusters"] == 4


def test_a_strict_threshold_splits_and_a_loose_one_merges():
    e, _ = _blobs([30, 30], spread=0.6)
    nn = knn_graph(e, k=59)  # every pair: a loose threshold can join what the graph joins
    for algorithm in ("chinese_whispers", "agglomerative"):
        loose = cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm=algorithm, threshold=-0.5, neighbours=nn)
        strict = cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm=algorithm, threshold=0.999, neighbours=nn)
        assert loose.n_clusters == 1 and loose.n_unclustered == 0
        assert strict.n_clusters == 0 and strict.n_unclustered == 60  # nobody that close: all alone


def test_average_linkage_is_scipys_when_the_graph_holds_every_pair():
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist
    from sklearn.metrics import adjusted_rand_score

    e, _ = _blobs([40, 30, 30, 20], spread=0.9, seed=3)
    nn = knn_graph(e, k=len(e) - 1)
    tree = linkage(pdist(e, "cosine"), "average")
    for t in (0.3, 0.5, 0.7):
        mine = average_linkage(e, nn, t)
        want = fcluster(tree, 1 - t, "distance")
        assert adjusted_rand_score(want, mine) == 1.0 and len(set(mine)) == len(set(want))


def test_relabel_by_size_and_min_size():
    assert relabel_by_size([5, 5, 9, 9, 9, 2, -1, 7]).tolist() == [1, 1, 0, 0, 0, 2, -1, 3]
    assert relabel_by_size([5, 5, 9, 9, 9, 2, -1, 7], min_size=2).tolist() == [1, 1, 0, 0, 0, -1, -1, -1]
    assert relabel_by_size([-1, -1]).tolist() == [-1, -1]
    e, _ = _blobs([10, 10, 1, 1])
    c = cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm="chinese_whispers", threshold=0.7, min_size=3, k=5)
    assert c.n_clusters == 2 and c.n_unclustered == 2 and c.sizes.tolist() == [10, 10]


def test_confidence_is_the_calibrated_score_with_the_rest_of_the_cluster():
    e, truth = _blobs([5, 5])
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, -1])
    conf = cluster_confidence(e, labels, REFERENCE_CALIBRATION)
    rest = e[1:5].sum(axis=0)
    want = REFERENCE_CALIBRATION.score_for_cosine(e[0] @ rest / np.linalg.norm(rest))
    assert conf[0] == pytest.approx(want) and np.isnan(conf[9]) and ((conf[:9] > 0) & (conf[:9] < 1)).all()
    # A face of another person put in a cluster is less sure than the cluster's own faces.
    labels[9] = 0
    labels[5] = 0
    conf = cluster_confidence(e, labels, REFERENCE_CALIBRATION)
    assert conf[5] < conf[:5].min()


def test_hdbscan_leaves_one_persons_faces_unclustered_and_says_so():
    e, _ = _blobs([12, 1], seed=2)
    c = cluster_faces(e[:12], calibration=REFERENCE_CALIBRATION, algorithm="hdbscan", k=5)
    assert c.n_clusters == 0 and c.n_unclustered == 12
    two = cluster_faces(e[:2], calibration=REFERENCE_CALIBRATION, algorithm="hdbscan")  # k and min_samples shrink to fit
    assert two.k == 1 and two.params["min_samples"] == 1
    cw = cluster_faces(e[:12], calibration=REFERENCE_CALIBRATION, algorithm="chinese_whispers", threshold=0.7, k=5)
    assert cw.n_clusters == 1


def test_bad_requests_are_refused():
    e, _ = _blobs([5, 5])
    with pytest.raises(EvaluationError, match="at least 2 faces, got 1"):
        cluster_faces(e[:1], calibration=REFERENCE_CALIBRATION)
    with pytest.raises(EvaluationError, match="unknown clustering algorithm 'kmeans'"):
        cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm="kmeans")
    with pytest.raises(EvaluationError, match="HDBSCAN takes no threshold"):
        cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm="hdbscan", threshold=0.5)
    with pytest.raises(EvaluationError, match="min_size must be at least 2 for hdbscan"):
        cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm="hdbscan", min_size=1)
    with pytest.raises(EvaluationError, match="cosine threshold must be in"):
        cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm="agglomerative", threshold=1.5)
    with pytest.raises(EvaluationError, match="min_samples"):
        cluster_faces(e, calibration=REFERENCE_CALIBRATION, algorithm="hdbscan", min_samples=6, k=3)
