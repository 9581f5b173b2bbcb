"""EmbeddingResult: the id -> row map, the settings key, the views in embedding order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.engine.result import TABLE_COLUMNS, EmbeddingResult


def _result():
    # Rows out of embedding order, and two images without an embedding.
    rows = [
        dict(image_id="b", path="b.jpg", identity="B", status="ok", reason=None, n_faces=1, box=None, landmarks=None,
             residual=0.1, row=1, sha256=None),
        dict(image_id="x", path="x.jpg", identity="X", status="no_face", reason="no face found", n_faces=0, box=None,
             landmarks=None, residual=np.nan, row=-1, sha256=None),
        dict(image_id="a", path="a.jpg", identity="A", status="ok", reason=None, n_faces=2, box=None, landmarks=None,
             residual=0.2, row=0, sha256=None),
        dict(image_id="y", path="y.jpg", identity="Y", status="error", reason="not an image", n_faces=0, box=None,
             landmarks=None, residual=np.nan, row=-1, sha256=None),
    ]
    emb = np.eye(2, 4, dtype=np.float32)
    settings = {"embedder": "m:1", "detector": "dlib", "policy": "largest", "alignment": "dlib150",
                "upsample": [0, 1], "version": 3, "embedder_description": "m", "cache": "/somewhere"}
    return EmbeddingResult(table=pd.DataFrame(rows, columns=TABLE_COLUMNS), embeddings=emb, model="m",
                           calibration=REFERENCE_CALIBRATION, settings=settings)


def test_rows_of_maps_ids_to_embedding_rows():
    res = _result()
    assert res.rows_of() == {"a": 0, "b": 1}  # embedding order
    assert res.ids == ["a", "b"] and res.identities == ["A", "B"]
    # Images without an embedding are absent (a caller counts them), unknown ids are an error.
    assert res.rows_of(["x", "b", "y"]) == {"b": 1}
    with pytest.raises(KeyError, match="'nobody'"):
        res.rows_of(["a", "nobody"])
    for image_id, row in res.rows_of().items():
        np.testing.assert_array_equal(res.vector(image_id), res.embeddings[row])
    assert all(isinstance(r, int) for r in res.rows_of().values())


def test_settings_key_is_the_caches_key():
    from facelab.engine.settings import settings_key

    res = _result()
    key = settings_key({"embedder": "m:1", "detector": "dlib", "policy": "largest", "alignment": "dlib150",
                        "upsample": [0, 1]})
    assert res.settings_key == key  # description, version and where it was cached are not part of it
    res.settings["settings_key"] = "from-a-store"
    assert res.settings_key == "from-a-store"


def test_every_face_rows_are_keyed_image_id_hash_face(tmp_path):
    from facelab.embedders.files import read_embeddings

    rows = [
        dict(image_id="party", face=0, path="party.jpg", identity="", status="ok", reason=None, n_faces=2, box=None,
             landmarks=None, residual=0.1, row=0, sha256=None),
        dict(image_id="party", face=1, path="party.jpg", identity="", status="ok", reason=None, n_faces=2, box=None,
             landmarks=None, residual=0.3, row=1, sha256=None),
        dict(image_id="wall", face=pd.NA, path="wall.jpg", identity="", status="no_face", reason="no face found",
             n_faces=0, box=None, landmarks=None, residual=np.nan, row=-1, sha256=None),
        dict(image_id="a#1", face=0, path="a#1.jpg", identity="", status="ok", reason=None, n_faces=1, box=None,
             landmarks=None, residual=0.2, row=2, sha256=None),
    ]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS).astype({"face": "Int64"})
    res = EmbeddingResult(table=table, embeddings=np.eye(3, 4, dtype=np.float32), model="m",
                          calibration=REFERENCE_CALIBRATION, settings={"policy": "all"})
    assert res.every_face
    assert res.ids == ["party#0", "party#1", "a#1#0"]  # an id with '#' in it stays unambiguous: the column says
    assert res.rows_of() == {"party#0": 0, "party#1": 1, "a#1#0": 2}
    assert res.rows_of(["wall", "party#1"]) == {"party#1": 1}
    np.testing.assert_array_equal(res.vector("party#1"), res.embeddings[1])
    with pytest.raises(KeyError, match="no_face"):
        res.vector("wall")
    ids, vecs = read_embeddings(res.write(tmp_path / "e.json"))
    assert ids == res.ids and np.array_equal(vecs, res.embeddings)
    assert res.summary().startswith("3 images: 3 faces embedded from 2 of them, 1 without a face")
