"""Distance -> score calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facelab.core.calibration import (
    REFERENCE_CALIBRATION,
    Calibration,
    check_threshold,
    cosine_to_distance,
    distance_to_cosine,
    fit_calibration,
    squared_distance,
    threshold_scales,
)
from facelab.core.errors import EvaluationError


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
    # Strictly decreasing over these four distances, each equal to the closed-form logistic.
    assert np.all(np.diff(s) < 0)
    assert s[1] == pytest.approx(1 / (1 + math.exp(-7.0))) and s[2] == pytest.approx(1 / (1 + math.exp(13.0)))


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


# ------------------------------------------------------------------ the three threshold scales


def test_scales_of_a_cosine_by_hand():
    c = Calibration(mean=1.0, std=0.5, threshold=0.6)
    # cos 0.75 -> d = 2 - 1.5 = 0.5 -> score = sigmoid((1.0 - 0.5) / 0.5) = sigmoid(1).
    sc = c.scales(0.75)
    assert sc == {"cosine": 0.75, "distance": 0.5, "score": pytest.approx(1 / (1 + math.exp(-1.0)))}
    assert threshold_scales(0.75, c) == sc
    assert threshold_scales(0.75) == {"cosine": 0.75, "distance": 0.5, "score": None}
    for bad in (None, float("nan"), float("inf")):
        assert threshold_scales(bad, c) == {"cosine": None, "distance": None, "score": None}
    assert c.score_for_cosine(0.75) == pytest.approx(sc["score"])
    np.testing.assert_allclose(c.score_for_cosine(np.array([1.0, 0.5, -1.0])), c.score(np.array([0.0, 1.0, 4.0])))


def test_score_cosine_distance_inverses():
    c = REFERENCE_CALIBRATION
    for score in (0.05, 0.5, 0.6, 0.97):
        d = c.distance_for_score(score)
        assert c.score(d) == pytest.approx(score)
        cos = c.cosine_for_score(score)
        assert cos == pytest.approx(1 - d / 2) and c.score_for_cosine(cos) == pytest.approx(score)
    # score 0.5 sits at d = mean by definition.
    assert c.distance_for_score(0.5) == pytest.approx(c.mean)
    assert c.distance_threshold == c.distance_for_score(c.threshold)
    assert c.cosine_threshold == 1.0 - c.distance_threshold / 2.0
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(EvaluationError, match=r"must be in \(0, 1\)"):
            c.cosine_for_score(bad)


def test_to_cosine_from_each_scale():
    c = REFERENCE_CALIBRATION
    assert c.to_cosine(0.3) == 0.3 and c.to_cosine(0.3, "cosine") == 0.3
    assert c.to_cosine(1.4, "distance") == pytest.approx(0.3)
    assert c.to_cosine(0.5, "score") == pytest.approx(1 - c.mean / 2)
    assert c.to_cosine(c.threshold, "score") == c.cosine_threshold
    with pytest.raises(ValueError, match="scale must be one of"):
        c.to_cosine(0.3, "percent")


@pytest.mark.parametrize("value, scale, message", [
    (1.5, "cosine", r"a cosine threshold must be in \[-1, 1\], got 1.5"),
    (-1.01, "cosine", r"a cosine threshold must be in \[-1, 1\], got -1.01"),
    (5.0, "distance", r"a squared-distance threshold must be in \[0, 4\], got 5.0"),
    (-0.1, "distance", r"a squared-distance threshold must be in \[0, 4\], got -0.1"),
    (1.0, "score", r"a calibrated-score threshold must be in \(0, 1\), got 1.0"),
    (math.nan, "cosine", r"a cosine threshold must be in \[-1, 1\], got nan"),
])
def test_to_cosine_refuses_a_threshold_off_its_scale(value, scale, message):
    # A cosine of 1.5 would silently reject every probe; say so instead.
    with pytest.raises(EvaluationError, match=f"^{message}$"):
        REFERENCE_CALIBRATION.to_cosine(value, scale)
    with pytest.raises(EvaluationError, match=f"^{message}$"):
        check_threshold(value, scale)  # the same check, without a calibration
    for ok, s in ((-1.0, "cosine"), (1.0, "cosine"), (0.0, "distance"), (4.0, "distance")):
        assert -1.0 <= REFERENCE_CALIBRATION.to_cosine(ok, s) <= 1.0
