"""UMAP / PCA / t-SNE maps and the misjudged-pair helper."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.projection import misjudged_pairs, project
from facelab.core.errors import EvaluationError


def two_clusters(n=20, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(2, dim))
    e = np.repeat(c, n, axis=0) + 0.1 * rng.normal(size=(2 * n, dim))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    return e, np.repeat(["a", "b"], n)


def _separated(coords, ids):
    a, b = coords[ids == "a"], coords[ids == "b"]
    between = np.linalg.norm(a.mean(0) - b.mean(0))
    within = max(np.linalg.norm(a - a.mean(0), axis=1).max(), np.linalg.norm(b - b.mean(0), axis=1).max())
    return between > within


def test_umap_separates_two_identities_and_transforms_new_points():
    e, ids = two_clusters()
    p = project(e, method="umap", n_neighbors=10, min_dist=0.1)
    assert p.coords.shape == (40, 2) and p.method == "umap"
    assert p.params["n_neighbors"] == 10 and "UMAP (n_neighbors=10" in p.describe()
    assert _separated(p.coords, ids)
    new = p.transform(e[:3])
    assert new.shape == (3, 2) and np.isfinite(new).all()
    # Same seed, same map.
    assert np.allclose(project(e, method="umap", n_neighbors=10).coords, p.coords)


def test_pca_and_tsne():
    e, ids = two_clusters()
    pca = project(e, method="pca")
    assert _separated(pca.coords, ids) and len(pca.params["explained_variance_ratio"]) == 2
    assert np.allclose(pca.transform(e), pca.coords, atol=1e-4)
    ts = project(e, method="tsne", perplexity=10)
    assert ts.coords.shape == (40, 2) and _separated(ts.coords, ids)
    with pytest.raises(EvaluationError, match="t-SNE cannot"):
        ts.transform(e)


def test_small_sets_cap_neighbours_and_bad_input():
    e, _ = two_clusters(n=3)
    p = project(e, method="umap", n_neighbors=15)
    assert p.params["n_neighbors"] == 5
    with pytest.raises(EvaluationError, match="at least 3"):
        project(e[:2])
    with pytest.raises(ValueError, match="method"):
        project(e, method="mds")


def test_misjudged_pairs():
    e = np.array([[1.0, 0], [0.0, 1], [1.0, 0.05], [0.1, 1]])
    ids = ["a", "a", "b", "b"]
    df = misjudged_pairs(e, ids, 0.5)
    # a0-a1 (cos 0) and b2-b3 (cos ~0.15) are false rejects; a0-b2 and a1-b3 are false accepts.
    got = {(r.i, r.j): r.kind for r in df.itertuples()}
    assert got == {(0, 1): "false reject", (2, 3): "false reject", (0, 2): "false accept", (1, 3): "false accept"}
    # Hardest first: by brute force, every wrong pair sorted by its distance from the threshold.
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    wrong = [(abs(u[i] @ u[j] - 0.5), i, j) for i in range(4) for j in range(i + 1, 4)
             if (ids[i] == ids[j]) != (u[i] @ u[j] >= 0.5)]
    assert [(r.i, r.j) for r in df.itertuples()] == [(i, j) for _, i, j in sorted(wrong, key=lambda w: -w[0])]
    # Margins: a0-a1 0.5 (cos 0), a0-b2 0.4988, a1-b3 0.4950, b2-b3 0.351 (cos 0.149).
    assert [(r.i, r.j) for r in df.itertuples()] == [(0, 1), (0, 2), (1, 3), (2, 3)]
    np.testing.assert_allclose(df["score"], [u[i] @ u[j] for i, j in zip(df.i, df.j)])
    assert len(misjudged_pairs(e, ids, 0.5, max_pairs=2)) == 2


def test_misjudged_pairs_by_blocks_are_all_pairs_judged_at_once():
    from facelab.analysis.projection import find_misjudged_pairs
    from facelab.verification.pairs import all_pair_scores
    from facelab.verification.thresholds import wrong_side_pairs

    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(30), 7).astype(str)
    e = rng.normal(size=(30, 16))[ids.astype(int)] + 0.9 * rng.normal(size=(ids.size, 16))
    s, y, i, j = all_pair_scores(e, ids)
    ref = wrong_side_pairs(s, y, 0.55)
    got = find_misjudged_pairs(e, ids, 0.55, max_pairs=25, chunk_size=32)
    assert got.total == len(ref) > 25 and len(got.pairs) == 25
    k = ref.pair.to_numpy()[:25]
    assert list(zip(got.pairs.i, got.pairs.j)) == list(zip(i[k], j[k]))
    np.testing.assert_allclose(got.pairs.score, s[k], atol=1e-12)
    assert list(got.pairs.kind) == list(ref.kind[:25])
