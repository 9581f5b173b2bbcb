"""``facelab verify`` with stubbed embeddings (metric logic) and one real run on the two-ID set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facelab import verification as V
from facelab.cli import main
from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.engine import pipeline


@pytest.fixture
def stub(stub_embeddings):
    return lambda no_face=(): stub_embeddings(no_face=no_face, noise=0.45)


def test_verify_json_matches_library(tmp_path, stub, make_folder, capsys):
    root = make_folder(tmp_path / "ds", {"a": 4, "b": 3, "c": 5, "d": 1})
    (root / "a" / "notes.txt").write_text("x")
    stub(no_face={"c/4"})
    out = tmp_path / "r" / "verify.json"
    assert main(["verify", str(root), "--format", "json", "--n-boot", "50", "--out", str(out), "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d == json.loads(out.read_text())
    assert d["embedded"] == 12 and d["identities"] == 4
    assert d["genuine_pairs"] == 6 + 3 + 6 and d["impostor_pairs"] == 66 - 15
    # The face-less image and the non-image file are both listed.
    assert d["skipped"]["count"] == 2
    assert {s["reason"].split(":")[0] for s in d["skipped"]["images"]} == {"no_face", "not an image (unrecognised content)"}
    # Same numbers as the library on the same embeddings.
    res = pipeline.embed_folder(root)
    ids = np.asarray(res.identities)
    p = V.make_pairs(ids)
    s = V.pair_scores(res.embeddings, p)
    assert d["auc"] == pytest.approx(V.roc(s, p.same).auc)
    assert d["eer"] == pytest.approx(V.eer(s, p.same)[0])
    assert d["threshold"] == pytest.approx(V.best_accuracy_threshold(s, p.same)[0])
    assert d["tar_at_far"]["1e-2"]["tar"] is None and "needs at least 100" in d["tar_at_far"]["1e-2"]["reason"]
    assert d["thresholds"]["best_accuracy"]["score"] == pytest.approx(
        REFERENCE_CALIBRATION.score(2 - 2 * d["threshold"]))
    assert {"eer", "best_threshold", "tar@1e-1"} <= set(d["ci"])


def test_verify_table_and_sampling(tmp_path, stub, make_folder, capsys):
    root = make_folder(tmp_path / "ds", {"a": 4, "b": 4, "c": 4})
    stub()
    assert main(["verify", str(root), "--max-impostors", "20", "--n-boot", "0", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "seeded sample of 20" in text and "AUC" in text and "best accuracy" in text
    assert "TAR@FAR=1e-3: n/a (only 20 impostor pairs" in text
    assert "note: only 3 identities" not in text  # no CIs computed (--n-boot 0)
    assert main(["verify", str(root), "--n-boot", "20", "--quiet"]) == 0
    assert "note: only 3 identities: the identity bootstrap" in capsys.readouterr().out


def test_verify_one_identity_is_a_clear_error(tmp_path, stub, make_folder, capsys):
    root = make_folder(tmp_path / "ds", {"a": 4})
    stub()
    assert main(["verify", str(root), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "facelab verify: error: only one identity ('a', 4 images): verification needs" in err
    assert "np.str_" not in err


@pytest.mark.slow
def test_verify_real_two_id(two_id_dir, capsys):
    """The real pipeline (dlib) on the two-ID set: the identities separate well."""
    pytest.importorskip("dlib")
    assert main(["verify", str(two_id_dir), "--format", "json", "--n-boot", "100", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["embedded"] >= 95 and d["auc"] > 0.97 and d["eer"] < 0.08


def test_emit_writes_json_safe_numbers(tmp_path, capsys):
    from argparse import Namespace

    from facelab.commands.verify import emit

    out = tmp_path / "o.json"
    emit(Namespace(out=str(out), format="json"), {"x": np.float32(0.5), "nan": np.nan, "a": np.arange(2)}, "table")
    d = json.loads(capsys.readouterr().out)
    assert d == {"x": 0.5, "nan": None, "a": [0, 1]} == json.loads(out.read_text())
