"""JSON-safe numbers: the one NaN -> None / numpy -> Python conversion."""

from __future__ import annotations

import json
import math

import numpy as np

from facelab.core.jsonsafe import json_safe


def test_json_safe_leaves_by_hand():
    cases = [
        (float("nan"), None), (float("inf"), None), (-math.inf, None), (1.5, 1.5),
        (np.float32(0.25), 0.25), (np.float64(np.nan), None), (np.int64(7), 7), (np.bool_(True), True),
        (True, True), (3, 3), ("x", "x"), (None, None),
    ]
    for value, expect in cases:
        got = json_safe(value)
        assert got == expect and type(got) is type(expect), (value, got)


def test_json_safe_containers_recursively():
    obj = {1: (np.arange(3), [np.float32(np.inf), {"a": np.array([[0.5, np.nan]])}]), "s": "keep"}
    got = json_safe(obj)
    assert got == {"1": [[0, 1, 2], [None, {"a": [[0.5, None]]}]], "s": "keep"}
    assert type(got["1"][0][0]) is int and type(got["1"][1][1]["a"][0][0]) is float
    json.dumps(got, allow_nan=False)  # passes the strict encoder
    # The input is not modified.
    assert isinstance(obj[1][0], np.ndarray)


def test_json_safe_agrees_with_brute_force_on_random_arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    x[rng.integers(0, 50, 10)] = np.nan
    x[rng.integers(0, 50, 5)] = np.inf
    assert json_safe(x) == [None if not math.isfinite(v) else float(v) for v in x.tolist()]
