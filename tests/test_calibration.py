"""Distance -> score calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facelab.calibration import (
    REFERENCE_CALIBRATION,
    Calibration,
    cosine_to_distance,
    distance_to_cosine,
    fit_calibration,
    squared_distance,
)


def test_reference_values():
    c = REFERENCE_CALIBRATION
    assert c.score(1.40) == pytest.approx(0.5)
    assert c.score(1.0) == pytest.approx(1 / (1 + math.exp(-2.0)))
    # score >= 0.6  <=>  d <= 1.40 - 0.2 * logit(0.6)
    d_star = 1.40 - 0.2 * math.log(0.6 / 0.4)
    assert c.distance_threshold == pytest.approx(d_star)
    assert c.same_person(d_star - 1e-9) and not c.same_person(d_star + 1e-6)
    assert c.describe().startswith("calibration: mean=1.4000 std=0.2000 threshold=0.60")


def test_vectorised_and_stable():
    s = REFERENCE_CALIBRATION.score(np.array([-1000.0, 0.0, 4.0, 1000.0]))
    assert np.all(np.isfinite(s)) and s[0] == 1.0 and s[-1] == 0.0
    assert np.all(np.diff(s) < 0) or np.all(np.diff(s) <= 0)


def test_distance_cosine_roundtrip():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 10, 8))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    cos = np.sum(a * b, axis=1)
    assert np.allclose(squared_distance(a, b), cosine_to_distance(cos))
    assert np.allclose(distance_to_cosine(cosine_to_distance(cos)), cos)


def test_fit_recovers_a_known_logistic():
    rng = np.random.default_rng(1)
    d = rng.uniform(0, 3, size=20000)
    truth = Calibration(1.1, 0.15)
    same = rng.uniform(size=d.size) < truth.score(d)
    fit = fit_calibration(d, same)
    assert fit.mean == pytest.approx(1.1, abs=0.02)
    assert fit.std == pytest.approx(0.15, rel=0.08)


def test_fit_errors_and_validation(tmp_path):
    with pytest.raises(ValueError, match="both genuine and impostor"):
        fit_calibration([0.1, 0.2], [True, True])
    with pytest.raises(ValueError, match="not closer"):
        fit_calibration([0.1, 0.2, 1.5, 1.6], [False, False, True, True])
    with pytest.raises(ValueError):
        Calibration(1.0, 0.0)
    with pytest.raises(ValueError):
        Calibration(1.0, 0.1, threshold=1.0)
    p = tmp_path / "cal.json"
    REFERENCE_CALIBRATION.save(p)
    assert Calibration.load(p) == REFERENCE_CALIBRATION
