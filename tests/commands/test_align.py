"""``facelab align``: OUT mirrors SRC, every skip is reported with its reason."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facelab.cli import main
from facelab.data.datasets import read_identity_folders
from facelab.data.imageio import load_image


@pytest.fixture(scope="module")
def small_set(copy_two_id, tmp_path_factory):
    """Two identities x 2 LFW photos, plus a grey image and a text file."""
    src = copy_two_id(tmp_path_factory.mktemp("small") / "src", 2)
    Image.fromarray(np.full((160, 160, 3), 100, np.uint8)).save(src / "2" / "wall.png")
    (src / "1" / "readme.txt").write_text("not a face")
    return src


@pytest.mark.parametrize(
    "preset, extra, size",
    [("arcface112", [], 112), ("seed64", [], 64), ("dlib150", [], 150), ("arcface112", ["--size", "96"], 96)],
)
def test_align_presets(small_set, tmp_path, capsys, preset, extra, size):
    out = tmp_path / "out"
    rc = main(["align", str(small_set), str(out), "--preset", preset, *extra, "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("aligned 4, skipped 2")
    assert "wall.png: no_face" in text and "readme.txt: not an image" in text
    aligned = read_identity_folders(out)
    assert aligned.identities == ["1", "2"] and len(aligned.images) == 4
    for p in aligned.images.path:
        assert load_image(p).shape == (size, size, 3)
    assert (out / "alignment.csv").is_file()


def test_align_mtcnn_jpg(small_set, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["align", str(small_set), str(out), "--detector", "mtcnn", "--image-format", "jpg", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("aligned 4, skipped 2")
    assert len(list(out.rglob("*.jpg"))) == 4


def test_align_errors(tmp_path, small_set, capsys):
    assert main(["align", str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["align", str(small_set), str(tmp_path / "out"), "--preset", "seed64", "--size", "112"]) == 2
    assert "fixed size" in capsys.readouterr().err
