"""``facelab identify`` with stubbed embeddings."""

from __future__ import annotations

import json
import math

import pytest

from facelab import pipeline
from facelab.calibration import REFERENCE_CALIBRATION
from facelab.cli import main
from facelab.commands.identify import to_cosine
from facelab.identification import evaluate_identification


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


def test_threshold_scales_round_trip():
    cal = REFERENCE_CALIBRATION
    assert to_cosine(0.3, "cosine", cal) == 0.3
    assert to_cosine(1.0, "distance", cal) == pytest.approx(0.5)
    c = to_cosine(0.6, "score", cal)
    assert cal.score(2 - 2 * c) == pytest.approx(0.6)
    assert math.isclose(c, 1 - cal.distance_threshold / 2)
