"""The LFW pairs protocol (facelab.verification.lfw)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from facelab.core.errors import EvaluationError
from facelab.data.datasets import pair_images
from facelab.verification.lfw import WORST_SCORE, lfw_pair_scores


def _lfw_table():
    return pd.DataFrame({
        "fold": [0, 0, 1, 1],
        "same": [True, False, True, False],
        "name1": ["A", "A", "B", "B"],
        "name2": ["A", "C", "B", "A"],
        "image_id1": ["A_0001", "A_0001", "B_0001", "B_0002"],
        "image_id2": ["A_0002", "C_0001", "B_0002", "A_0002"],
    })


def test_lfw_pair_scores_missing_worst_and_drop():
    e = np.array([[1.0, 0], [1.0, 0.1], [0, 1.0], [0.6, 0.8]])
    rows = {"A_0001": 0, "A_0002": 1, "C_0001": 2, "B_0001": 3}  # B_0002 has no embedding
    worst = lfw_pair_scores(_lfw_table(), e, rows)
    assert worst.scores.size == 4
    assert worst.scores[2] == WORST_SCORE and worst.scores[3] == WORST_SCORE
    assert worst.images_without_embedding == ["B_0002"]
    assert list(worst.incomplete_pairs["pair"]) == [2, 3]
    summ = worst.summary()
    assert summ["count"] == 1 and summ["pairs_affected"] == 2 and summ["genuine_pairs_affected"] == 1
    assert summ["policy"] == "worst" and summ["pairs_evaluated"] == 4
    json.dumps(summ)
    dropped = lfw_pair_scores(_lfw_table(), e, rows, on_missing="drop")
    assert dropped.scores.size == 2 and dropped.summary()["pairs_evaluated"] == 2
    assert list(dropped.folds) == [0, 0]
    assert np.isclose(dropped.scores[1], 0.0)  # (1,0) vs (0,1)
    with pytest.raises(ValueError):
        lfw_pair_scores(_lfw_table(), e, rows, on_missing="ignore")


def test_pair_images_distinct_sorted_with_identities():
    t = _lfw_table()
    t["path1"] = [f"/x/{i}.jpg" for i in t.image_id1]
    t["path2"] = [f"/x/{i}.jpg" for i in t.image_id2]
    imgs = pair_images(t)
    assert list(imgs.columns) == ["image_id", "path", "identity"]
    expect = sorted(set(t.image_id1) | set(t.image_id2))
    assert list(imgs.image_id) == expect and list(imgs.index) == list(range(len(expect)))
    assert list(imgs.path) == [f"/x/{i}.jpg" for i in expect]
    assert list(imgs.identity) == [i.rsplit("_", 1)[0] for i in expect]
    with pytest.raises(EvaluationError, match=r"lacks columns \['path1', 'path2'\]"):
        pair_images(_lfw_table())
