"""``facelab compare`` on real LFW pairs, and its messages for unusable photos."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from facelab.cli import main


@pytest.fixture(scope="module")
def pair_paths(lfw):
    p = lfw.pairs("pairs")
    p = p[p.fold == 0]
    same = p[p.same].iloc[0]
    diff = p[~p.same].iloc[0]
    return (same.path1, same.path2), (diff.path1, diff.path2)


def _value(out, key):
    return float(re.search(rf"^{key}: \[([-0-9.]+)\]$", out, re.M).group(1))


def test_same_and_different_pairs(pair_paths, capsys):
    (s1, s2), (d1, d2) = pair_paths
    assert main(["compare", s1, s2]) == 0
    out = capsys.readouterr().out
    assert "same person: [True]" in out
    assert out.count("landmarks: [[") == 2
    assert "embedding: shape (1, 128), first values [" in out
    assert re.search(r"^calibration: mean=[0-9.]+ std=[0-9.]+ threshold=[0-9.]+", out, re.M)
    d_same = _value(out, "distance")
    assert 0 <= d_same < 4 and 0 < _value(out, "score") <= 1

    assert main(["compare", d1, d2]) == 0
    out = capsys.readouterr().out
    assert "same person: [False]" in out
    assert _value(out, "distance") > d_same


def test_calibration_override(pair_paths, capsys):
    (s1, s2), _ = pair_paths
    # A mean of 0 puts every real distance on the "different" side.
    assert main(["compare", s1, s2, "--score-mean", "0.0", "--score-std", "0.1", "--threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "same person: [False]" in out
    assert "calibration: mean=0.0000 std=0.1000 threshold=0.50 (command line)" in out
    assert main(["compare", s1, s2, "--score-mean", "1.0"]) == 2
    assert "go together" in capsys.readouterr().err


def test_no_face_and_several_faces(lfw, tmp_path, pair_paths, capsys):
    (s1, _), _ = pair_paths
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(blank)
    assert main(["compare", s1, str(blank)]) == 2
    captured = capsys.readouterr()
    assert "no face found in" in captured.err and "wall.png" in captured.err

    a = np.asarray(Image.open(lfw.image_path("Colin_Powell", 1)))
    b = np.asarray(Image.open(lfw.image_path("Tony_Blair", 1)))
    group = tmp_path / "two_people.png"
    Image.fromarray(np.concatenate([a, b], axis=1)).save(group)
    # dlib's HOG finds the two people (YuNet, the default, also a face in a photo's background).
    assert main(["compare", str(group), str(lfw.image_path("Colin_Powell", 2)), "--detector", "dlib"]) == 0
    out = capsys.readouterr().out
    assert "note: 2 faces found; the largest was used" in out

    assert main(["compare", s1, str(tmp_path / "missing.jpg")]) == 2
    assert capsys.readouterr().err == f"facelab compare: error: {tmp_path / 'missing.jpg'}: file not found\n"


def test_a_folder_is_not_an_image(tmp_path, capsys):
    """A folder where a photo is expected is called a folder (not "image not found"), before any model loads."""
    (tmp_path / "photos").mkdir()
    assert main(["compare", str(tmp_path / "photos"), str(tmp_path / "photos")]) == 2
    assert capsys.readouterr().err == f"facelab compare: error: {tmp_path / 'photos'}: is a folder, not an image\n"
