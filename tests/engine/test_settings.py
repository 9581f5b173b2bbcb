"""EmbedSettings: the seven settings, what they build, and the cache key (unchanged from before the engine
was rebuilt, so existing caches and stores keep answering)."""

from __future__ import annotations

import dataclasses

import pytest

from facelab.core.errors import UnknownNameError
from facelab.engine.settings import EmbedSettings, settings_key

# Keys computed on main 82ccf78 (before EmbedSettings) by
# settings_key(embedding_settings(create_embedder(model, flip=...), detector=..., policy=..., upsample=...)):
# the folder names of existing file caches and the settings_key column of existing stores.
DLIB_KEYS = [
    (dict(), "e1aec3b2e8595f7e1706"),
    (dict(upsample=1), "a1a43947c8a8e7a7664f"),
    (dict(detector="mtcnn", policy="central"), "02212b5cc77f97d0b44b"),
    (dict(detector="dlib_mtcnn", policy="central"), "347d7bc5d72510101042"),
    (dict(flip=True), "445a689ec76b28280b14"),
    (dict(flip=True, upsample=1), "7377dfabcb66b0844884"),
    (dict(flip=True, detector="mtcnn", policy="central"), "5942d17e081422f8cc37"),
    (dict(flip=True, detector="dlib_mtcnn", policy="central"), "98ac64c5ca46614169af"),
]
EDGEFACE_KEYS = [
    (dict(), "c1557c291d629ac3d799"),
    (dict(upsample=1), "fdba4d2c958bdb2c8c90"),
    (dict(detector="mtcnn", policy="central"), "3ff0bf7152a130679635"),
    (dict(detector="dlib_mtcnn", policy="central"), "a4b090e9fd256da1da3e"),
]


@pytest.mark.parametrize("fields, key", DLIB_KEYS)
def test_dlib_keys_are_those_of_existing_caches(fields, key):
    s = EmbedSettings(**fields)
    assert s.key(s.build_embedder()) == key


@pytest.mark.parametrize("fields, key", EDGEFACE_KEYS)
def test_edgeface_keys_are_those_of_existing_caches(fields, key, edgeface_weights):
    s = EmbedSettings(model="edgeface_xs", weights=edgeface_weights["edgeface_xs"], **fields)
    assert s.key(s.build_embedder()) == key


def test_key_ignores_dict_order_and_device_but_not_the_settings():
    assert settings_key({"embedder": "x", "policy": "largest"}) == settings_key({"policy": "largest", "embedder": "x"})
    assert settings_key({"embedder": "x", "policy": "largest"}) != settings_key({"embedder": "x", "policy": "central"})
    emb = EmbedSettings().build_embedder()
    # The device changes vectors only to float rounding: the same entries serve CPU and GPU runs.
    assert EmbedSettings(device="cpu").key(emb) == EmbedSettings(device="auto").key(emb)
    # upsample decides dlib's boxes only.
    assert EmbedSettings(detector="mtcnn", upsample=1).key(emb) == EmbedSettings(detector="mtcnn").key(emb)


def test_bad_settings_fail_before_any_work():
    with pytest.raises(UnknownNameError, match="unknown detector 'retina'"):
        EmbedSettings(detector="retina")
    with pytest.raises(UnknownNameError, match="unknown policy 'biggest'; choose from largest, central, all"):
        EmbedSettings(policy="biggest")
    with pytest.raises(TypeError, match="unknown embedding setting 'chunk_size'; the settings are model, weights"):
        EmbedSettings.of(None, chunk_size=4)
    s = EmbedSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.flip = True


def test_of_replaces_fields_and_builds_what_they_name():
    from facelab.stages.detection import DlibDetector, LadderDetector

    base = EmbedSettings(model="dlib", policy="central")
    s = EmbedSettings.of(base, flip=True, upsample=1)
    assert (s.model, s.policy, s.flip, s.upsample) == ("dlib", "central", True, 1) and base.flip is False
    assert EmbedSettings.of(base) is base
    assert s.build_embedder().flip is True
    assert isinstance(EmbedSettings().build_detector(), LadderDetector)  # the upsample ladder
    assert isinstance(s.build_detector(), DlibDetector) and s.build_detector().upsample == 1
    ready = LadderDetector()
    r = EmbedSettings(detector=ready)
    assert not r.by_name and r.build_detector() is ready and r.detector_name == ready.name
    assert r.cache_settings(r.build_embedder())["detector"] == repr(ready)


def test_every_face_mode_has_its_own_key_and_detects_at_2x():
    from facelab.stages.detection import DlibDetector

    emb = EmbedSettings().build_embedder()
    every = EmbedSettings(policy="all")
    assert every.every_face and not EmbedSettings().every_face
    # The ladder stops at one face at a photo's own scale: no evidence there is no smaller face beside it.
    assert every.detection_upsample == 1 and EmbedSettings().detection_upsample is None
    assert isinstance(every.build_detector(), DlibDetector) and every.build_detector().upsample == 1
    assert every.cache_settings(emb)["upsample"] == 1 and every.cache_settings(emb)["policy"] == "all"
    assert EmbedSettings(policy="all", upsample=0).detection_upsample == 0  # a fixed scale stays fixed
    keys = {EmbedSettings(**f).key(emb) for f, _ in DLIB_KEYS if "flip" not in f and "detector" not in f}
    assert every.key(emb) not in keys and len(keys) == 2
