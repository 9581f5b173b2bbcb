"""YuNet, libfacedetection's millisecond face detector: boxes, scores and five ArcFace points.

The network (``yunet_n_dynamic.onnx``, Apache-2.0, in the weights table:
:mod:`facelab.models.weights`) runs in onnxruntime; facelab decodes its outputs itself,
exactly as OpenCV's ``cv2.FaceDetectorYN`` does (``tests/stages/test_yunet.py`` checks boxes,
points and scores against it on real LFW photos):

* input: BGR, 0-255, float32, NCHW, zero-padded on the bottom and right to a multiple of 32;
* twelve outputs, ``cls``, ``obj``, ``bbox`` and ``kps`` at strides 8, 16 and 32, one row per
  grid cell (row-major);
* score ``sqrt(clip(cls) * clip(obj))``; box centre ``(cell + d) * stride``, size
  ``exp(d) * stride``; keypoint ``(cell + d) * stride``;
* greedy NMS on the boxes truncated to integers (``cv2.dnn.NMSBoxes``, IoU 0.3).

onnxruntime (already a dependency) was chosen over ``cv2.FaceDetectorYN`` by measurement, one thread
each (``python benchmarks/yunet_runtime.py``): faster per LFW photo and per large photo alike.

The five points come in ArcFace order (:class:`~facelab.stages.faces.Keypoint`): the eye on the
image's left, the eye on the image's right, the nose tip, the mouth corner on the image's left,
on the image's right.
"""

from __future__ import annotations

import threading

import numpy as np

from facelab.stages.detection import Detector, register_detector
from facelab.stages.faces import Face

__all__ = ["YUNET_MODELS", "SCORE_THRESHOLD", "YuNetDetector", "decode_yunet", "nms_boxes"]

#: The YuNet weight files facelab knows (names in :data:`facelab.models.weights.KNOWN_WEIGHTS`). The
#: smaller yunet_s (OpenCV Zoo's 2023mar model) was measured and left out: the same LFW accuracy with
#: EdgeFace-XS (3 folds: 99.56 against 99.50%), 0.6 ms less per LFW photo, 16 ms less per 1280 px
#: working image, but worse points on faces under about 12 px between the eyes.
YUNET_MODELS = ("yunet_n",)
#: Default score threshold. On LFW's pairsDevTrain photos (3,443) and the two-ID set (100) every
#: photo's own face scores at least 0.876 and is found at any threshold up to 0.8 (0.9 loses 9);
#: below 0.6 the extra detections are mostly blurred or cut-off faces and some hands, from 0.6 up
#: mostly real faces in the background. OpenCV Zoo's demo uses 0.9, its class default is 0.6.
SCORE_THRESHOLD = 0.6
#: The network's strides, in the order of its outputs.
_STRIDES = (8, 16, 32)

_SESSIONS: dict = {}
_SESSIONS_LOCK = threading.Lock()


def _session(path: str, threads: int):
    """One onnxruntime session per (file, thread count) and process."""
    key = (path, threads)
    with _SESSIONS_LOCK:
        if key not in _SESSIONS:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            _SESSIONS[key] = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        return _SESSIONS[key]


def nms_boxes(boxes_xywh: np.ndarray, scores: np.ndarray, *, score_threshold: float, iou_threshold: float,
              top_k: int = 5000) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first, as ``cv2.dnn.NMSBoxes`` keeps them.

    Like OpenCV (and so ``FaceDetectorYN``), boxes are compared as integer rectangles (``x, y, w,
    h`` truncated toward zero), and only scores above ``score_threshold`` take part.
    """
    rect = np.trunc(np.asarray(boxes_xywh, dtype=np.float64)).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    cand = np.nonzero(scores > score_threshold)[0]
    order = cand[np.argsort(-scores[cand], kind="stable")][: top_k if top_k > 0 else None]
    x1, y1 = rect[:, 0], rect[:, 1]
    x2, y2 = x1 + rect[:, 2], y1 + rect[:, 3]
    area = rect[:, 2] * rect[:, 3]
    kept: list[int] = []
    for i in order:
        if kept:
            k = np.asarray(kept)
            iw = np.minimum(x2[i], x2[k]) - np.maximum(x1[i], x1[k])
            ih = np.minimum(y2[i], y2[k]) - np.maximum(y1[i], y1[k])
            inter = np.where((iw > 0) & (ih > 0), iw * ih, 0)
            union = area[i] + area[k] - inter
            iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
            if (iou > iou_threshold).any():
                continue
        kept.append(int(i))
    return np.asarray(kept, dtype=np.int64)


def decode_yunet(outputs, padded_size: tuple, *, score_threshold: float = SCORE_THRESHOLD,
                 nms_threshold: float = 0.3, top_k: int = 5000) -> np.ndarray:
    """Faces from YuNet's twelve outputs, as ``cv2.FaceDetectorYN.detect`` returns them.

    Parameters
    ----------
    outputs : sequence of 12 arrays
        ``cls_8, cls_16, cls_32, obj_8, ..., kps_32`` of one image (batch 1), in the network's order.
    padded_size : (height, width)
        The padded input's size (multiples of 32).

    Returns
    -------
    numpy.ndarray
        ``(N, 15)`` float32 rows ``x, y, w, h``, five ``(x, y)`` points, score; best first.
    """
    ph, pw = padded_size
    rows = []
    for i, stride in enumerate(_STRIDES):
        cols = pw // stride
        cls = np.clip(np.asarray(outputs[i]).reshape(-1), 0.0, 1.0)
        obj = np.clip(np.asarray(outputs[i + 3]).reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        idx = np.nonzero(score >= score_threshold)[0]
        if idx.size == 0:
            continue
        bbox = np.asarray(outputs[i + 6]).reshape(-1, 4)[idx]
        kps = np.asarray(outputs[i + 9]).reshape(-1, 5, 2)[idx]
        cell = np.stack([idx % cols, idx // cols], axis=1).astype(np.float32)
        centre = (cell + bbox[:, :2]) * stride
        size = np.exp(bbox[:, 2:]) * stride
        points = (kps + cell[:, None, :]) * stride
        rows.append(np.concatenate([centre - size / 2, size, points.reshape(-1, 10), score[idx, None]], axis=1))
    if not rows:
        return np.zeros((0, 15), np.float32)
    faces = np.concatenate(rows).astype(np.float32)
    if len(faces) > 1:
        faces = faces[nms_boxes(faces[:, :4], faces[:, 14], score_threshold=score_threshold,
                                iou_threshold=nms_threshold, top_k=top_k)]
    return faces


@register_detector("yunet", description="YuNet-n (libfacedetection, ONNX): box, score and 5 points; Apache-2.0")
class YuNetDetector(Detector):
    """libfacedetection's YuNet in onnxruntime, decoded as ``cv2.FaceDetectorYN`` does.

    Parameters
    ----------
    model : {"yunet_n"}
        Which weights (a :data:`YUNET_MODELS` entry of the weights table).
    weights : path-like, optional
        An explicit ``.onnx`` file (else looked up as :func:`facelab.models.weights.locate_weights`
        does: ``$FACELAB_WEIGHTS``, ``../shared/weights``, ``weights/``), SHA-256 checked.
    score_threshold : float
        Faces scoring below it are dropped (scores of real faces peak near 0.95).
    nms_threshold : float
        Boxes overlapping a better one by more than this IoU are dropped.
    top_k : int
        At most this many candidates enter NMS (OpenCV's default).
    threads : int
        onnxruntime threads (default 1: the pipeline's pool is the parallelism). YuNet runs on the CPU.

    Raises
    ------
    facelab.models.weights.WeightsNotFoundError
        The file is nowhere (the message lists every place and the fetch command).
    facelab.core.errors.CheckpointError
        The file found is not the published one.
    """

    name = "yunet"

    def __init__(self, *, model: str = "yunet_n", weights=None, score_threshold: float = SCORE_THRESHOLD,
                 nms_threshold: float = 0.3, top_k: int = 5000, threads: int = 1):
        from facelab.models.weights import locate_weights

        if model not in YUNET_MODELS:
            raise ValueError(f"model must be one of {YUNET_MODELS}, got {model!r}")
        if not 0.0 <= float(score_threshold) <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        self.model = model
        self.path = str(locate_weights(model, weights))
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.top_k = int(top_k)
        self.threads = max(1, int(threads))
        self._session = _session(self.path, self.threads)

    def __repr__(self) -> str:
        return f"YuNetDetector(model={self.model!r}, score_threshold={self.score_threshold})"

    def raw(self, image: np.ndarray) -> np.ndarray:
        """``cv2.FaceDetectorYN.detect``'s ``(N, 15)`` rows for one ``(H, W, 3)`` uint8 RGB image."""
        h, w = image.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        x = np.zeros((1, 3, ph, pw), np.float32)
        x[0, :, :h, :w] = image[:, :, ::-1].transpose(2, 0, 1)  # RGB -> BGR planes
        outputs = self._session.run(None, {"input": x})
        return decode_yunet(outputs, (ph, pw), score_threshold=self.score_threshold,
                            nms_threshold=self.nms_threshold, top_k=self.top_k)

    def find_faces(self, image: np.ndarray) -> list[Face]:
        return [Face(box=[r[0], r[1], r[0] + r[2], r[1] + r[3]], score=float(r[14]), landmarks=r[4:14].reshape(5, 2))
                for r in self.raw(image).astype(np.float64)]

