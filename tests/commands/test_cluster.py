"""``facelab cluster``: the two-ID set with its labels used only to score, a flat folder, and bad input."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from PIL import Image

from facelab.cli import main

QUIET = ["--quiet", "--no-explorer"]


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())


def test_two_id_set_gives_two_clusters_and_its_labels_only_score(two_id_dir, tmp_path, capsys):
    out = tmp_path / "two"
    assert main(["cluster", str(two_id_dir), "--out", str(out)] + QUIET) == 0
    text = capsys.readouterr().out
    m = _metrics(out)
    assert m["clustering"]["algorithm"] == "hdbscan" and m["labelled"] and m["n_scored"] == m["n_faces"]
    assert m["clustering"]["n_clusters"] == 2 and m["scores"]["n_identities"] == 2
    assert m["scores"]["bcubed_f"] >= 0.98, text
    assert "BCubed F" in text and "faces: central" in text
    csv = pd.read_csv(out / "clusters.csv", dtype={"image": str})
    # The same photos without their folders (and names): the same clusters, so the labels only scored.
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in csv.path:
        shutil.copy(p, flat / p.replace("/", "_"))
    assert main(["cluster", str(flat), "--policy", "central", "--out", str(tmp_path / "flat_out")] + QUIET) == 0
    flat_csv = pd.read_csv(tmp_path / "flat_out" / "clusters.csv")
    assert _metrics(tmp_path / "flat_out")["scores"] is None and "identity" not in flat_csv
    by_file = dict(zip(flat_csv.path.map(lambda p: p.rsplit("/", 1)[1]), flat_csv.cluster))
    assert [by_file[p.replace("/", "_")] for p in csv.path] == csv.cluster.tolist()


@pytest.mark.parametrize("algorithm", ["chinese_whispers", "agglomerative"])
def test_the_threshold_algorithms_on_the_two_id_set(two_id_dir, tmp_path, algorithm):
    out = tmp_path / algorithm
    assert main(["cluster", str(two_id_dir), "--out", str(out), "--algorithm", algorithm] + QUIET) == 0
    m = _metrics(out)
    assert m["clustering"]["n_clusters"] == 2 and m["scores"]["bcubed_f"] >= 0.98
    assert 0.85 < m["clustering"]["threshold"] < 0.95  # dlib's calibrated cosine threshold


def test_a_flat_photo_folder_clusters_every_face(photo_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["cluster", str(photo_folder.photos), "--out", str(out), "--map", "pca", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "faces: every face" in text and "no identity folders" in text
    csv = pd.read_csv(out / "clusters.csv")
    groups = photo_folder.truth[photo_folder.truth.image_id.str.startswith("group_")]
    assert set(groups.image_id) <= set(csv.image) and (csv.face >= 0).all()
    assert csv.face_id.is_unique and _metrics(out)["scores"] is None
    assert 'id="explorer"' in (out / "index.html").read_text()


def test_bad_input_gets_one_clear_line(tmp_path, two_id_dir, capsys):
    def fails(args, message):
        assert main(["cluster", *args] + QUIET) == 2
        err = capsys.readouterr().err
        assert err.startswith("facelab cluster: error: ") and message in err and err.count("\n") == 1, err

    empty = tmp_path / "empty"
    empty.mkdir()
    fails([str(empty), "--out", str(tmp_path / "o1")], "holds no images")
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(next((two_id_dir / "1").glob("*.jpg")), one / "a.jpg")
    fails([str(one), "--out", str(tmp_path / "o2")], "clustering needs at least 2 faces; 1 photos gave 1")
    blank = tmp_path / "blank"
    blank.mkdir()
    for k in range(3):
        Image.new("RGB", (90, 90), (40 * k, 90, 120)).save(blank / f"{k}.png")
    fails([str(blank), "--out", str(tmp_path / "o3")], "3 photos gave 0 (3 without one: ")
    fails([str(two_id_dir), "--out", str(two_id_dir / "out")], "would replace the folder being clustered")
    fails([str(two_id_dir), "--out", str(tmp_path / "o4"), "--threshold", "0.9"], "not used by hdbscan")
    fails([str(tmp_path / "missing"), "--out", str(tmp_path / "o5")], "dataset folder not found")
    assert not any((tmp_path / f"o{k}").exists() for k in range(1, 6))


def test_photos_without_a_face_are_listed_and_one_identity_is_noted(two_id_dir, tmp_path, capsys):
    ds = tmp_path / "ds"
    (ds / "Colin").mkdir(parents=True)
    for p in sorted((two_id_dir / "1").glob("*.jpg"))[:6]:
        shutil.copy(p, ds / "Colin" / p.name)
    Image.new("RGB", (90, 90), (200, 200, 200)).save(ds / "Colin" / "wall.png")
    out = tmp_path / "out"
    assert main(["cluster", str(ds), "--out", str(out), "--algorithm", "chinese_whispers"] + QUIET) == 0
    text = capsys.readouterr().out
    assert "holds one identity" in text and "wall.png: no_face" in text
    m = _metrics(out)
    assert m["n_skipped"] == 1 and m["scores"]["n_identities"] == 1 and m["clustering"]["n_clusters"] == 1
    assert any("one identity" in n for n in m["notes"])
    assert pd.read_csv(out / "skipped.csv").image.str.endswith("wall.png").all()
    # HDBSCAN (the default) cannot make one cluster of one person, and says so.
    assert main(["cluster", str(ds), "--out", str(tmp_path / "hdb")] + QUIET) == 0
    assert "HDBSCAN found no cluster" in capsys.readouterr().out
