"""``facelab identify`` with stubbed embeddings."""

from __future__ import annotations

import json
import math

import pytest

from facelab.cli import main
from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.engine import pipeline
from facelab.identification.evaluate import evaluate_identification


def test_identify_json_and_reference_line(tmp_path, stub_embeddings, make_folder, capsys):
    root = make_folder(tmp_path / "people", {"a": 5, "b": 5, "c": 4, "d": 1})
    stub_embeddings()
    assert main(["identify", str(root), "--threshold", "0.5", "--repeats", "3", "--format", "json", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["name"] == "people(1:3)" and d["enrolled"] == 3 and d["repeats"] == 3
    assert d["distractor_probes"] == 1  # "d" has one image: a distractor
    res = pipeline.embed_folder(root)  # the stub
    r = evaluate_identification(res.embeddings, res.identities, threshold=0.5, k=1, repeats=3)
    for k in ("precision", "recall", "accuracy", "rank1"):
        assert d["mean"][k] == pytest.approx(r.mean[k])
    assert d["reference_line"].startswith("people(1:3)  precision ")
    assert d["threshold_scales"]["cosine"] == 0.5 and d["threshold_scales"]["distance"] == pytest.approx(1.0)


def test_identify_table_default_threshold(tmp_path, stub_embeddings, make_folder, capsys):
    root = make_folder(tmp_path / "two", {"1": 6, "2": 6})
    stub_embeddings()
    assert main(["identify", str(root), "--gallery-size", "2", "--name", "two_id", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("two_id(1:2)  precision ")
    cos = 1 - REFERENCE_CALIBRATION.distance_threshold / 2
    assert f"cosine {cos:.4f}" in text and "calibration threshold 0.60" in text
    assert "(no distractor probes)" in text


@pytest.mark.parametrize("value, scale", [(0.3, "cosine"), (1.0, "distance"), (0.6, "score")])
def test_threshold_on_each_scale(tmp_path, stub_embeddings, make_folder, capsys, value, scale):
    root = make_folder(tmp_path / "two", {"1": 4, "2": 4})
    stub_embeddings()
    argv = ["identify", str(root), "--threshold", str(value), "--threshold-scale", scale, "--format", "json", "--quiet"]
    assert main(argv) == 0
    got = json.loads(capsys.readouterr().out)["threshold_scales"]
    cal = REFERENCE_CALIBRATION
    assert got[scale] == pytest.approx(value)
    assert got["distance"] == pytest.approx(2 - 2 * got["cosine"])
    assert got["score"] == pytest.approx(cal.score(got["distance"]))
    if scale == "score":
        assert math.isclose(got["cosine"], 1 - cal.distance_for_score(value) / 2)


def test_score_threshold_outside_0_1_is_a_clear_error(tmp_path, stub_embeddings, make_folder, capsys):
    root = make_folder(tmp_path / "two", {"1": 3, "2": 3})
    stub_embeddings()
    assert main(["identify", str(root), "--threshold", "1.5", "--threshold-scale", "score", "--quiet"]) == 2
    assert "must be in (0, 1)" in capsys.readouterr().err


def test_identify_threshold_off_its_scale_is_one_line(tmp_path, stub_embeddings, make_folder, capsys):
    root = make_folder(tmp_path / "two", {"1": 3, "2": 3})
    stub_embeddings()
    assert main(["identify", str(root), "--threshold", "5", "--threshold-scale", "distance", "--quiet"]) == 2
    # One line, before anything is embedded (no summary line).
    assert capsys.readouterr().err == "facelab identify: error: a squared-distance threshold must be in [0, 4], got 5.0\n"
