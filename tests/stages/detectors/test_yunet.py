"""The YuNet detector: facelab's decoder against OpenCV's FaceDetectorYN on real LFW photos, its
five points in ArcFace order, and the weights' lookup.

Every test needs the YuNet files (``yunet_weights`` fixture: skips, saying where it looked, when they
are absent); the decoder checks need OpenCV too (``opencv-python-headless``, a test dependency).
"""

from __future__ import annotations

import numpy as np
import pytest

from facelab.data.imageio import load_image
from facelab.stages.detection import DETECTORS, create_detector
from facelab.stages.faces import Keypoint


@pytest.fixture(scope="module")
def photos(lfw):
    """40 LFW photos of different people, among them photos with several faces."""
    people = sorted(lfw.identities().identity)[::150][:38]
    paths = [lfw.image_path(p, 1) for p in people]
    paths += [lfw.image_path("Colin_Powell", 68), lfw.image_path("Tony_Blair", 27)]  # two faces each
    return paths


def _cv2_detector(path, size, threshold):
    cv2 = pytest.importorskip("cv2", reason="the decoder check needs OpenCV (pip install opencv-python-headless)")
    return cv2.FaceDetectorYN.create(str(path), "", size, threshold, 0.3, 5000)


@pytest.mark.parametrize("threshold", [0.6, 0.3])
def test_decoder_equals_opencv_facedetectoryn(photos, yunet_weights, threshold):
    """Boxes, five points and scores equal cv2.FaceDetectorYN's (same weights, same photos), to float tolerance;
    a low threshold gives NMS overlapping candidates to settle."""
    det = create_detector("yunet", score_threshold=threshold)
    n_faces = 0
    for path in photos:
        rgb = load_image(path)
        ours = det.raw(rgb)
        ref = _cv2_detector(yunet_weights["yunet_n"], (rgb.shape[1], rgb.shape[0]), threshold)
        _, theirs = ref.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
        theirs = np.zeros((0, 15), np.float32) if theirs is None else theirs
        assert ours.shape == theirs.shape, path
        np.testing.assert_allclose(ours, theirs, atol=2e-3, rtol=1e-4, err_msg=str(path))
        n_faces += len(ours)
    assert n_faces >= len(photos) + 2  # the two-face photos were decoded with both faces


def test_nms_equals_opencv(yunet_weights):
    cv2 = pytest.importorskip("cv2", reason="needs OpenCV (pip install opencv-python-headless)")
    from facelab.stages.detectors.yunet import nms_boxes

    rng = np.random.default_rng(0)
    for _ in range(20):
        xy = rng.uniform(-20, 200, size=(60, 2))
        wh = rng.uniform(5, 80, size=(60, 2))
        boxes = np.concatenate([xy, wh], axis=1).astype(np.float32)
        scores = rng.uniform(0, 1, 60).astype(np.float32)
        ref = cv2.dnn.NMSBoxes([[int(v) for v in b] for b in boxes], scores.tolist(), 0.5, 0.3, top_k=5000)
        assert nms_boxes(boxes, scores, score_threshold=0.5, iou_threshold=0.3).tolist() == np.asarray(ref).reshape(-1).tolist()


def test_five_points_in_arcface_order_near_dlibs(photos, yunet_weights):
    """Every photo has a face; its points are in ArcFace order and, on average, within a tenth of the eye
    distance of the same five points from dlib's 68 (eye centres, nose tip, mouth corners)."""
    yunet, dlib = create_detector("yunet"), create_detector("dlib")
    gaps = []
    for path in photos:
        rgb = load_image(path)
        r, m = yunet.detect(rgb, policy="central"), dlib.detect(rgb, policy="central")
        assert r.ok and r.face.score > 0.85, path
        p = r.face.landmarks
        assert p[Keypoint.LEFT_EYE, 0] < p[Keypoint.RIGHT_EYE, 0] and p[Keypoint.MOUTH_LEFT, 0] < p[Keypoint.MOUTH_RIGHT, 0]
        assert p[:2, 1].max() < p[Keypoint.NOSE, 1] < p[3:, 1].min()
        x1, y1, x2, y2 = r.face.box
        assert ((p >= [x1, y1]) & (p <= [x2, y2])).all()
        if m.ok:  # HOG misses a few turned faces
            gaps.append(np.linalg.norm(p - m.face.landmarks, axis=1).mean() / np.linalg.norm(p[1] - p[0]))
    assert len(gaps) >= 30 and np.mean(gaps) < 0.12, (len(gaps), np.mean(gaps))


def test_registered_and_threshold(yunet_weights, lfw):
    assert "yunet" in DETECTORS.names()
    rgb = load_image(lfw.image_path("Colin_Powell", 68))
    low, high = create_detector("yunet", score_threshold=0.3), create_detector("yunet", score_threshold=0.99)
    assert len(low.find_faces(rgb)) >= 2 and high.find_faces(rgb) == []
    assert high.detect(rgb).status.value == "no_face"
    with pytest.raises(ValueError, match="score_threshold"):
        create_detector("yunet", score_threshold=1.5)
    with pytest.raises(ValueError, match="model must be one of"):
        create_detector("yunet", model="yunet_xl")


def test_missing_weights_say_where_and_how_to_fetch(no_weights_checkout):
    from facelab.models.weights import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="facelab weights fetch yunet_n") as err:
        create_detector("yunet")
    assert "Apache-2.0" in str(err.value)
