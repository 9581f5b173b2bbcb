"""``facelab embed`` on a small folder-per-identity set."""

from __future__ import annotations

import shutil

import numpy as np

from facelab.cli import main
from facelab.embedders.files import read_embeddings


def _dataset(lfw, root):
    for name in ("Colin_Powell", "Tony_Blair"):
        d = root / name
        d.mkdir(parents=True)
        for k in (1, 2):
            shutil.copy(lfw.image_path(name, k), d / f"{k}.jpg")
    (root / "Tony_Blair" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    (root / "Colin_Powell" / "readme.txt").write_text("hello")
    return root


def test_embed_writes_reference_json_and_lists_skips(lfw, tmp_path, capsys):
    ds = _dataset(lfw, tmp_path / "ds")
    out = tmp_path / "out" / "emb.json"
    assert main(["embed", str(ds), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "4 embedded" in text
    assert "skipped 2:" in text
    assert "broken.jpg: error:" in text
    assert "readme.txt: not an image" in text
    assert "calibration: mean=" in text
    ids, vecs = read_embeddings(out)
    assert ids == ["Colin_Powell/1", "Colin_Powell/2", "Tony_Blair/1", "Tony_Blair/2"]
    assert vecs.shape == (4, 128)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # Same person closer than different people.
    d = lambda i, j: float(np.sum((vecs[i] - vecs[j]) ** 2))  # noqa: E731
    assert max(d(0, 1), d(2, 3)) < min(d(0, 2), d(0, 3), d(1, 2), d(1, 3))

    # Cached second run, .npz output.
    npz = tmp_path / "emb.npz"
    assert main(["embed", str(ds), "--out", str(npz), "--quiet"]) == 0
    assert "5 from cache, 0 computed" in capsys.readouterr().out
    ids2, vecs2 = read_embeddings(npz)
    assert ids2 == ids and np.array_equal(vecs2, vecs)


def test_embed_bad_arguments(tmp_path, capsys):
    assert main(["embed", str(tmp_path), "--out", str(tmp_path / "e.csv")]) == 2
    assert capsys.readouterr().err == (f"facelab embed: error: --out must end in .json or .npz, "
                                       f"got {str(tmp_path / 'e.csv')!r}\n")  # an error goes to stderr
    assert main(["embed", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "facelab embed: error: give --out FILE, --store DIR or both\n"
    assert main(["embed", str(tmp_path / "nope"), "--out", str(tmp_path / "e.json")]) == 2
    assert "dataset folder not found" in capsys.readouterr().err


def test_unknown_model_is_one_line_not_a_traceback(make_folder, tmp_path, capsys):
    # Bug: create_embedder's ValueError escaped the CLI as a Python traceback.
    ds = make_folder(tmp_path / "ds", {"a": 1, "b": 1})
    assert main(["embed", str(ds), "--model", "nosuchmodel", "--out", str(tmp_path / "e.json"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("facelab embed: error: unknown model 'nosuchmodel'; choose from dlib")
    assert "ir_18" in err[0] and ".onnx" in err[0] and not (tmp_path / "e.json").exists()


def test_unknown_detector_is_one_line_not_a_traceback(make_folder, tmp_path, capsys):
    import pytest

    ds = make_folder(tmp_path / "ds", {"a": 1, "b": 1})
    with pytest.raises(SystemExit) as exit_:
        main(["embed", str(ds), "--detector", "nosuch", "--out", str(tmp_path / "e.json")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nosuch'" in err and "Traceback" not in err
    # Past the parser (a name given to the API), the registry's error, before any work.
    from facelab.core.errors import UnknownNameError
    from facelab.engine.pipeline import embed_folder

    with pytest.raises(UnknownNameError, match="unknown detector 'nosuch'; choose from dlib, mtcnn"):
        embed_folder(ds, detector="nosuch", progress=False)


def test_embed_into_a_store_resumes(tmp_path, copy_two_id, capsys):
    import pandas as pd

    root = copy_two_id(tmp_path / "ds", 2)
    store = tmp_path / "store"
    assert main(["embed", str(root), "--store", str(store), "--no-cache", "--quiet"]) == 0
    assert "0 images already there, 4 computed" in capsys.readouterr().out
    assert len(pd.read_parquet(store)) == 4
    assert main(["embed", str(root), "--store", str(store), "--out", str(tmp_path / "e.json"), "--quiet"]) == 0
    assert "4 images already there, 0 computed" in capsys.readouterr().out
    ids, vecs = read_embeddings(tmp_path / "e.json")
    assert len(ids) == 4 and len(pd.read_parquet(store)) == 4  # nothing appended twice
    assert main(["embed", str(root), "--quiet"]) == 2  # neither --out nor --store


def test_embed_a_flat_photo_folder_with_every_face(photo_folder, tmp_path, capsys):
    import shutil

    photos = tmp_path / "photos"
    shutil.copytree(photo_folder.photos, photos)
    (photos / "wall.png").write_bytes((photo_folder.photos / "photo_0001.jpg").read_bytes()[:200])  # cut short
    out = tmp_path / "faces.json"
    assert main(["embed", str(photos), "--policy", "all", "--out", str(out), "--quiet", "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert "wall.png: error:" in text
    ids, vecs = read_embeddings(out)
    # Every group photo has several faces; a detector may also find a face in an LFW photo's background.
    groups = set(photo_folder.truth.image_id[photo_folder.truth.image_id.str.startswith("group_")])
    multi = {i.split("#")[0] for i in ids if not i.endswith("#0")}
    assert multi >= groups and f"{len(multi)} images had several faces, every one embedded" in text
    assert len(ids) == len(set(ids)) == len(vecs) >= len(photo_folder.truth)
    assert {i.split("#")[0] for i in ids} == set(photo_folder.truth.image_id)
    assert all(i.rsplit("#", 1)[1].isdigit() for i in ids)


def test_embed_refuses_all_where_photos_are_per_identity_only(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["verify", str(tmp_path), "--policy", "all"])
    assert "invalid choice: 'all'" in capsys.readouterr().err
