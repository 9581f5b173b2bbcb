"""EmbedSettings: the seven settings, what they build, and the cache key (written out: it changes only
deliberately, with CACHE_VERSION)."""

from __future__ import annotations

import dataclasses

import pytest

from facelab.core.errors import UnknownNameError
from facelab.engine.settings import EmbedSettings, settings_key

# The folder names of file caches and the settings_key column of stores, written out so that a change
# of the key is deliberate. CACHE_VERSION 4 (detection at a bounded working resolution, dlib150_five for
# faces without 68 points, OpenCV's warp) changed every key; on version 3 (main 82ccf78 to 980bd54)
# the first was e1aec3b2e8595f7e1706.
DLIB_KEYS = [
    (dict(), "a6e7cc899f4a6cc3ab8b"),
    (dict(upsample=1), "59b998f5f64ac675d5af"),
    (dict(detector="mtcnn", policy="central"), "c6065b7ec7ab66c79058"),
    (dict(detector="dlib_mtcnn", policy="central"), "f850aa278c4d415dd3b9"),
    (dict(detector="yunet", policy="central"), "692186869d7407320f63"),
    (dict(flip=True), "8ae4da9c7215cbe587da"),
    (dict(flip=True, upsample=1), "6135e6cec5a1ec80017c"),
    (dict(flip=True, detector="mtcnn", policy="central"), "6807b9fa8ef1bbe94eae"),
    (dict(flip=True, detector="dlib_mtcnn", policy="central"), "d5265879dd38b1d8e76d"),
    (dict(flip=True, detector="yunet", policy="central"), "32f7dacb4edcf582067f"),
]
EDGEFACE_KEYS = [
    (dict(), "1edadd2bd0843599e66f"),
    (dict(upsample=1), "2df3df4befc0656fd53b"),
    (dict(detector="mtcnn", policy="central"), "4667d474d0e4c3c4de41"),
    (dict(detector="dlib_mtcnn", policy="central"), "3dc46f07eda662aa649e"),
    (dict(detector="yunet", policy="central"), "6d61ceccc06398510659"),
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
