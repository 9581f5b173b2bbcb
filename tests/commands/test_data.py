"""``facelab data``: locate, info and two-id on the real LFW copy."""

from __future__ import annotations

import json

from facelab.cli import main


def test_locate(capsys, lfw):
    assert main(["data", "locate"]) == 0
    assert capsys.readouterr().out.strip() == str(lfw.root)


def test_locate_missing_names_places(capsys, tmp_path):
    assert main(["data", "locate", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "LFW not found" in err and str(tmp_path) in err


def test_info_json(lfw, capsys):  # lfw: skip without it (the command finds it the same way)
    assert main(["data", "info", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["images"] == 13233 and info["identities"] == 5749
    assert info["pairs"] == {"pairs": 6000, "devtrain": 2200, "devtest": 1000}
    assert info["identities_with_at_least"]["50"] == 12


def test_two_id(lfw, capsys, tmp_path):
    out = tmp_path / "two"
    assert main(["data", "two-id", "--out", str(out), "--identities", "Hugo_Chavez", "Ariel_Sharon",
                 "--per-identity", "5"]) == 0
    text = capsys.readouterr().out
    assert "10 images of 2 identities" in text and "Hugo_Chavez (5 images)" in text
    assert len(list((out / "1").glob("*.jpg"))) == 5
