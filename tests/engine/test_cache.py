"""EmbeddingCache: settings key -> folder, content hash -> entry; damaged entries are recomputed."""

from __future__ import annotations

import numpy as np

from facelab.engine.cache import CacheEntry, CacheRecord, EmbeddingCache, EntryCache
from facelab.stages.faces import Face


def _face():
    rng = np.random.default_rng(0)
    return Face(box=[10.5, 20, 110, 130], score=1.25, landmarks=rng.uniform(0, 100, (5, 2)),
                landmarks68=rng.uniform(0, 100, (68, 2)))


def test_round_trip_keeps_the_whole_face(tmp_path):
    cache = EmbeddingCache(root=tmp_path)
    assert isinstance(cache, EntryCache) and not cache.required
    assert cache.folder("k1") == tmp_path / "embeddings" / "k1"
    assert cache.describe("k1") == {"cache": str(tmp_path / "embeddings" / "k1")}
    face = _face()
    vec = np.arange(4, dtype=np.float32) / 7
    cache.put([CacheRecord("a", "a.jpg", "x", "ab" * 32, CacheEntry("ok", None, None, 2, face, 0.123456789, vec))],
              settings_key="k1", dim=4)
    got = cache.get("ab" * 32, settings_key="k1")
    assert (got.status, got.reason, got.stage, got.n_faces) == ("ok", None, None, 2)
    np.testing.assert_array_equal(got.vector, vec)
    assert got.residual == 0.123456789 and got.face.score == face.score
    np.testing.assert_array_equal(got.face.box, face.box)
    np.testing.assert_array_equal(got.face.landmarks, face.landmarks)
    np.testing.assert_array_equal(got.face.landmarks68, face.landmarks68)

    cache.put_entry("cd" * 32, CacheEntry("no_face", "no face found by dlib", "detect", 0, None, float("nan"), None),
                    settings_key="k1")
    none = cache.get("cd" * 32, settings_key="k1")
    assert none.status == "no_face" and none.face is None and none.vector is None and np.isnan(none.residual)
    assert cache.get("ef" * 32, settings_key="k1") is None
    # lookup: what is held, under this key only; None digests (unreadable files) are skipped.
    assert set(cache.lookup(["ab" * 32, "cd" * 32, "ef" * 32, None], settings_key="k1")) == {"ab" * 32, "cd" * 32}
    assert cache.lookup(["ab" * 32], settings_key="k2") == {}


def test_a_damaged_entry_is_a_miss(tmp_path):
    a = EmbeddingCache(root=tmp_path)
    a.put_entry("ab" * 32, CacheEntry("ok", None, None, 1, _face(), 1.0, np.ones(3, np.float32)), settings_key="k")
    path = a.path("ab" * 32, settings_key="k")
    path.write_bytes(b"PK\x03\x04 not a whole zip")
    assert a.get("ab" * 32, settings_key="k") is None and a.lookup(["ab" * 32], settings_key="k") == {}
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporaries


def test_an_every_face_entry_holds_the_photos_faces_in_order(tmp_path):
    cache = EmbeddingCache(root=tmp_path)
    rng = np.random.default_rng(1)
    faces = [_face(), Face(box=[200, 20, 260, 90], score=0.5, landmarks=rng.uniform(200, 260, (5, 2)))]
    vecs = rng.standard_normal((2, 4)).astype(np.float32)
    entry = CacheEntry("ok", None, None, 2, faces[0], 0.25, vecs, faces=faces, residuals=[0.25, 1.5])
    cache.put_entry("ab" * 32, entry, settings_key="every")
    got = cache.get("ab" * 32, settings_key="every")
    np.testing.assert_array_equal(got.vector, vecs)
    np.testing.assert_array_equal(got.vectors(), vecs)
    assert got.residuals == [0.25, 1.5] and [f.score for f in got.faces] == [1.25, 0.5]
    np.testing.assert_array_equal(got.faces[1].box, faces[1].box)
    assert got.faces[1].landmarks68 is None and got.face.score == 1.25
    prep = got.prepared("p.jpg")
    assert prep.every_face and prep.faces[1].score == 0.5 and prep.residuals == [0.25, 1.5] and prep.ok
    # A photo without a face in every-face mode: no face list stored, one given on the way back.
    cache.put_entry("cd" * 32, CacheEntry("no_face", "no face found", "detect", 0, None, float("nan"), None,
                                          faces=[], residuals=[]), settings_key="every")
    none = cache.get("cd" * 32, settings_key="every")
    assert none.faces == [] and none.prepared("q.jpg").faces == [] and none.vectors() is None
    # A one-face entry read in every-face mode becomes a list of one (a store's one-face rows).
    one = CacheEntry("ok", None, None, 1, faces[0], 0.25, vecs[0])
    assert one.prepared("r.jpg", every_face=True).faces == [faces[0]] and one.vectors().shape == (1, 4)
    # Vectors that do not match the faces are damage: a miss.
    bad = CacheEntry("ok", None, None, 2, faces[0], 0.25, vecs[:1], faces=faces, residuals=[0.25, 1.5])
    cache.put_entry("ef" * 32, bad, settings_key="every")
    assert cache.get("ef" * 32, settings_key="every") is None


def test_one_face_entries_are_written_as_before(tmp_path):
    # The file cache's one-face entries keep their layout, so existing caches keep answering.
    import json

    cache = EmbeddingCache(root=tmp_path)
    cache.put_entry("ab" * 32, CacheEntry("ok", None, None, 1, _face(), 0.5, np.ones(4, np.float32)), settings_key="k")
    with np.load(cache.path("ab" * 32, settings_key="k")) as z:
        assert sorted(json.loads(str(z["row"]))) == ["face", "n_faces", "reason", "residual", "stage", "status"]
        assert z["vector"].shape == (4,)
