"""``--detector yunet`` on every command that detects: landmarks, align, embed, compare, lfw, report.

Real photos, real YuNet, real networks (dlib's ResNet), on a handful of LFW photos; skips, saying
where it looked, without the YuNet file.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from facelab.cli import main

pytestmark = pytest.mark.usefixtures("yunet_weights")


@pytest.fixture(scope="module")
def small_lfw(tmp_path_factory, lfw):
    """An LFW-shaped tree of 16 real photos (4 people x 4) and a pairs.txt of 2 folds x (3 + 3) pairs."""
    root = tmp_path_factory.mktemp("lfw")
    names = ["Colin_Powell", "Tony_Blair", "George_W_Bush", "Donald_Rumsfeld"]
    for n in names:
        (root / "lfw-deepfunneled" / n).mkdir(parents=True)
        for k in range(1, 5):
            shutil.copy(lfw.image_path(n, k), root / "lfw-deepfunneled" / n / f"{n}_{k:04d}.jpg")
    a, b, c, d = names
    pairs = [f"{a}\t1\t2", f"{b}\t1\t3", f"{c}\t1\t2", f"{a}\t1\t{b}\t2", f"{c}\t3\t{d}\t1", f"{b}\t4\t{d}\t2",
             f"{a}\t3\t4", f"{b}\t2\t4", f"{d}\t1\t2", f"{a}\t2\t{c}\t1", f"{b}\t1\t{c}\t2", f"{a}\t4\t{d}\t1"]
    (root / "pairs.txt").write_text("2\t3\n" + "\n".join(pairs) + "\n")
    return root


def test_landmarks(lfw, capsys):
    photo = str(lfw.image_path("Colin_Powell", 1))
    assert main(["landmarks", photo, "--detector", "yunet"]) == 0
    (r,) = json.loads(capsys.readouterr().out)
    assert r["status"] == "ok" and r["detector"] == "yunet" and len(r["faces"]) == 1
    f = r["faces"][0]
    assert 0.85 < f["score"] <= 1 and np.shape(f["landmarks"]) == (5, 2)
    (lx, ly), (rx, ry) = f["landmarks"][:2]
    assert lx < rx and abs(ly - ry) < 10


def test_align_and_embed(copy_two_id, tmp_path, capsys):
    src = copy_two_id(tmp_path / "src", 3)
    assert main(["align", str(src), str(tmp_path / "aligned"), "--detector", "yunet", "--quiet"]) == 0
    assert len(list((tmp_path / "aligned").rglob("*.png"))) == 6
    out = tmp_path / "emb.json"
    assert main(["embed", str(src), "--out", str(out), "--detector", "yunet", "--quiet", "--no-cache"]) == 0
    emb = json.loads(out.read_text())
    assert len(emb) == 6
    ids = sorted(emb)
    v = np.array([emb[i] for i in ids])
    same = [i.split("/")[0] for i in ids]
    cos = v @ v.T
    # Same person above different person, on real faces through YuNet's points.
    genuine = [cos[i, j] for i in range(6) for j in range(i + 1, 6) if same[i] == same[j]]
    impostor = [cos[i, j] for i in range(6) for j in range(i + 1, 6) if same[i] != same[j]]
    assert min(genuine) > max(impostor)


def test_compare(lfw, capsys):
    a, b, c = (str(lfw.image_path(*x)) for x in (("Colin_Powell", 1), ("Colin_Powell", 2), ("Tony_Blair", 1)))
    assert main(["compare", a, b, "--detector", "yunet"]) == 0
    assert "same person: [True]" in capsys.readouterr().out
    assert main(["compare", a, c, "--detector", "yunet"]) == 0
    assert "same person: [False]" in capsys.readouterr().out


def test_lfw(small_lfw, capsys):
    rc = main(["lfw", "--root", str(small_lfw), "--model", "dlib", "--detector", "yunet", "--no-flip", "--n-boot", "20",
               "--format", "json", "--quiet", "--no-cache"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    from facelab.data.datasets import LFW

    assert d["protocol"]["n_pairs"] == 12 and d["images"] == len(LFW(small_lfw).pair_images()) == 13
    assert d["no_face"]["count"] == 0
    assert d["auc"] > 0.9


def test_lfw_detectors_side_by_side(small_lfw, capsys):
    rc = main(["lfw", "--root", str(small_lfw), "--model", "dlib", "--detector", "yunet", "--detector", "dlib",
               "--no-flip", "--n-boot", "20", "--format", "json", "--quiet", "--no-cache"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    rows = {r["model"]: r for r in d["models"]}
    assert list(rows) == ["dlib/yunet", "dlib/dlib"] and d["protocol"]["n_pairs"] == 12
    assert rows["dlib/yunet"]["settings"]["detector"] == "yunet" and rows["dlib/dlib"]["settings"]["detector"] == "dlib"
    assert all(r["auc"] > 0.9 for r in rows.values())
    (c,) = d["comparison"]
    assert (c["a"], c["b"]) == ("dlib/yunet", "dlib/dlib") and c["accuracy_difference"]["n_folds"] == 2
    from facelab.verification.comparison import PAIRED_METRICS

    assert set(c["paired_bootstrap"]) == set(PAIRED_METRICS)
    assert main(["lfw", "--root", str(small_lfw), "--detector", "yunet", "--detector", "yunet", "--quiet"]) == 2
    assert "--detector given twice: yunet" in capsys.readouterr().err


def test_report(copy_two_id, tmp_path, capsys):
    src = copy_two_id(tmp_path / "two_id", 6)
    out = tmp_path / "report"
    rc = main(["report", str(src), "--detector", "yunet", "--out", str(out), "--quiet", "--n-boot", "20",
               "--no-thumbnails", "--static"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["dataset"]["embedded"] == 12 and m["provenance"]["settings"]["detector"] == "yunet"
    assert m["verification"]["auc"] > 0.9
