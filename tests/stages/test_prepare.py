"""prepare_image: load -> detect -> align in one place, with a typed outcome for every image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facelab.stages.alignment import get_preset
from facelab.stages.detection import Detector, create_detector
from facelab.stages.faces import DetectionStatus
from facelab.stages.prepare import PreparedImage, embed_prepared, prepare_image


@pytest.fixture(scope="module")
def dlib_det():
    return create_detector("dlib", upsample=0)


@pytest.fixture(scope="module")
def photo(lfw):
    return str(lfw.image_path("Colin_Powell", 1))


def test_a_photo_is_loaded_detected_and_aligned(photo, dlib_det):
    times = {}
    p = prepare_image(photo, dlib_det, get_preset("arcface112"), times=times)
    assert p.status is DetectionStatus.OK and p.ok and p.stage is None and p.reason is None and p.cacheable
    assert p.n_faces == 1 and p.detection.face is p.face and p.face.landmarks68.shape == (68, 2)
    assert p.chip.shape == (112, 112, 3) and p.chip.dtype == np.uint8
    assert p.aligned.matrix.shape == (3, 3) and p.residual == p.aligned.residual < 5
    assert set(times) == {"load", "detect", "align"} and all(v > 0 for v in times.values())
    # The chip is the face: the eyes land on the template.
    np.testing.assert_allclose(p.aligned.transform_points(p.face.landmarks), p.aligned.landmarks)


def test_every_failure_has_its_stage_and_only_content_decided_ones_are_cacheable(tmp_path, photo, dlib_det):
    preset = get_preset("arcface112")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 100, 3), 200, np.uint8)).save(blank)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")

    no_face = prepare_image(blank, dlib_det, preset)
    assert (no_face.status, no_face.stage, no_face.n_faces, no_face.cacheable) == (DetectionStatus.NO_FACE, "detect", 0, True)
    assert "no face" in no_face.reason and no_face.face is None and no_face.aligned is None

    bad = prepare_image(broken, dlib_det, preset)
    assert (bad.status, bad.stage, bad.cacheable) == (DetectionStatus.ERROR, "load", True)  # the bytes decide
    missing = prepare_image(tmp_path / "gone.jpg", dlib_det, preset)
    assert (missing.status, missing.stage, missing.cacheable) == (DetectionStatus.ERROR, "load", False)
    assert missing.reason == "file not found"

    class Broken(Detector):
        name = "broken"

        def find_faces(self, image):
            raise RuntimeError("model not loaded")

    failed = prepare_image(photo, Broken(), preset)
    assert (failed.status, failed.stage, failed.cacheable) == (DetectionStatus.ERROR, "detect", False)
    assert failed.reason == "detector failed (RuntimeError: model not loaded)"

    def bad_preset(image, face):
        raise ValueError("degenerate landmarks")

    unaligned = prepare_image(photo, dlib_det, bad_preset)
    assert (unaligned.status, unaligned.stage, unaligned.cacheable) == (DetectionStatus.ERROR, "align", False)
    assert unaligned.face is not None and unaligned.n_faces == 1  # what was found is kept


def test_embed_prepared_batches_and_marks_a_network_failure(photo, dlib_det):
    preset = get_preset("dlib150")
    ok = prepare_image(photo, dlib_det, preset)
    none = PreparedImage("x", DetectionStatus.NO_FACE, reason="no face", stage="detect")

    class Net:
        def embed(self, chips):
            assert chips.shape == (1, 150, 150, 3)
            return np.ones((1, 4), np.float32)

    vecs = embed_prepared([none, ok], Net())
    assert vecs[0] is None and vecs[1].shape == (4,)

    class Failing:
        def embed(self, chips):
            raise MemoryError("out of memory")

    assert embed_prepared([ok], Failing()) == [None]
    assert (ok.status, ok.stage, ok.cacheable) == (DetectionStatus.ERROR, "embed", False)
    assert ok.reason == "embedding failed (MemoryError: out of memory)"


class _Two(Detector):
    """Two faces of one LFW photo's landmarks, the second shifted right and half as large."""

    name = "two"

    def __init__(self, face):
        self.face = face

    def find_faces(self, image):
        from facelab.stages.faces import Face

        f = self.face
        small = Face(box=f.box / 2 + [120, 0, 120, 0], score=0.5, landmarks=f.landmarks / 2 + [120, 0])
        return [small, f]  # the detector's order: smaller first


def test_every_face_mode_aligns_every_face_largest_first(photo, dlib_det):
    from facelab.embedders.embedding import DlibEmbedder

    one = prepare_image(photo, dlib_det, get_preset("dlib150"))
    det = _Two(one.face)
    p = prepare_image(photo, det, get_preset("dlib150"), policy="all")
    assert p.ok and p.every_face and p.n_faces == 2 and len(p.faces) == len(p.alignments) == len(p.residuals) == 2
    assert p.faces[0] is p.face and p.face.area > p.faces[1].area  # numbered largest first, whatever the detector's order
    assert p.detection.face is p.face  # the detection's chosen face is face 0
    assert [c.shape for c in p.chips] == [(150, 150, 3)] * 2 and p.chip is p.chips[0]
    np.testing.assert_array_equal(p.chips[0], one.chip)
    vecs = embed_prepared([one, p], DlibEmbedder())
    assert vecs[0].shape == (128,) and vecs[1].shape == (2, 128)
    np.testing.assert_allclose(vecs[1][0], vecs[0], atol=1e-6)  # the same face, the same vector
    # No face: one no_face image with an empty face list; detect only (no preset): every face, no chips.
    blank = prepare_image(photo, _None(), get_preset("dlib150"), policy="all")
    assert blank.status is DetectionStatus.NO_FACE and blank.faces == [] and blank.every_face and blank.cacheable
    bare = prepare_image(photo, det, None, policy="all")
    assert bare.ok and len(bare.faces) == 2 and bare.alignments is None


class _None(Detector):
    name = "none"

    def find_faces(self, image):
        return []
