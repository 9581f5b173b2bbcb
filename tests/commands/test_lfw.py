"""``facelab lfw`` on a tiny fake LFW tree with stubbed embeddings (the protocol logic)."""

from __future__ import annotations

import json

import pytest

from facelab import verification as V
from facelab.cli import main
from facelab.data.datasets import LFW, pair_images

NAMES = {"Ann_A": 4, "Bob_B": 4, "Cid_C": 3, "Dee_D": 2}
# Two folds of 3 matched + 3 mismatched pairs.
PAIRS = """2\t3
Ann_A\t1\t2
Bob_B\t1\t3
Cid_C\t1\t2
Ann_A\t1\tBob_B\t2
Cid_C\t3\tDee_D\t1
Bob_B\t4\tDee_D\t2
Ann_A\t3\t4
Bob_B\t2\t4
Dee_D\t1\t2
Ann_A\t2\tCid_C\t1
Bob_B\t1\tCid_C\t2
Ann_A\t4\tDee_D\t1
"""


@pytest.fixture
def fake_lfw(tmp_path):
    root = tmp_path / "lfw"
    for name, n in NAMES.items():
        d = root / "lfw-deepfunneled" / name
        d.mkdir(parents=True)
        for k in range(1, n + 1):
            (d / f"{name}_{k:04d}.jpg").write_bytes(b"\xff\xd8\xff")
    (root / "pairs.txt").write_text(PAIRS)
    (root / "pairsDevTest.txt").write_text("2\n" + "\n".join(PAIRS.splitlines()[1:3] + PAIRS.splitlines()[4:6]) + "\n")
    return root


def _expected(root, fake, missing="worst", folds=None):
    pairs = LFW(root).pairs()
    if folds is not None:
        pairs = pairs[pairs.fold < folds].reset_index(drop=True)
    res = fake(pair_images(pairs))
    return V.lfw_pair_scores(pairs, res.embeddings, res.rows_of(), on_missing=missing)


def test_lfw_json_kfold_and_no_face(fake_lfw, stub_embeddings, capsys):
    fake = stub_embeddings(no_face={"Bob_B_0003"})
    assert main(["lfw", "--root", str(fake_lfw), "--format", "json", "--n-boot", "30", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    ls = _expected(fake_lfw, fake)
    assert d["protocol"] == {"file": "pairs", "folds_used": 2, "folds_in_file": 2, "n_pairs": 12}
    kf = V.kfold_accuracy(ls.scores, ls.same, ls.folds)
    assert d["accuracy"] == pytest.approx(kf.mean) and d["accuracy_std"] == pytest.approx(kf.std)
    assert d["folds"]["accuracies"] == pytest.approx(list(kf.accuracies))
    assert d["auc"] == pytest.approx(V.roc(ls.scores, ls.same).auc)
    e, t = V.eer(ls.scores, ls.same)
    assert d["eer"] == pytest.approx(e) and d["eer_threshold"] == pytest.approx(t)
    nf = d["no_face"]
    assert nf["count"] == 1 and nf["images"] == ["Bob_B_0003"] and nf["pairs_affected"] == 1
    assert nf["genuine_pairs_affected"] == 1 and nf["policy"] == "worst" and nf["pairs_evaluated"] == 12
    assert nf["reasons"] == {"Bob_B_0003": "no_face: no face found"}
    assert "different person" in nf["action"]
    assert set(d["tar_at_far"]) == {"1e-1", "1e-2", "1e-3", "1e-4"}


def test_lfw_drop_limit_folds_and_table(fake_lfw, stub_embeddings, capsys):
    stub_embeddings(no_face={"Ann_A_0001"})
    assert main(["lfw", "--root", str(fake_lfw), "--missing", "drop", "--limit-folds", "1", "--n-boot", "0",
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "LFW pairs (1 folds, 6 pairs)" in text
    assert "best threshold on all pairs" in text  # one fold: no k-fold protocol
    assert "images without embedding: 1 (2 pairs, 1 genuine): dropped" in text
    assert "Ann_A_0001: no_face: no face found" in text


def test_lfw_devtest_and_missing_root(fake_lfw, stub_embeddings, capsys, tmp_path):
    stub_embeddings()
    assert main(["lfw", "--root", str(fake_lfw), "--pairs", "devtest", "--format", "json", "--n-boot", "0",
                 "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["protocol"]["file"] == "devtest" and d["pairs"] == 4 and d["accuracy_std"] is None
    assert main(["lfw", "--root", str(tmp_path / "nowhere")]) == 2
    assert "LFW not found" in capsys.readouterr().err
