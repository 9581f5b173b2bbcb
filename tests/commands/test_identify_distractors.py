"""``facelab identify --distractors`` with stubbed embeddings."""

from __future__ import annotations

import json

import numpy as np

from facelab.cli import main
from facelab.embedders.files import write_embeddings


def test_identify_prints_the_distractor_table(tmp_path, stub_embeddings, make_folder, capsys):
    root = make_folder(tmp_path / "people", {"a": 4, "b": 4, "c": 4, "d": 1})
    stub_embeddings()
    rng = np.random.default_rng(0)
    D = rng.standard_normal((150, 16)).astype(np.float32)
    write_embeddings(tmp_path / "d.json", [f"x{i}" for i in range(150)], D)
    assert main(["identify", str(root), "--threshold", "0.5", "--distractors", str(tmp_path / "d.json"), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "distractors (MegaFace-style)" in text and "150 distractor images" in text
    rows = [ln.split() for ln in text.splitlines() if ln.strip().split(" ")[0].replace(",", "").isdigit()]
    assert [r[0] for r in rows] == ["0", "10", "100", "150"]
    assert main(["identify", str(root), "--threshold", "0.5", "--distractors", str(tmp_path / "d.json"),
                 "--format", "json", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [r["n_distractors"] for r in d["distractor_curve"]] == [0, 10, 100, 150]
    # No distractors: the first split's own open-set search (--repeats 1 makes it the mean).
    assert main(["identify", str(root), "--threshold", "0.5", "--distractors", str(tmp_path / "d.json"),
                 "--repeats", "1", "--format", "json", "--quiet"]) == 0
    d1 = json.loads(capsys.readouterr().out)
    assert d1["distractor_curve"][0]["rank1"] == d1["mean"]["rank1"]
    assert d1["distractor_curve"][0]["fnir"] == d1["mean"]["fnir"]
