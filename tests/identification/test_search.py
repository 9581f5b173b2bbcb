"""FAISS search: exact equals NumPy brute force; approximate recall measured and above a floor."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.identification.search import SearchIndex, build_index, exact_search, recall_at_k


def _clustered(n, d=64, n_centres=200, noise=0.6, seed=0):
    """Face-like data: identities as centres, images as noisy copies (unit rows)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((n_centres, d))
    x = c[rng.integers(0, n_centres, n)] + noise * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_search_equals_numpy_brute_force():
    g = _clustered(3000, seed=1)
    q = _clustered(200, seed=2)
    scores, rows = exact_search(g, q, k=5)
    s = q @ g.T
    want = np.argsort(-s, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(rows, want)
    np.testing.assert_allclose(scores, np.take_along_axis(s, want, axis=1), atol=1e-5)
    # Unnormalised inputs give the same answer (cosine).
    _, rows2 = exact_search(g * 3.0, q * 0.5, k=5)
    np.testing.assert_array_equal(rows2, rows)


def test_k_past_the_gallery_is_padded():
    g = _clustered(3, seed=3)
    scores, rows = exact_search(g, g[:1], k=5)
    assert rows[0, 0] == 0 and list(rows[0, 3:]) == [-1, -1] and np.isneginf(scores[0, 3:]).all()


@pytest.mark.parametrize("kind,floor", [("hnsw", 0.95), ("ivf", 0.9)])
def test_approximate_recall_is_measured_and_above_a_floor(kind, floor, capsys):
    g = _clustered(20000, seed=4)
    q = _clustered(500, seed=5)
    idx = build_index(g, approx_threshold=10000, approx=kind)
    assert idx.kind == kind and idx.size == 20000
    r = idx.measure_recall(q, k=10)
    print(idx.describe())
    assert floor <= r.recall <= 1.0, r
    assert r.n_queries == 500
    # The measured figure is the real overlap with exact search, recomputed here by NumPy.
    _, approx = idx.search(q, k=10)
    exact = np.argsort(-(q @ g.T), axis=1)[:, :10]
    assert abs(recall_at_k(approx, exact, 10) - r.recall) < 0.01
    assert f"recall@10 {r.recall:.4f}" in capsys.readouterr().out
    # A crippled index is caught by the same measurement (the measurement can fail).
    if kind == "hnsw":
        idx.index.hnsw.efSearch = 1
        assert idx.measure_recall(q, k=10).recall < r.recall


def test_auto_is_exact_below_the_threshold_and_incremental_add():
    g = _clustered(1000, seed=6)
    idx = build_index(g[:600], approx_threshold=10_000)
    assert idx.kind == "exact"
    idx.add(g[600:])
    _, rows = idx.search(g[:50], k=1)
    np.testing.assert_array_equal(rows[:, 0], np.arange(50))
    assert idx.measure_recall(g[:50]).recall == 1.0
    with pytest.raises(ValueError, match="dimensions"):
        SearchIndex("exact", 8).add(g)
