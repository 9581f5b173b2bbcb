"""Face detection and landmarking behind one interface.

The detectors return the same typed results (:class:`~facelab.stages.faces.DetectionResult`):

* ``"dlib"``: dlib's HOG detector (or its CNN/MMOD detector with ``kind="cnn"``) and the
  68-point iBUG shape predictor. The five ArcFace keypoints are derived from the 68 points:
  eye centres are the means of the eye contours (points 36-41 and 42-47), the nose tip is
  point 30 and the mouth corners are points 48 and 54.
* ``"mtcnn"``: facenet-pytorch's MTCNN, whose five points already come in ArcFace order.
  Same-size images are detected in batches.

Every image yields one result, whatever happens: ``ok`` with the face chosen by the
multi-face ``policy`` (``"largest"`` box or most ``"central"``), ``no_face``, or ``error`` with
the reason (e.g. the file is not an image).

Examples
--------
>>> from facelab.stages.detection import create_detector
>>> det = create_detector("dlib")                       # doctest: +SKIP
>>> res = det.detect_paths(["a.jpg", "b.png"])          # doctest: +SKIP
>>> res[0].face.landmarks                               # doctest: +SKIP
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Optional

import numpy as np

from facelab.core.registry import Registry
from facelab.models.dlib_files import dlib_object
from facelab.stages.faces import DetectionResult, DetectionStatus, Face
from facelab.stages.working import WORKING_SIDE, faces_to_full, result_to_full, working_image

__all__ = [
    "POLICIES",
    "EVERY_FACE",
    "FACE_SELECTIONS",
    "DETECTORS",
    "DLIB_UPSAMPLE_LADDER",
    "register_detector",
    "hog_detector",
    "choose_face",
    "every_face_order",
    "Detector",
    "DlibDetector",
    "LadderDetector",
    "MTCNNDetector",
    "create_detector",
]

def _discover():
    from facelab.stages.detectors import discover

    discover()


#: Detector classes by name: ``@register_detector("name")`` on a :class:`Detector` subclass (those
#: of :mod:`facelab.stages.detectors` register when the registry is first asked for its names).
DETECTORS = Registry("detector", discover=_discover)
register_detector = DETECTORS.register
#: dlib HOG upsampling tried in turn by :class:`LadderDetector`: the next unless exactly one face was found.
DLIB_UPSAMPLE_LADDER = (0, 1)
#: Multi-face policies: which of several faces an image is "about".
POLICIES = ("largest", "central")
#: The face selection that keeps every face of a photo (``--policy all``; see
#: :func:`facelab.stages.prepare.prepare_image`): face ``k`` of a photo, largest box first.
EVERY_FACE = "all"
#: Every face selection the engine takes: one face per photo by a policy, or every face.
FACE_SELECTIONS = POLICIES + (EVERY_FACE,)


def five_from_68(points68: np.ndarray) -> np.ndarray:
    """The five ArcFace keypoints from the 68 iBUG points.

    Eye centres are the means of the eye contours (36-41: the eye on the image's left, 42-47),
    the nose tip is point 30, the mouth corners points 48 and 54.
    """
    p = np.asarray(points68, dtype=np.float64).reshape(68, 2)
    return np.stack([p[36:42].mean(axis=0), p[42:48].mean(axis=0), p[30], p[48], p[54]])


def choose_face(faces: Sequence[Face], image_size: tuple, policy: str = "largest") -> Optional[int]:
    """Index of the face the multi-face policy picks, or None when there is none.

    Parameters
    ----------
    faces : sequence of Face
    image_size : (height, width)
    policy : {"largest", "central"}
        ``"largest"``: the biggest box; ``"central"``: the box centre closest to the image centre.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if not faces:
        return None
    if policy == "largest":
        return int(np.argmax([f.area for f in faces]))
    h, w = image_size[:2]
    centre = np.array([w / 2.0, h / 2.0])
    return int(np.argmin([np.linalg.norm(f.center - centre) for f in faces]))


def every_face_order(faces: Sequence[Face]) -> list[int]:
    """The order every-face mode numbers a photo's faces in: largest box first (equal boxes in the
    detector's order), so face 0 is the face the ``largest`` policy keeps."""
    return sorted(range(len(faces)), key=lambda k: (-faces[k].area, k))


def _as_rgb_uint8(image) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {arr.shape} dtype {arr.dtype}")
    return np.ascontiguousarray(arr)


class Detector(ABC):
    """A face detector + landmarker. Subclasses implement :meth:`find_faces`.

    Attributes
    ----------
    name : str
        The backend name (``"dlib"``, ``"mtcnn"``).
    max_side : int or None
        Longest side (pixels) of the image the detector looks at: a larger image is reduced to it
        and the faces mapped back to the image (:mod:`facelab.stages.working`); None: every image
        at its own size. Set it on an instance to change it.
    """

    name: str = "?"
    max_side: Optional[int] = WORKING_SIDE

    @abstractmethod
    def find_faces(self, image: np.ndarray) -> list[Face]:
        """Every face in one ``(H, W, 3)`` uint8 RGB image, in the backend's order."""

    def find_faces_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """:meth:`find_faces` over several images (backends may batch same-size images)."""
        return [self.find_faces(im) for im in images]

    def _result(self, faces, image, path, policy) -> DetectionResult:
        size = tuple(int(v) for v in np.shape(image)[:2])
        ident = str(path) if path is not None else "<array>"
        if not faces:
            return DetectionResult(ident, DetectionStatus.NO_FACE, f"no face found by {self.name}", [], None, size)
        return DetectionResult(ident, DetectionStatus.OK, None, list(faces), choose_face(faces, size, policy), size)

    def detect(self, image: np.ndarray, *, path=None, policy: str = "largest") -> DetectionResult:
        """Detect faces in one image.

        Parameters
        ----------
        image : numpy.ndarray
            ``(H, W, 3)`` uint8 RGB.
        path : path-like, optional
            Recorded as the result's ``image``.
        policy : {"largest", "central"}
            Which face is ``chosen`` when there are several.
        """
        choose_face([], (1, 1), policy)  # validate the policy before the work
        small, sx, sy = working_image(_as_rgb_uint8(image), self.max_side)
        faces = faces_to_full(self.find_faces(small), sx, sy)
        return self._result(faces, image, path, policy)

    def detect_batch(self, images: Sequence[np.ndarray], *, paths=None, policy: str = "largest") -> list[DetectionResult]:
        """Detect faces in several images (one result per image, in order)."""
        choose_face([], (1, 1), policy)
        images = [_as_rgb_uint8(im) for im in images]
        paths = list(paths) if paths is not None else [None] * len(images)
        if len(paths) != len(images):
            raise ValueError(f"{len(images)} images but {len(paths)} paths")
        work = [working_image(im, self.max_side) for im in images]
        found = self.find_faces_batch([w[0] for w in work])
        found = [faces_to_full(f, sx, sy) for f, (_, sx, sy) in zip(found, work)]
        return [self._result(f, im, p, policy) for f, im, p in zip(found, images, paths)]

    def detect_paths(
        self,
        paths: Sequence,
        *,
        policy: str = "largest",
        progress: bool = True,
        batch_size: int = 16,
    ) -> list[DetectionResult]:
        """Load and detect every image file; never drops one.

        Unreadable files get status ``error`` with the :class:`~facelab.data.imageio.ImageLoadError`
        reason; a failure inside the detector for one image is also recorded as ``error``. Large
        JPEGs are decoded reduced (:func:`~facelab.data.imageio.load_image_reduced`); faces are
        given in the photo's full-resolution coordinates.

        Parameters
        ----------
        paths : sequence of path-like
        policy : {"largest", "central"}
        progress : bool
            Show a tqdm progress bar.
        batch_size : int
            Images per detector call (only batching backends use more than one).
        """
        from tqdm.auto import tqdm

        from facelab.data.imageio import ImageLoadError, load_image_reduced

        choose_face([], (1, 1), policy)
        paths = [str(p) for p in paths]
        results: list[Optional[DetectionResult]] = [None] * len(paths)
        pending: list[tuple[int, np.ndarray]] = []
        decoded: dict[int, tuple] = {}  # index -> (full size, decode scale)

        def flush():
            if not pending:
                return
            idx = [i for i, _ in pending]
            ims = [im for _, im in pending]
            try:
                out = self.detect_batch(ims, paths=[paths[i] for i in idx], policy=policy)
            except Exception:  # one bad image must not sink the batch: retry one by one
                out = []
                for i, im in pending:
                    try:
                        out.append(self.detect(im, path=paths[i], policy=policy))
                    except Exception as exc:
                        out.append(
                            DetectionResult(paths[i], DetectionStatus.ERROR, f"detector failed ({type(exc).__name__}: {exc})",
                                            image_size=tuple(im.shape[:2]))
                        )
            for i, r in zip(idx, out):
                results[i] = result_to_full(r, *decoded.pop(i))
            pending.clear()

        bar = tqdm(total=len(paths), desc=f"detect ({self.name})", unit="img", disable=not progress)
        try:
            for i, p in enumerate(paths):
                try:
                    im, full_size, scale = load_image_reduced(p, self.max_side)
                    decoded[i] = (full_size, scale)
                except ImageLoadError as exc:
                    results[i] = DetectionResult(p, DetectionStatus.ERROR, exc.reason)
                    bar.update(1)
                    continue
                if pending and (pending[0][1].shape != im.shape or len(pending) >= batch_size):
                    n = len(pending)
                    flush()
                    bar.update(n)
                pending.append((i, im))
            n = len(pending)
            flush()
            bar.update(n)
        finally:
            bar.close()
        return results  # type: ignore[return-value]


@register_detector("dlib", description="dlib HOG (or CNN) + 68-point shape predictor")
class DlibDetector(Detector):
    """dlib HOG (or CNN/MMOD) detector with the 68-point shape predictor.

    Parameters
    ----------
    kind : {"hog", "cnn"}
        Which of dlib's face detectors: HOG + linear SVM (fast, frontal) or the CNN/MMOD detector (slower on CPU, more poses).
    upsample : int
        Times the image is upsampled before detection (finds smaller faces, costs time).
    threshold : float
        HOG ``adjust_threshold``; negative values find more (and more false) faces.
    """

    name = "dlib"

    def __init__(self, *, kind: str = "hog", upsample: int = 1, threshold: float = 0.0):
        if kind not in ("hog", "cnn"):
            raise ValueError(f"kind must be 'hog' or 'cnn', got {kind!r}")
        self.kind = kind
        self.upsample = int(upsample)
        self.threshold = float(threshold)

    def __repr__(self) -> str:
        return f"DlibDetector(kind={self.kind!r}, upsample={self.upsample})"

    def find_faces(self, image: np.ndarray) -> list[Face]:
        import dlib

        image = _as_rgb_uint8(image)
        if self.kind == "hog":
            rects, scores, _ = dlib_object("hog").run(image, self.upsample, self.threshold)
            found = list(zip(rects, scores))
        else:
            found = [(d.rect, d.confidence) for d in dlib_object("cnn")(image, self.upsample)]
        predictor = dlib_object("shape68")
        faces = []
        for rect, score in found:
            shape = predictor(image, dlib.rectangle(rect.left(), rect.top(), rect.right(), rect.bottom()))
            p68 = np.array([[pt.x, pt.y] for pt in shape.parts()], dtype=np.float64)
            # dlib boxes are inclusive pixel ranges; report [x1, y1, x2, y2] with x2 = right + 1.
            box = [rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1]
            faces.append(Face(box=box, score=float(score), landmarks=five_from_68(p68), landmarks68=p68))
        return faces


class LadderDetector(Detector):
    """dlib HOG at the image's own scale first, upsampled only when that is not conclusive.

    HOG with ``upsample=1`` scans a 2x image (about four times the work) to find faces under
    ~80 pixels. A rung of ``ladder`` is accepted when it finds exactly one face; with none, or
    with several (box sizes differ between scales, so the multi-face policy could pick another
    person than the ``upsample=1`` pass would), the next rung decides, and the last rung
    (``upsample=1``, dlib's and face_recognition's setting) always does. So a face is found in
    every image that pass finds one in, multi-face images get that pass's choice, and
    single-face images (most photos) cost a quarter. The pipeline's default dlib detector.

    Parameters
    ----------
    ladder : sequence of int
        HOG upsampling of each rung, in order (default :data:`DLIB_UPSAMPLE_LADDER`).
    """

    name = "dlib"

    def __init__(self, ladder=DLIB_UPSAMPLE_LADDER):
        self.ladder = tuple(int(u) for u in ladder)
        if not self.ladder:
            raise ValueError("the ladder needs at least one upsample value")
        self.rungs = [DlibDetector(upsample=u) for u in self.ladder]

    def __repr__(self) -> str:
        return f"LadderDetector(dlib hog, upsample {' then '.join(map(str, self.ladder))})"

    def find_faces(self, image: np.ndarray) -> list[Face]:
        for det in self.rungs[:-1]:
            faces = det.find_faces(image)
            if len(faces) == 1:
                return faces
        return self.rungs[-1].find_faces(image)


def hog_detector(upsample: Optional[int] = None) -> Detector:
    """The pipeline's dlib HOG detector: the :class:`LadderDetector` (own scale, then 2x) unless
    ``upsample`` fixes the scale."""
    return LadderDetector() if upsample is None else DlibDetector(upsample=int(upsample))


@register_detector("mtcnn", description="facenet-pytorch MTCNN (5 points)")
class MTCNNDetector(Detector):
    """facenet-pytorch's MTCNN (P-, R- and O-Net cascade) on the CPU.

    Parameters
    ----------
    min_face_size : int
        Smallest face searched for, in pixels.
    thresholds : sequence of 3 floats
        Per-stage score thresholds.
    device : {"cpu", "auto", "cuda"}
        Torch device (:func:`facelab.core.devices.resolve_device`; default the CPU).
    """

    name = "mtcnn"

    def __init__(self, *, min_face_size: int = 20, thresholds=(0.6, 0.7, 0.7), factor: float = 0.709, device: str = "cpu"):
        from facenet_pytorch import MTCNN

        from facelab.core.devices import resolve_device

        self.device = resolve_device(device)
        self.mtcnn = MTCNN(
            keep_all=True,
            device=self.device,
            min_face_size=min_face_size,
            thresholds=list(thresholds),
            factor=factor,
            post_process=False,
        )

    def __repr__(self) -> str:
        return f"MTCNNDetector(min_face_size={self.mtcnn.min_face_size})"

    def find_faces(self, image: np.ndarray) -> list[Face]:
        return self.find_faces_batch([image])[0]

    def find_faces_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        import torch

        images = [_as_rgb_uint8(im) for im in images]
        if not images:
            return []
        out: list[list[Face]] = []
        # MTCNN batches only equal-size images; split runs of equal shapes.
        start = 0
        while start < len(images):
            end = start + 1
            while end < len(images) and images[end].shape == images[start].shape:
                end += 1
            chunk = images[start:end]
            start = end
            if min(chunk[0].shape[:2]) < self.mtcnn.min_face_size:
                # No face can fit (and facenet-pytorch fails on an empty image pyramid).
                out.extend([] for _ in chunk)
                continue
            with torch.no_grad():
                boxes, probs, points = self.mtcnn.detect(np.stack(chunk), landmarks=True)
            for b, s, p in zip(boxes, probs, points):
                if b is None:
                    out.append([])
                    continue
                out.append([Face(box=b[k], score=float(s[k]), landmarks=p[k]) for k in range(len(b))])
        return out


@register_detector("dlib_mtcnn", description="dlib HOG + 68 points; MTCNN only where HOG finds no face")
class FallbackDetector(Detector):
    """dlib's HOG (the :class:`LadderDetector`) first; MTCNN only for photos where it finds no face.

    HOG is fast on the CPU but misses faces that are turned, small or partly hidden (23 of the
    7,701 images of LFW's pairs), and MTCNN finds nearly all of them at several times the cost
    per photo. Asking MTCNN only where HOG found nothing keeps HOG's speed and most of MTCNN's
    recall: EdgeFace's fast pipeline on CPUs. A photo HOG finds faces in keeps HOG's faces
    (and 68 points) -- MTCNN never overrules it. MTCNN (and PyTorch) is loaded at the first miss.

    Parameters
    ----------
    upsample : int, optional
        dlib HOG upsampling; None: the :class:`LadderDetector` (own scale, then 2x).
    device : {"cpu", "auto", "cuda"}
        Where MTCNN runs.
    """

    name = "dlib_mtcnn"

    def __init__(self, *, upsample: Optional[int] = None, device: str = "cpu"):
        self.first = hog_detector(upsample)
        self.device = device
        self._fallback: Optional[MTCNNDetector] = None
        #: Photos the fallback was asked about, and those it found a face in.
        self.fallback_calls = 0
        self.fallback_found = 0

    def __repr__(self) -> str:
        return f"FallbackDetector({self.first!r}, then MTCNN)"

    @property
    def fallback(self) -> MTCNNDetector:
        if self._fallback is None:
            self._fallback = MTCNNDetector(device=self.device)
        return self._fallback

    def find_faces(self, image: np.ndarray) -> list[Face]:
        faces = self.first.find_faces(image)
        if faces:
            return faces
        self.fallback_calls += 1
        faces = self.fallback.find_faces(image)
        self.fallback_found += bool(faces)
        return faces


def create_detector(detector: str = "dlib", **options) -> Detector:
    """A detector by registered name (``DETECTORS.names()``; a :class:`Detector` is returned as it is).

    Parameters
    ----------
    detector : str or Detector
        ``"dlib"``, ``"mtcnn"``, ``"dlib_mtcnn"``, ``"yunet"`` or any other registered name.
    **options
        Passed to :class:`DlibDetector` (``kind``, ``upsample``, ``threshold``),
        :class:`MTCNNDetector` (``min_face_size``, ``thresholds``, ``factor``, ``device``) or
        :class:`~facelab.stages.detectors.yunet.YuNetDetector` (``score_threshold``, ``weights``, ``threads``).

    Raises
    ------
    facelab.core.errors.UnknownNameError
        For a name no detector is registered under (the message lists them).
    """
    if isinstance(detector, Detector):
        return detector
    return DETECTORS.create(detector, **options)
