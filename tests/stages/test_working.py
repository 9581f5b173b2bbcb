"""Photos of any size: every detector looks at a bounded working image, its faces are mapped back to
the photo, and the chip is cut from the photo's full resolution.

The big photos are composed here from real LFW faces pasted on large backgrounds (nothing committed).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facelab.data.imageio import load_image
from facelab.stages.alignment import get_preset
from facelab.stages.detection import DlibDetector, create_detector
from facelab.stages.faces import DetectionResult, DetectionStatus, Face
from facelab.stages.prepare import chip_reduction, prepare_image
from facelab.stages.working import WORKING_SIDE, faces_to_full, result_to_full, working_image, working_size

#: Where Colin_Powell_0001 is pasted, and how much it is enlarged, in the 4000x3000 photo.
ORIGIN, ENLARGE = (2100, 900), 4


@pytest.fixture(scope="module")
def source(lfw):
    """Colin_Powell_0001 and its five points (MTCNN), the reference the big photo's face is checked against."""
    im = Image.open(lfw.image_path("Colin_Powell", 1)).convert("RGB")
    return im, create_detector("mtcnn").detect(np.asarray(im)).face.landmarks


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory, source):
    """A 4000x3000 JPEG with the LFW photo pasted 4x enlarged (an inter-ocular distance of about 150 px)."""
    im, _ = source
    canvas = Image.new("RGB", (4000, 3000), (110, 125, 140))
    canvas.paste(im.resize((250 * ENLARGE, 250 * ENLARGE), Image.Resampling.BICUBIC), ORIGIN)
    path = tmp_path_factory.mktemp("big") / "big.jpg"
    canvas.save(path, quality=92)
    return path


def _expected(source, det=None):
    """The five points ``det`` (default: MTCNN's) finds in the LFW photo, carried into the big photo
    (pixel centres scale about their edges)."""
    points = source[1] if det is None else det.detect(np.asarray(source[0])).face.landmarks
    return (points + 0.5) * ENLARGE - 0.5 + ORIGIN


def test_working_size_and_the_mapping_back():
    assert working_size((3000, 4000), 1280) == (960, 1280) and working_size((4000, 3000), 1280) == (1280, 960)
    assert working_size((250, 250), 1280) == (250, 250) and working_size((9000, 10), None) == (9000, 10)
    assert working_size((50000, 1), 1000) == (1000, 1)  # never below one pixel
    img = np.zeros((300, 400, 3), np.uint8)
    assert working_image(img, 400)[0] is img and working_image(img, None)[1:] == (1.0, 1.0)
    small, sx, sy = working_image(img, 100)
    assert small.shape == (75, 100, 3) and (sx, sy) == (0.25, 0.25)
    face = Face(box=[10, 20, 30, 40], score=0.9, landmarks=np.arange(10).reshape(5, 2), landmarks68=np.ones((68, 2)))
    (full,) = faces_to_full([face], 0.25, 0.5)
    np.testing.assert_allclose(full.box, [40, 40, 120, 80])
    np.testing.assert_allclose(full.landmarks, (face.landmarks + 0.5) / [0.25, 0.5] - 0.5)
    np.testing.assert_allclose(full.landmarks68, (1.5 / np.array([0.25, 0.5]) - 0.5) * np.ones((68, 2)))
    res = DetectionResult("x", DetectionStatus.OK, None, [face], 0, (75, 100))
    back = result_to_full(res, (300, 400), 0.25)
    assert back.image_size == (300, 400) and back.chosen == 0 and back.faces[0].box[2] == 120
    assert result_to_full(res, (75, 100), 1.0) is res


class SpyDetector(DlibDetector):
    """dlib's HOG detector that records the size of every image it is given."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def find_faces(self, image):
        self.seen.append(image.shape[:2])
        return super().find_faces(image)


def test_a_big_photo_is_detected_small_and_aligned_from_a_decode_the_chip_needs(big_photo, source):
    det, preset = SpyDetector(upsample=0), get_preset("arcface112")
    p = prepare_image(big_photo, det, preset)
    assert det.seen == [(960, 1280)]  # decoded at half size, reduced the rest of the way
    assert p.ok and p.detection.image_size == (3000, 4000)
    iod = np.linalg.norm(p.face.landmarks[1] - p.face.landmarks[0])
    assert iod > 100
    expected = _expected(source)
    assert np.linalg.norm(p.face.landmarks - expected, axis=1).mean() < 0.1 * iod
    # 150 px between the eyes, 35 in the chip: the face's region is decoded at half size (still 2 decoded
    # pixels per chip pixel), and the chip is the one the whole full-resolution photo gives, to JPEG noise.
    full = load_image(big_photo)
    assert chip_reduction(preset, p.face) == 2
    ref = preset(full, p.face)
    assert np.abs(p.chip.astype(int) - ref.image).mean() < 2
    np.testing.assert_allclose(p.aligned.matrix, ref.matrix)
    # dlib's chip (53 px between the eyes in 150: a full-resolution decode; its 5-point predictor runs
    # inside the mapped box) is the whole photo's exactly.
    d = prepare_image(big_photo, det, get_preset("dlib150"))
    assert chip_reduction(get_preset("dlib150"), d.face) == 1
    np.testing.assert_array_equal(d.chip, get_preset("dlib150")(full, d.face).image)
    # Without a bound the detector sees the whole photo.
    det.seen.clear()
    det.max_side = None
    assert prepare_image(big_photo, det, None).ok and det.seen == [(3000, 4000)]


@pytest.mark.parametrize("name", ["dlib", "mtcnn", "yunet", "dlib_mtcnn"])
def test_every_detector_finds_the_face_of_a_big_photo(big_photo, source, name, request):
    if name.startswith("yunet"):
        request.getfixturevalue("yunet_weights")
    det = create_detector(name)
    assert det.max_side == WORKING_SIDE
    p = prepare_image(big_photo, det, get_preset("arcface112"))
    assert p.ok and p.n_faces == 1, p.reason
    iod = np.linalg.norm(p.face.landmarks[1] - p.face.landmarks[0])
    # Where the same detector puts them in the LFW photo, carried into the big photo.
    assert np.linalg.norm(p.face.landmarks - _expected(source, det), axis=1).mean() < 0.1 * iod
    assert p.residual < 5
    # detect_paths (facelab landmarks) gives the same faces in the photo's coordinates.
    (r,) = det.detect_paths([big_photo], progress=False)
    assert r.image_size == (3000, 4000)
    np.testing.assert_allclose(r.face.landmarks, p.face.landmarks)


def test_photos_under_the_bound_are_left_as_they_are(lfw):
    path = lfw.image_path("Colin_Powell", 1)
    det = SpyDetector(upsample=1)
    p = prepare_image(path, det, get_preset("arcface112"))
    assert det.seen == [(250, 250)]
    ref = DlibDetector(upsample=1).find_faces(load_image(path))[0]
    np.testing.assert_array_equal(p.face.landmarks, ref.landmarks)
    np.testing.assert_array_equal(p.face.box, ref.box)


def test_the_pixels_decoded_for_a_chip_follow_the_face_not_the_photo(tmp_path, source, monkeypatch):
    """The same scene at 12 and 48 megapixels decodes the same number of pixels: for detection (by 2 and by
    4), and for the chip, either that decode (ArcFace's 112 px chip of a face 150 / 300 px between the eyes)
    or the face's region decoded by 1 and by 2 (dlib's 150 px chip needs more); the chips agree."""
    import facelab.data.imageio as imageio

    decoded = []

    def spy(fn):
        def wrapped(*a, **kw):
            out = fn(*a, **kw)
            decoded.append((fn.__name__, out[0].shape[0] * out[0].shape[1], out[2]))
            return out

        return wrapped

    monkeypatch.setattr(imageio, "load_image_reduced", spy(imageio.load_image_reduced))
    monkeypatch.setattr(imageio, "load_image_region", spy(imageio.load_image_region))
    im, _ = source
    det = create_detector("dlib", upsample=0)
    chips: dict = {"arcface112": [], "dlib150_five": []}
    seen = {}
    for k in (1, 2):
        canvas = Image.new("RGB", (4000 * k, 3000 * k), (110, 125, 140))
        canvas.paste(im.resize((250 * ENLARGE * k, 250 * ENLARGE * k), Image.Resampling.BICUBIC),
                     (ORIGIN[0] * k, ORIGIN[1] * k))
        path = tmp_path / f"scene{k}.jpg"
        canvas.save(path, quality=92)
        for name in chips:
            decoded.clear()
            p = prepare_image(path, det, get_preset(name))
            assert p.ok and p.detection.image_size == (3000 * k, 4000 * k)
            chips[name].append(p.chip.astype(int))
            seen[name, k] = list(decoded)
    for k, scale in ((1, 0.5), (2, 0.25)):
        assert seen["arcface112", k] == [("load_image_reduced", 3_000_000, scale)]  # the chip from that decode
    (r1, n1, s1), (r2, n2, s2) = seen["dlib150_five", 1][1], seen["dlib150_five", 2][1]
    assert r1 == r2 == "load_image_region" and (s1, s2) == (1.0, 0.5)
    assert 0.8 < n2 / n1 < 1.25 and n1 < 2_000_000  # the face and a margin, not the 12 or 48 megapixels
    for name, (a, b) in chips.items():
        assert np.abs(a - b).mean() < 3, name
