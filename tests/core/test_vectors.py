"""Unit rows, the start of every cosine score."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.core.errors import EvaluationError
from facelab.core.vectors import nearest_neighbours, unit_rows


def test_unit_rows_by_hand_and_brute_force():
    u = unit_rows([[3, 4], [0, -2]])
    np.testing.assert_allclose(u, [[0.6, 0.8], [0.0, -1.0]])
    assert u.dtype == np.float64
    rng = np.random.default_rng(0)
    e = rng.normal(size=(9, 5)).astype(np.float32)
    u = unit_rows(e)
    for row, raw in zip(u, e.astype(np.float64)):
        np.testing.assert_allclose(row, raw / np.sqrt(sum(v * v for v in raw)))


def test_unit_rows_refuses_bad_input():
    with pytest.raises(EvaluationError, match="2-D"):
        unit_rows([1.0, 2.0])
    with pytest.raises(EvaluationError, match="1 embeddings are all zeros"):
        unit_rows([[1.0, 0.0], [0.0, 0.0]])


def test_nearest_neighbours_match_brute_force():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, 80)
    emb = rng.normal(size=(5, 16))[codes] + rng.normal(size=(80, 16))  # 5 loose clusters
    emb[7] = emb[3] * 2.0  # an exact duplicate direction: cosine 1, must be first
    nn = nearest_neighbours(emb, k=4, chunk_size=13)
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    s = e @ e.T
    np.fill_diagonal(s, -np.inf)
    want = np.argsort(-s, axis=1, kind="stable")[:, :4]
    assert np.array_equal(nn.index, want)
    assert np.allclose(nn.cosine, np.take_along_axis(s, want, axis=1), atol=1e-5)
    assert nn.index[3, 0] == 7 and nn.cosine[3, 0] == pytest.approx(1.0, abs=1e-6)
    # Some query rows only: the same neighbours as those rows of the full search.
    some = nearest_neighbours(emb, k=4, rows=[3, 50], chunk_size=1)
    assert np.array_equal(some.index, nn.index[[3, 50]]) and np.array_equal(some.rows, [3, 50])
    ids = np.asarray([f"p{r % 3}" for r in range(len(emb))])
    t = some.table(ids, 50)
    assert list(t["rank"]) == [1, 2, 3, 4] and list(t.row) == list(nn.index[50])
    assert list(t.same) == [ids[r] == ids[50] for r in nn.index[50]]
    with pytest.raises(IndexError):
        nearest_neighbours(emb, k=2, rows=[len(emb)])


def test_unit_rows_can_refuse_non_finite_and_keep_float32():
    u = unit_rows(np.ones((2, 3), np.float32), dtype=np.float32, finite=True)
    assert u.dtype == np.float32
    with pytest.raises(EvaluationError, match="NaN"):
        unit_rows([[1.0, np.nan]], finite=True)
