"""facelab.plotting.thumbnails: face crops, JPEG sheets of faces, and a subset spread over identities."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facelab.core.errors import EvaluationError
from facelab.plotting.thumbnails import SHEET_FACES, make_thumbnails, sheets_css, spread_subset, thumbnail_sheets


def test_thumbnails_and_uris(tmp_path):
    img = np.zeros((100, 80, 3), np.uint8)
    img[20:60, 30:70] = 255  # the "face"
    Image.fromarray(img).save(tmp_path / "a.png")
    th = make_thumbnails([tmp_path / "a.png", img], boxes=[(30, 20, 70, 60), None], size=32, margin=0.0)
    assert th.shape == (2, 32, 32, 3) and th.dtype == np.uint8
    assert th[0].mean() > 240  # the crop is the white box
    assert 0 < th[1].mean() < 200  # the whole image
    with pytest.raises(EvaluationError, match="uint8"):
        thumbnail_sheets([np.zeros((4, 4, 3))])


def test_sheets_hold_every_face_at_its_place():
    import base64
    import io
    import re

    rng = np.random.default_rng(0)
    # Flat colours: each face must be found, by its colour, where its background says it is.
    n = SHEET_FACES + 44
    colours = rng.integers(0, 256, (n, 3))
    faces = [np.broadcast_to(c.astype(np.uint8), (20, 30, 3)).copy() for c in colours]
    faces[5] = None  # no face: no thumbnail
    tiled = thumbnail_sheets(faces, size=16, rows=[k for k in range(n) if k != 7])
    assert len(tiled.sheets) == 2 and tiled.n_thumbnails == n - 2
    assert tiled.backgrounds[5] == "" and tiled.backgrounds[7] == ""
    css = sheets_css(tiled.sheets, tiled.key)
    assert css.startswith(":root{") and css.count("url(data:image/jpeg;base64,") == 2
    sheets = [Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))).convert("RGB") for u in tiled.sheets]
    for k in (0, 1, 6, SHEET_FACES, n - 1):
        m = re.fullmatch(rf"var\(--facelab-{tiled.key}-(\d+)\) -(\d+)px -(\d+)px", tiled.backgrounds[k])
        sheet, x, y = (int(v) for v in m.groups())
        # letterboxed onto white: the middle of the square is the face's colour
        got = np.asarray(sheets[sheet].crop((x + 4, y + 6, x + 12, y + 10)), float).mean(axis=(0, 1))
        assert np.abs(got - colours[k]).max() < 12, (k, got, colours[k])
    # Another set of faces gets other property names: two explorers on one page do not clash.
    assert thumbnail_sheets(faces[:3], size=16).key != tiled.key


def test_spread_subset_reaches_every_identity():
    ids = np.repeat(["a", "b", "c"], [50, 5, 1])
    rows = spread_subset(ids, 9)
    assert rows.size == 9 and np.all(np.diff(rows) > 0)
    assert set(ids[rows]) == {"a", "b", "c"} and (ids[rows] == "c").sum() == 1
    assert spread_subset(ids, 100).size == 56  # never more rows than there are
