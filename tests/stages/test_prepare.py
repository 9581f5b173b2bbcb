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
    from facelab.embedders.dlib import DlibEmbedder

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


# ------------------------------------------------------------------------------------------
# Awkward photos: each gives a result or a clear reason (composed here from LFW faces)
# ------------------------------------------------------------------------------------------

AWKWARD_DETECTORS = ["dlib", "mtcnn", "yunet"]


def _detector(name, request):
    if name.startswith("yunet"):
        request.getfixturevalue("yunet_weights")  # skips, saying where it looked, without the files
    from facelab.engine.settings import make_detector

    return make_detector(name)


@pytest.fixture(scope="module")
def awkward(tmp_path_factory, lfw):
    """A 1x1 image, an empty 3000x2000 photo, a face cut by the photo's right edge, a decompression bomb."""
    import struct
    import zlib

    d = tmp_path_factory.mktemp("awkward")
    Image.new("RGB", (1, 1), (9, 9, 9)).save(d / "one.png")
    Image.new("RGB", (3000, 2000), (200, 180, 160)).save(d / "empty.jpg")
    edge = Image.new("RGB", (2000, 1500), (90, 100, 90))
    edge.paste(Image.open(lfw.image_path("Colin_Powell", 1)).resize((750, 750)), (2000 - 450, 300))
    edge.save(d / "edge.jpg", quality=92)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    (d / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0))
                                 + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return d


@pytest.mark.parametrize("name", AWKWARD_DETECTORS)
def test_awkward_photos_give_a_result_or_a_clear_reason(awkward, name, request):
    det, preset = _detector(name, request), get_preset("arcface112")
    for photo in ("one.png", "empty.jpg"):
        p = prepare_image(awkward / photo, det, preset)
        assert (p.status, p.stage, p.reason) == (DetectionStatus.NO_FACE, "detect", f"no face found by {det.name}"), photo
    bomb = prepare_image(awkward / "bomb.png", det, preset)
    assert (bomb.status, bomb.stage, bomb.cacheable) == (DetectionStatus.ERROR, "load", True)
    assert bomb.reason.startswith("image too large: 400,000,000 pixels (limit ")
    # Half the face lies past the right edge: it is found, and its chip is black where the photo ends.
    cut = prepare_image(awkward / "edge.jpg", det, preset)
    assert cut.ok and cut.n_faces == 1 and cut.face.box[0] > 1500, cut.reason
    outside = cut.chip.max(axis=2) == 0
    assert outside[:, -5:].mean() > 0.9 and outside[:, :40].mean() == 0


@pytest.fixture(scope="module")
def fifty(tmp_path_factory, lfw):
    """50 LFW faces (different people) in a 10 x 5 grid on a 3000x2000 photo, and their boxes."""
    names = list(lfw.identities().identity[:400:8])[:50]
    canvas, boxes = Image.new("RGB", (3000, 2000), (120, 130, 140)), []
    for i, n in enumerate(names):
        x, y = 60 + (i % 10) * 290, 60 + (i // 10) * 380
        canvas.paste(Image.open(lfw.image_path(n, 1)).crop((50, 40, 200, 210)).resize((225, 255)), (x, y))
        boxes.append((x, y, x + 225, y + 255))
    path = tmp_path_factory.mktemp("fifty") / "fifty.jpg"
    canvas.save(path, quality=92)
    return path, boxes


@pytest.mark.parametrize("name", ["dlib", "yunet"])
def test_fifty_faces_are_all_found(fifty, name, request):
    path, boxes = fifty
    p = prepare_image(path, _detector(name, request), get_preset("arcface112"))
    assert p.ok and p.chip.shape == (112, 112, 3)
    found = set()
    for f in p.detection.faces:
        cx, cy = f.center
        found |= {k for k, (x1, y1, x2, y2) in enumerate(boxes) if x1 <= cx <= x2 and y1 <= cy <= y2}
    assert found == set(range(50)), sorted(set(range(50)) - found)
    assert 50 <= p.n_faces <= 52  # at most a face inside a pasted photo's own background
