"""EmbeddingCache: settings -> folder, content hash -> entry; damaged entries are recomputed."""

from __future__ import annotations

import numpy as np

from facelab.engine.cache import CACHE_VERSION, CacheEntry, EmbeddingCache
from facelab.stages.faces import Face


def _face():
    rng = np.random.default_rng(0)
    return Face(box=[10.5, 20, 110, 130], score=1.25, landmarks=rng.uniform(0, 100, (5, 2)),
                landmarks68=rng.uniform(0, 100, (68, 2)))


def test_round_trip_keeps_the_whole_face(tmp_path):
    cache = EmbeddingCache({"embedder": "x", "detector": "dlib"}, root=tmp_path)
    assert cache.settings["version"] == CACHE_VERSION and cache.folder.parent == tmp_path / "embeddings"
    face = _face()
    vec = np.arange(4, dtype=np.float32) / 7
    cache.put("ab" * 32, CacheEntry("ok", None, None, 2, face, 0.123456789, vec))
    got = cache.get("ab" * 32)
    assert (got.status, got.reason, got.stage, got.n_faces) == ("ok", None, None, 2)
    np.testing.assert_array_equal(got.vector, vec)
    assert got.residual == 0.123456789 and got.face.score == face.score
    np.testing.assert_array_equal(got.face.box, face.box)
    np.testing.assert_array_equal(got.face.landmarks, face.landmarks)
    np.testing.assert_array_equal(got.face.landmarks68, face.landmarks68)

    cache.put("cd" * 32, CacheEntry("no_face", "no face found by dlib", "detect", 0, None, float("nan"), None))
    none = cache.get("cd" * 32)
    assert none.status == "no_face" and none.face is None and none.vector is None and np.isnan(none.residual)
    assert cache.get("ef" * 32) is None


def test_settings_make_the_key_and_a_damaged_entry_is_a_miss(tmp_path):
    a = EmbeddingCache({"embedder": "x", "policy": "largest"}, root=tmp_path)
    b = EmbeddingCache({"policy": "largest", "embedder": "x"}, root=tmp_path)
    c = EmbeddingCache({"embedder": "x", "policy": "central"}, root=tmp_path)
    assert a.key == b.key != c.key
    a.put("ab" * 32, CacheEntry("ok", None, None, 1, _face(), 1.0, np.ones(3, np.float32)))
    a.path("ab" * 32).write_bytes(b"PK\x03\x04 not a whole zip")
    assert a.get("ab" * 32) is None
    assert not [p for p in a.path("ab" * 32).parent.iterdir() if p.name.startswith(".")]  # no temporaries
