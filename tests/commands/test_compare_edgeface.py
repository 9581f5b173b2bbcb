"""``facelab compare --model edgeface_xs``: MTCNN by default, the model's own calibration, real verdicts."""

from __future__ import annotations

import pytest

from facelab.cli import main


@pytest.fixture(scope="module")
def photos(edgeface_weights, lfw):
    """LFW, once the weights are known to be there (each skips with its reason)."""
    return lfw


@pytest.mark.parametrize(("other", "same"), [(("Colin_Powell", 2), True), (("Tony_Blair", 1), False)])
def test_compare_edgeface(capsys, photos, other, same):
    a = photos.image_path("Colin_Powell", 1)
    b = photos.image_path(*other)
    assert main(["compare", str(a), str(b), "--model", "edgeface_xs", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "shape (1, 512)" in out
    assert f"same person: [{same}]" in out
    assert "fitted on LFW pairsDevTrain" in out
