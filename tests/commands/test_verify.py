"""``facelab verify`` with stubbed embeddings (metric logic) and one real run on the two-ID set."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pandas as pd
import pytest

from facelab import pipeline
from facelab.calibration import REFERENCE_CALIBRATION
from facelab.cli import main
from facelab import verification as V


def fake_embed_images(no_face=(), dim=16, noise=0.45):
    """An ``embed_images`` stand-in: one random centre per identity plus per-image noise."""

    def embed_images(images_df, **kwargs):
        rows, vecs = [], []
        for r in images_df.reset_index(drop=True).itertuples():
            ok = r.image_id not in no_face
            if ok:
                c = np.random.default_rng(zlib.crc32(str(r.identity).encode())).normal(size=dim)
                n = np.random.default_rng(zlib.crc32(str(r.image_id).encode())).normal(size=dim)
                v = c + noise * n
                vecs.append(v / np.linalg.norm(v))
            rows.append(dict(image_id=r.image_id, path=r.path, identity=r.identity,
                             status="ok" if ok else "no_face", reason="" if ok else "no face found",
                             n_faces=1 if ok else 0, box=None, landmarks=None, residual=None,
                             row=len(vecs) - 1 if ok else -1))
        return pipeline.EmbeddingResult(table=pd.DataFrame(rows, columns=pipeline.TABLE_COLUMNS),
                                        embeddings=np.asarray(vecs, np.float32).reshape(len(vecs), dim),
                                        model="fake", calibration=REFERENCE_CALIBRATION)

    return embed_images


def make_folder(root, counts):
    for ident, n in counts.items():
        d = root / ident
        d.mkdir(parents=True)
        for k in range(n):
            (d / f"{k}.jpg").write_bytes(b"\xff\xd8\xff")  # never read: embeddings are stubbed
    return root


@pytest.fixture
def stub(monkeypatch):
    def install(no_face=()):
        fake = fake_embed_images(no_face=no_face)
        monkeypatch.setattr(pipeline, "embed_images", fake)

        def embed_folder(root, **kw):
            from facelab.datasets import read_identity_folders

            ds = read_identity_folders(root)
            res = fake(ds.images, **kw)
            res.folder_skipped = ds.skipped.reset_index(drop=True)
            return res

        monkeypatch.setattr(pipeline, "embed_folder", embed_folder)
        return fake

    return install


def test_verify_json_matches_library(tmp_path, stub, capsys, monkeypatch):
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


def test_verify_table_and_sampling(tmp_path, stub, capsys):
    root = make_folder(tmp_path / "ds", {"a": 4, "b": 4, "c": 4})
    stub()
    assert main(["verify", str(root), "--max-impostors", "20", "--n-boot", "0", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "seeded sample of 20" in text and "AUC" in text and "best accuracy" in text
    assert "TAR@FAR=1e-3: n/a (only 20 impostor pairs" in text
    assert "note: only 3 identities" not in text  # no CIs computed (--n-boot 0)
    assert main(["verify", str(root), "--n-boot", "20", "--quiet"]) == 0
    assert "note: only 3 identities: the identity bootstrap" in capsys.readouterr().out


def test_verify_one_identity_is_a_clear_error(tmp_path, stub, capsys):
    root = make_folder(tmp_path / "ds", {"a": 4})
    stub()
    assert main(["verify", str(root), "--quiet"]) == 2
    assert "only one identity" in capsys.readouterr().err


@pytest.mark.slow
def test_verify_real_two_id(two_id_dir, capsys):
    """The real pipeline (dlib) on the two-ID set: the identities separate well."""
    pytest.importorskip("dlib")
    assert main(["verify", str(two_id_dir), "--format", "json", "--n-boot", "100", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["embedded"] >= 95 and d["auc"] > 0.97 and d["eer"] < 0.08
