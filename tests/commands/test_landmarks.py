"""``facelab landmarks``: JSON schema, table output, folders, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facelab.cli import main


@pytest.fixture(scope="module")
def photos(lfw, tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    for name in ("Colin_Powell_0001", "Tony_Blair_0001"):
        (d / f"{name}.jpg").write_bytes(lfw.image_path(name[:-5], int(name[-4:])).read_bytes())
    Image.fromarray(np.full((120, 120, 3), 128, np.uint8)).save(d / "grey.png")
    (d / "notes.txt").write_text("not an image")
    (d / ".DS_Store").write_bytes(b"\0\0")
    return d


def _check_schema(entry):
    assert set(entry) >= {"image", "status", "reason", "faces"}
    assert entry["status"] in ("ok", "no_face", "error")
    for f in entry["faces"]:
        assert len(f["box"]) == 4 and all(isinstance(v, float) for v in f["box"])
        assert isinstance(f["score"], float)
        assert len(f["landmarks"]) == 5 and all(len(p) == 2 for p in f["landmarks"])


@pytest.mark.parametrize("detector", ["dlib", "mtcnn"])
def test_json_for_files(photos, capsys, detector):
    files = [str(photos / "Colin_Powell_0001.jpg"), str(photos / "notes.txt"), str(photos / "missing.jpg")]
    assert main(["landmarks", *files, "--detector", detector, "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [e["image"] for e in out] == files
    for e in out:
        _check_schema(e)
    assert [e["status"] for e in out] == ["ok", "error", "error"]
    assert {e["detector"] for e in out} == {detector}  # the flag's name, not the old "backend"
    assert out[0]["reason"] is None and out[0]["chosen"] == 0
    le, re, nose, ml, mr = out[0]["faces"][0]["landmarks"]
    assert le[0] < re[0] and le[1] < nose[1] < ml[1]
    assert "not an image" in out[1]["reason"] and "not found" in out[2]["reason"]


def test_folder_table_and_skips(photos, capsys):
    assert main(["landmarks", str(photos), "--format", "table", "--quiet"]) == 0
    cap = capsys.readouterr()
    lines = cap.out.strip().splitlines()
    assert lines[0].split()[:3] == ["image", "status", "faces"]
    assert len(lines) == 1 + 3  # header + three images; notes.txt and .DS_Store are not images
    body = "\n".join(lines[1:])
    assert "Colin_Powell_0001.jpg" in body and "no_face" in body
    assert "skipped" in cap.err and "notes.txt" in cap.err and ".DS_Store" not in cap.err
    assert "2 of 3 images with a face" in cap.err


def test_policy_and_out_file(photos, tmp_path, capsys):
    out_file = tmp_path / "lm.json"
    rc = main(["landmarks", str(photos / "Tony_Blair_0001.jpg"), "--policy", "central", "--all-points",
               "--out", str(out_file), "--quiet"])
    assert rc == 0 and capsys.readouterr().out == ""
    data = json.loads(out_file.read_text())
    assert len(data[0]["faces"][0]["landmarks68"]) == 68


def test_no_images_is_an_error(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x")
    assert main(["landmarks", str(tmp_path), "--quiet"]) == 2
    assert "no image found" in capsys.readouterr().err


def test_bad_choice_is_rejected(photos):
    with pytest.raises(SystemExit):
        main(["landmarks", str(photos), "--detector", "opencv"])
