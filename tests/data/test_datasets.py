"""The data layer on the real LFW copy: counts must match PROVENANCE.txt."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from PIL import Image

from facelab.core.errors import DatasetNotFoundError, EvaluationError
from facelab.data.datasets import (
    build_two_id,
    lfw_search_paths,
    locate_lfw,
    read_identity_folders,
    read_pairs_file,
)


@pytest.fixture(scope="module")
def provenance(lfw):
    text = (lfw.root / "PROVENANCE.txt").read_text()
    n_img, n_id = map(int, re.search(r"(\d+) JPEG files, (\d+) identities", text).groups())
    counts = {m[0]: int(m[1]) for m in re.findall(r"(\w+) (\d+)[,;)]", text.split("Per-identity counts")[1].split("pairs.txt")[0])}
    n50 = int(re.search(r"(\d+) identities have >= 50 images", text).group(1))
    shas = dict(re.findall(r"(pairs\w*\.txt)\s+([0-9a-f]{64})", text))
    return {"images": n_img, "identities": n_id, "counts": counts, "n50": n50, "sha": shas}


def test_lfw_counts_match_provenance(lfw, provenance):
    images = lfw.images()
    ids = lfw.identities()
    assert len(images) == provenance["images"] == 13233
    assert len(ids) == provenance["identities"]
    by_name = dict(zip(ids.identity, ids.images))
    for name, n in provenance["counts"].items():
        assert by_name[name] == n, name
    assert (ids.images >= 50).sum() == provenance["n50"]
    assert images.image_id.is_unique


def test_lfw_counts_match_names_file(lfw):
    names = dict(line.split() for line in (lfw.root / "lfw-names.txt").read_text().splitlines() if line.strip())
    ids = lfw.identities()
    assert {k: int(v) for k, v in names.items()} == dict(zip(ids.identity, ids.images))


def test_pairs_protocol(lfw, provenance):
    import hashlib

    for fname, sha in provenance["sha"].items():
        assert hashlib.sha256((lfw.root / fname).read_bytes()).hexdigest() == sha
    p = lfw.pairs()
    assert len(p) == 6000 and p.fold.nunique() == 10
    per_fold = p.groupby("fold").same.agg(["sum", "size"])
    assert (per_fold["sum"] == 300).all() and (per_fold["size"] == 600).all()
    # Matched pairs share a name, mismatched ones never do.
    assert (p[p.same].name1 == p[p.same].name2).all()
    assert (p[~p.same].name1 != p[~p.same].name2).all()
    # Every referenced image exists.
    imgs = lfw.pair_images()
    assert len(imgs) == 7701
    assert all(map(lambda s: __import__("os").path.exists(s), imgs.path))
    train, test = lfw.pairs("devtrain"), lfw.pairs("devtest")
    assert (len(train), int(train.same.sum())) == (2200, 1100)
    assert (len(test), int(test.same.sum())) == (1000, 500)


def test_pairs_file_errors(tmp_path):
    bad = tmp_path / "pairs.txt"
    bad.write_text("1\t2\nA\t1\t2\n")
    with pytest.raises(ValueError, match="expected 4 pairs"):
        read_pairs_file(bad)
    bad.write_text("1\t1\nA\t1\t2\nA\t1\tB\t2\tx\n")
    with pytest.raises(ValueError, match="not a pair"):
        read_pairs_file(bad)


def test_locate_order_and_errors(tmp_path, monkeypatch):
    import facelab.data.datasets as ds

    # A checkout at tmp/repo with a shared copy beside it, as on the CI machine.
    monkeypatch.setattr(ds, "repo_root", lambda: tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACELAB_LFW", raising=False)
    monkeypatch.delenv("FACELAB_NO_SHARED", raising=False)
    shared = tmp_path / "shared" / "datasets" / "lfw"
    (shared / "lfw-deepfunneled").mkdir(parents=True)
    assert locate_lfw() == shared  # ../shared/datasets/lfw beside the checkout
    fake = tmp_path / "mylfw"
    (fake / "lfw-deepfunneled").mkdir(parents=True)
    monkeypatch.setenv("FACELAB_LFW", str(fake))
    assert locate_lfw() == fake  # the variable beats the shared copy
    assert locate_lfw(shared) == shared  # an explicit path beats the variable
    with pytest.raises(DatasetNotFoundError) as err:
        locate_lfw(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)
    what = [w for w, _ in lfw_search_paths(tmp_path)]
    assert what[:2] == ["given path", "$FACELAB_LFW"] and "data/lfw" in what
    # FACELAB_NO_SHARED hides the shared copy (how the tests check they skip without LFW).
    monkeypatch.delenv("FACELAB_LFW")
    monkeypatch.setenv("FACELAB_NO_SHARED", "1")
    assert "shared datasets" not in [w for w, _ in lfw_search_paths()]
    with pytest.raises(DatasetNotFoundError):
        locate_lfw()


def test_locate_names_every_place(monkeypatch, tmp_path):
    import facelab.data.datasets as ds

    monkeypatch.setenv("FACELAB_LFW", str(tmp_path / "env"))
    monkeypatch.delenv("FACELAB_NO_SHARED", raising=False)
    monkeypatch.setattr(ds, "repo_root", lambda: tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError) as err:
        locate_lfw()
    msg = str(err.value)
    assert "FACELAB_LFW" in msg and str(tmp_path / "env") in msg
    assert "shared" in msg and str(tmp_path / "repo" / "data" / "lfw") in msg


def test_lfw_or_none_says_why_in_one_line(monkeypatch, tmp_path, capsys, lfw):
    import facelab.data.datasets as ds

    assert isinstance(ds.lfw_or_none(lfw.root), ds.LFW) and capsys.readouterr().out == ""
    monkeypatch.setattr(ds, "repo_root", lambda: tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACELAB_LFW", raising=False)
    monkeypatch.setenv("FACELAB_NO_SHARED", "1")
    assert ds.lfw_or_none(without="this section is skipped") is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("LFW not available, this section is skipped: no lfw-deepfunneled/ in ")
    assert str(tmp_path / "repo" / "data" / "lfw") in out and "FACELAB_LFW" in out
    assert ds.lfw_or_none(tmp_path / "nowhere") is None  # a path given: only that place is named
    out = capsys.readouterr().out
    assert str(tmp_path / "nowhere") in out and "data/lfw" not in out


def test_two_id_builder(tmp_path, lfw):
    out = build_two_id(tmp_path / "two_id", lfw_root=lfw.root)
    ds = read_identity_folders(out)
    assert ds.identities == ["1", "2"]
    assert ds.images.groupby("identity").size().tolist() == [50, 50]
    assert ds.names == {"1": "Colin_Powell", "2": "Tony_Blair"}
    assert all("Colin_Powell" in p for p in ds.images[ds.images.identity == "1"].path)
    manifest = json.loads((out / "ids.json").read_text())
    assert len(manifest["images"]) == 100
    # Deterministic: a second build elsewhere picks the same files.
    again = build_two_id(tmp_path / "again", lfw_root=lfw.root)
    assert sorted(p.name for p in (again / "2").iterdir()) == sorted(p.name for p in (out / "2").iterdir())
    # Rebuilding with the same settings is a no-op; other settings need overwrite.
    assert build_two_id(out, lfw_root=lfw.root) == out
    with pytest.raises(EvaluationError, match="overwrite"):
        build_two_id(out, lfw_root=lfw.root, seed=1)
    build_two_id(out, lfw_root=lfw.root, seed=1, overwrite=True)
    assert json.loads((out / "ids.json").read_text())["settings"]["seed"] == 1
    with pytest.raises(EvaluationError, match="fewer than 50"):
        build_two_id(tmp_path / "x", lfw_root=lfw.root, identities=["Vladimir_Putin", "Tony_Blair"])
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.glob(".x.*"))  # no half-built staging folder left behind


def test_identity_folders_sniff_content(tmp_path, lfw):
    root = tmp_path / "set"
    (root / "1").mkdir(parents=True)
    (root / "2" / "sub").mkdir(parents=True)
    (root / "3").mkdir()
    (root / ".git").mkdir()
    shutil.copy(lfw.image_path("Tony_Blair", 1), root / "1" / "a.jpg")
    shutil.copy(lfw.image_path("Tony_Blair", 2), root / "1" / "no_suffix")
    Image.open(lfw.image_path("Colin_Powell", 1)).save(root / "2" / "sub" / "b.png")
    (root / "1" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "1" / "._a.jpg").write_bytes(b"\0\5\26\7")
    (root / "2" / "readme.txt").write_text("hello")
    (root / ".git" / "x.jpg").write_bytes(b"")
    (root / "ids.json").write_text('{"1": "Tony", "2": "Colin"}')
    ds = read_identity_folders(root)
    assert sorted(ds.images.image_id) == ["1/a", "1/no_suffix", "2/sub/b"]
    assert ds.skipped.image.tolist() == [str(root / "2" / "readme.txt")]
    assert "not an image" in ds.skipped.reason.iloc[0]
    assert ds.empty_identities == ["3"]
    assert ds.names == {"1": "Tony", "2": "Colin"}
    assert "1 files skipped" in ds.summary() and "empty identity folders: 3" in ds.summary()


def test_identity_folders_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="not found"):
        read_identity_folders(tmp_path / "missing")
    with pytest.raises(DatasetNotFoundError, match="no identity folders"):
        read_identity_folders(tmp_path)


def test_numeric_identity_order(tmp_path, lfw):
    for k in ("10", "2", "1"):
        (tmp_path / k).mkdir()
        shutil.copy(lfw.image_path("Tony_Blair", 1), tmp_path / k / "x.jpg")
    assert read_identity_folders(tmp_path).images.identity.tolist() == ["1", "2", "10"]


def _jpeg(path, lfw):
    shutil.copy(lfw.image_path("Tony_Blair", 1), path)


def test_a_flat_photo_folder_has_no_identities(tmp_path, lfw):
    from facelab.data.datasets import read_folder, read_photo_folder

    root = tmp_path / "photos"
    root.mkdir()
    for name in ("b.jpg", "a.jpg", "a.jpeg", "c#2.jpg"):
        _jpeg(root / name, lfw)
    (root / "notes.txt").write_text("hello")
    (root / ".DS_Store").write_bytes(b"\0")
    ds = read_photo_folder(root)
    # Repeated stems keep their suffix, so every id is unique.
    assert ds.images.image_id.tolist() == ["a.jpeg", "a.jpg", "b", "c#2"]
    assert (ds.images.identity == "").all() and not ds.labelled and ds.identities == []
    assert ds.skipped.image.tolist() == [str(root / "notes.txt")]
    assert "4 photos (no identity folders)" in ds.summary()
    assert read_folder(root).images.equals(ds.images)
    # A sub-folder in a flat folder is listed, not read.
    (root / "more").mkdir()
    _jpeg(root / "more" / "d.jpg", lfw)
    assert str(root / "more") in set(read_photo_folder(root).skipped.image)


def test_read_folder_takes_either_layout_and_lists_loose_images(tmp_path, lfw):
    from facelab.data.datasets import read_folder

    (tmp_path / "ids" / "Tony").mkdir(parents=True)
    _jpeg(tmp_path / "ids" / "Tony" / "1.jpg", lfw)
    _jpeg(tmp_path / "ids" / "loose.jpg", lfw)
    ds = read_folder(tmp_path / "ids")
    assert ds.labelled and ds.images.image_id.tolist() == ["Tony/1"]
    assert dict(zip(ds.skipped.image, ds.skipped.reason)) == {
        str(tmp_path / "ids" / "loose.jpg"): "an image outside the identity folders (not read)"}
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DatasetNotFoundError, match=r"holds no images \(1 other files\)"):
        read_folder(tmp_path / "empty")
    with pytest.raises(DatasetNotFoundError, match="dataset folder not found"):
        read_folder(tmp_path / "missing")
