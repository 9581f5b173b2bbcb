"""Unit rows, the start of every cosine score."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.errors import EvaluationError
from facelab.vectors import unit_rows


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
