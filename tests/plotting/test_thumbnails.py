"""facelab.plotting.thumbnails: face crops, PNG data URIs, and a subset spread over identities."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facelab.core.errors import EvaluationError
from facelab.plotting.thumbnails import BLANK_URI, make_thumbnails, spread_subset, thumbnail_uris


def test_thumbnails_and_uris(tmp_path):
    img = np.zeros((100, 80, 3), np.uint8)
    img[20:60, 30:70] = 255  # the "face"
    Image.fromarray(img).save(tmp_path / "a.png")
    th = make_thumbnails([tmp_path / "a.png", img], boxes=[(30, 20, 70, 60), None], size=32, margin=0.0)
    assert th.shape == (2, 32, 32, 3) and th.dtype == np.uint8
    assert th[0].mean() > 240  # the crop is the white box
    assert 0 < th[1].mean() < 200  # the whole image
    uris = thumbnail_uris(list(th) + [None], size=16, rows=[0, 2])
    assert uris[0].startswith("data:image/png;base64,") and uris[1] == BLANK_URI and uris[2] == BLANK_URI
    with pytest.raises(EvaluationError, match="uint8"):
        thumbnail_uris([np.zeros((4, 4, 3))])


def test_spread_subset_reaches_every_identity():
    ids = np.repeat(["a", "b", "c"], [50, 5, 1])
    rows = spread_subset(ids, 9)
    assert rows.size == 9 and np.all(np.diff(rows) > 0)
    assert set(ids[rows]) == {"a", "b", "c"} and (ids[rows] == "c").sum() == 1
    assert spread_subset(ids, 100).size == 56  # never more rows than there are
