"""One image, start to finish before the network: load -> detect -> align.

:func:`prepare_image` is the single implementation of these three stages, used by
:func:`facelab.engine.pipeline.embed_images` (in its executors), :func:`facelab.stages.alignment.align_dataset`
(``facelab align``) and, through :class:`~facelab.engine.result.EmbeddingResult`'s ``faces`` and
``chips``, by everything that shows faces. The image is decoded once; every image gets a
:class:`PreparedImage`, whatever happens, with the stage that failed and why.

With ``policy="all"`` (:data:`~facelab.stages.detection.EVERY_FACE`) every face of the photo is
aligned, numbered largest box first (:func:`~facelab.stages.detection.every_face_order`): the
:class:`PreparedImage` then holds ``faces``, ``alignments`` and ``residuals`` (one per face; its
``face`` / ``aligned`` / ``residual`` are face 0's) and :func:`embed_prepared` gives it a
``(K, D)`` array of vectors instead of one ``(D,)`` vector.

>>> from facelab.stages.detection import create_detector
>>> from facelab.stages.alignment import get_preset
>>> p = prepare_image("a.jpg", create_detector("dlib"), get_preset("arcface112"))  # doctest: +SKIP
>>> p.status, p.face.box, p.aligned.image.shape                                      # doctest: +SKIP
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np

from facelab.stages.faces import DetectionResult, DetectionStatus, Face

__all__ = ["PreparedImage", "prepare_image", "stage_timer", "embed_prepared", "fill_residual", "chip_region",
           "chip_reduction", "CHIP_OVERSAMPLING", "STAGES"]

#: The stages :func:`prepare_image` times, and the embedding after them.
STAGES = ("load", "detect", "align", "embed")


@dataclass
class PreparedImage:
    """One image loaded, detected and aligned (as far as it got).

    Attributes
    ----------
    path : str
    status : DetectionStatus
        ``ok``, ``no_face`` or ``error``: the detection's outcome, or ``error`` when a later stage failed.
    reason : str or None
        Why the status is not ``ok``.
    stage : {"load", "detect", "align", "embed"} or None
        The stage that failed (None when ok; ``no_face`` comes from ``detect``). ``embed`` is set
        by :func:`embed_prepared` when the network fails on the chip.
    detection : DetectionResult or None
        Every face found (None when the image could not be loaded or the detector failed).
    face : Face or None
        The face the multi-face policy chose.
    aligned : AlignedFace or None
        The chip (``aligned.image``), the image-to-chip ``matrix`` and the ``residual``.
    n_faces : int
        How many faces the detector found.
    residual : float
        Alignment residual (RMS px to the template; NaN without a chip; for
        ``dlib150`` the five points' fit to the ArcFace template, see :meth:`~facelab.stages.alignment.Preset.residual`).
    content_decided : bool
        Whether the outcome follows from the file's bytes alone (see :attr:`cacheable`).
    image : ndarray or None
        The decoded ``(H, W, 3)`` uint8 image, kept only with ``prepare_image(..., keep_image=True)``
        (for callers that re-align the same face many times).
    faces : list of Face or None
        Every-face mode only (None otherwise): every face of the photo, largest first (face ``k``
        is ``faces[k]``; empty when there is none).
    alignments : list of AlignedFace or None
        Every-face mode: the chip of each of ``faces`` (None when not aligned, e.g. read from a cache).
    residuals : list of float or None
        Every-face mode: the alignment residual of each of ``faces``.
    """

    path: str
    status: DetectionStatus
    reason: Optional[str] = None
    stage: Optional[str] = None
    detection: Optional[DetectionResult] = None
    face: Optional[Face] = None
    aligned: Optional[object] = None
    n_faces: int = 0
    residual: float = float("nan")
    content_decided: bool = True
    image: Optional[np.ndarray] = None
    faces: Optional[list] = None
    alignments: Optional[list] = None
    residuals: Optional[list] = None

    @property
    def ok(self) -> bool:
        return self.status == DetectionStatus.OK

    @property
    def every_face(self) -> bool:
        """Whether every face of the photo was kept (``policy="all"``)."""
        return self.faces is not None

    @property
    def chip(self) -> Optional[np.ndarray]:
        """The aligned chip, ``(S, S, 3)`` uint8, or None (every-face mode: face 0's)."""
        return None if self.aligned is None else self.aligned.image

    @property
    def chips(self) -> list:
        """The chips to embed, in face order: one (or, in every-face mode, one per face)."""
        if self.every_face:
            return [a.image for a in (self.alignments or [])]
        return [self.chip]

    @property
    def cacheable(self) -> bool:
        """True when the file's content decides the outcome: a face, no face, undecodable bytes.

        False for failures of our own stages (a detector, alignment or network error, a file that
        could not be opened), which a fix or a retry may change: those are never cached.
        """
        if self.status == DetectionStatus.ERROR:
            return self.stage == "load" and self.content_decided
        return True

    def failed(self, stage: str, reason: str, *, content_decided: bool = False) -> PreparedImage:
        """Mark this image as failed at ``stage`` (returns self)."""
        self.status, self.stage, self.reason, self.content_decided = DetectionStatus.ERROR, stage, reason, content_decided
        return self


@contextmanager
def stage_timer(times: Optional[dict], name: str):
    """Add the seconds the block takes (also when it raises) to ``times[name]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        if times is not None:
            times[name] = times.get(name, 0.0) + (time.perf_counter() - t0)


def prepare_image(path, detector, preset=None, *, policy: str = "largest", times: Optional[dict] = None,
                  keep_image: bool = False) -> PreparedImage:
    """Load, detect and align one image; never raises for a bad image.

    Parameters
    ----------
    path : path-like
    detector : Detector
        From :func:`facelab.stages.detection.create_detector`.
    preset : Preset, optional
        From :func:`facelab.stages.alignment.get_preset`; None stops after detection (``aligned`` stays
        None and an image with a face is ``ok``).
    policy : {"largest", "central", "all"}
        Which face is aligned when there are several; ``"all"``: every face, largest first (see
        :class:`PreparedImage`'s ``faces``; a photo whose faces cannot all be aligned is an error).
    times : dict, optional
        Seconds spent in ``load`` / ``detect`` / ``align`` are added to it.
    keep_image : bool
        Keep the decoded image in :attr:`PreparedImage.image` (at full resolution).

    A photo larger than the detector's ``max_side`` is detected at that working size (a JPEG
    decoded reduced, :func:`~facelab.data.imageio.load_image_reduced`), its faces are given in the
    photo's coordinates, and the chip is cut from the pixels around the face: from the detector's
    decode when that leaves two decoded pixels per chip pixel, else from the face's region decoded
    as reduced as still does (:func:`chip_reduction`,
    :func:`~facelab.data.imageio.load_image_region`): the time and memory of a big face in a big
    photo follow the face, not the photo.

    Returns
    -------
    PreparedImage
    """
    from facelab.data.imageio import ImageLoadError, load_image, load_image_reduced, load_image_region
    from facelab.stages.detection import EVERY_FACE
    from facelab.stages.working import result_to_full

    every = policy == EVERY_FACE
    path = str(path)
    out = PreparedImage(path, DetectionStatus.ERROR)
    try:
        with stage_timer(times, "load"):
            # A large JPEG is decoded reduced for the detector; the chip from a decode of its own below.
            if keep_image:
                image = load_image(path)
                full_size, scale = image.shape[:2], 1.0
            else:
                image, full_size, scale = load_image_reduced(path, getattr(detector, "max_side", None))
    except ImageLoadError as exc:
        return out.failed("load", exc.reason, content_decided=exc.content)
    except OSError as exc:
        return out.failed("load", f"cannot read ({exc.strerror or exc})")
    if keep_image:
        out.image = image
    try:
        with stage_timer(times, "detect"):
            # Every-face mode: the detection's chosen face is the largest, face 0.
            det = result_to_full(detector.detect(image, path=path, policy="largest" if every else policy),
                                 full_size, scale)
    except Exception as exc:
        return out.failed("detect", f"detector failed ({type(exc).__name__}: {exc})")
    out.detection, out.n_faces = det, len(det.faces)
    if every:
        return _prepare_every_face(out, path, image, scale, det, preset, times)
    if not det.ok or det.face is None:
        if det.ok or det.status is DetectionStatus.NO_FACE:
            out.status, out.stage, out.reason = DetectionStatus.NO_FACE, "detect", det.reason or "no face found"
            return out
        return out.failed("detect", det.reason or "detector failed")
    out.face = det.face
    if preset is None:
        out.status = DetectionStatus.OK
        return out
    origin, region_scale = (0, 0), scale
    # The detector's decode serves the chip too when it is fine enough for it (a big face); else the
    # face's region is decoded, as reduced as the chip allows.
    reduce = chip_reduction(preset, det.face) if scale != 1.0 else 1
    if scale * reduce < 1.0:
        try:
            with stage_timer(times, "load"):
                image, origin, region_scale = load_image_region(path, chip_region(det.face), reduce=reduce)
        except (ImageLoadError, OSError, ValueError) as exc:
            return out.failed("load", f"cannot read the face's region ({getattr(exc, 'reason', exc)})")
    try:
        with stage_timer(times, "align"):
            out.aligned = _align(preset, image, det.face, origin, region_scale)
    except Exception as exc:
        return out.failed("align", f"alignment failed ({type(exc).__name__}: {exc})")
    out.residual = float(out.aligned.residual)
    out.status, out.stage, out.reason = DetectionStatus.OK, None, None
    return out


def _prepare_every_face(out: PreparedImage, path: str, image, scale: float, det: DetectionResult, preset,
                        times) -> PreparedImage:
    """:func:`prepare_image`'s every-face branch: every face of ``det`` aligned, largest first; each chip
    cut as a single face's is (from the detector's decode, or its own region of a reduced photo)."""
    from facelab.data.imageio import ImageLoadError, load_image_region
    from facelab.stages.detection import every_face_order

    faces = [det.faces[k] for k in every_face_order(det.faces)] if det.ok else []
    out.faces, out.residuals = faces, []
    if not faces:
        if det.ok or det.status is DetectionStatus.NO_FACE:
            out.status, out.stage, out.reason = DetectionStatus.NO_FACE, "detect", det.reason or "no face found"
            return out
        return out.failed("detect", det.reason or "detector failed")
    out.face = faces[0]
    if preset is None:
        out.status = DetectionStatus.OK
        return out
    out.alignments = []
    for k, face in enumerate(faces):
        src, origin, region_scale = image, (0, 0), scale
        reduce = chip_reduction(preset, face) if scale != 1.0 else 1
        if scale * reduce < 1.0:
            try:
                with stage_timer(times, "load"):
                    src, origin, region_scale = load_image_region(path, chip_region(face), reduce=reduce)
            except (ImageLoadError, OSError, ValueError) as exc:
                out.alignments = None
                return out.failed("load", f"cannot read face {k}'s region ({getattr(exc, 'reason', exc)})")
        try:
            with stage_timer(times, "align"):
                out.alignments.append(_align(preset, src, face, origin, region_scale))
        except Exception as exc:
            out.alignments = None
            return out.failed("align", f"alignment of face {k} failed ({type(exc).__name__}: {exc})")
    out.residuals = [float(a.residual) for a in out.alignments]
    out.aligned, out.residual = out.alignments[0], out.residuals[0]
    out.status, out.stage, out.reason = DetectionStatus.OK, None, None
    return out


def chip_region(face: Face, margin: float = 1.0) -> tuple:
    """The part of a photo a face's chip can draw on: its box and points, widened on every side by
    ``margin`` times the box's longest side (a chip spans about 1.6 boxes, 2.3 when turned 45 degrees)."""
    pts = np.vstack([face.box.reshape(2, 2), face.landmarks])
    (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
    m = margin * max(face.box[2] - face.box[0], face.box[3] - face.box[1], 1.0)
    return (x1 - m, y1 - m, x2 + m, y2 + m)


#: Decoded pixels a chip gets per chip pixel at least, when its photo is decoded reduced for it.
CHIP_OVERSAMPLING = 2.0


def chip_reduction(preset, face: Face) -> int:
    """How many times smaller (1, 2, 4 or 8) a JPEG can be decoded for ``face``'s chip: the largest
    reduction that still leaves :data:`CHIP_OVERSAMPLING` decoded pixels per chip pixel (a face
    with 300 px between the eyes: 4 for a 112 px ArcFace chip). So the pixels decoded for a chip
    follow the face's size, not the photo's."""
    if not hasattr(preset, "chip_scale"):  # a plain function of (image, face): no reduction known to be safe
        return 1
    c = preset.chip_scale(face)
    fits = [d for d in (8, 4, 2) if d * c * CHIP_OVERSAMPLING <= 1.0]
    return fits[0] if fits else 1


def _align(preset, image: np.ndarray, face: Face, origin: tuple, scale: float = 1.0):
    """``preset(image, face)`` where ``image`` is the region starting at ``origin`` of the photo decoded at
    ``scale`` (decoded pixels per photo pixel); the chip's matrix maps photo coordinates, as if the
    whole photo had been given at full resolution."""
    if origin == (0, 0) and scale == 1.0:
        return preset(image, face)
    ox, oy = origin
    # Photo -> region: boxes are edges (scaled), points pixel centres ((p + 0.5) s - 0.5).
    to_region = np.array([[scale, 0, 0.5 * scale - 0.5 - ox], [0, scale, 0.5 * scale - 0.5 - oy], [0, 0, 1.0]])

    def pts(p):
        return None if p is None else np.asarray(p, np.float64) @ to_region[:2, :2].T + to_region[:2, 2]

    local = Face(box=face.box * scale - [ox, oy, ox, oy], score=face.score, landmarks=pts(face.landmarks),
                 landmarks68=pts(face.landmarks68))
    aligned = preset(image, local)
    aligned.matrix = np.asarray(aligned.matrix) @ to_region
    return aligned


def fill_residual(prepared: PreparedImage, preset) -> PreparedImage:
    """Give a face read back from a cache or store the residual ``preset`` gives it, when the entry
    has none (written before dlib's chip had one); it needs only the landmarks. Returns ``prepared``."""
    if prepared.face is not None and np.isnan(prepared.residual):
        prepared.residual = preset.residual(prepared.face)
    if prepared.every_face and prepared.faces:
        res = list(prepared.residuals or [float("nan")] * len(prepared.faces))
        prepared.residuals = [preset.residual(f) if np.isnan(r) else float(r) for f, r in zip(prepared.faces, res)]
        prepared.residual = prepared.residuals[0]
    return prepared


def embed_prepared(prepared: list, embedder, times: Optional[dict] = None) -> list:
    """Vectors for a list of :class:`PreparedImage` with one embedder call.

    Returns one ``(D,)`` float32 vector per ok image (every-face mode: a ``(K, D)`` array, one row
    per face) and None for the others. If the network fails, those images are marked ``error`` at
    stage ``embed`` (not cacheable) and get None.
    """
    where = [k for k, p in enumerate(prepared) if p.ok]
    vecs: list = [None] * len(prepared)
    if not where:
        return vecs
    chips, spans = [], []
    for k in where:
        c = prepared[k].chips
        spans.append((k, len(chips), len(c)))
        chips.extend(c)
    try:
        with stage_timer(times, "embed"):
            emb = embedder.embed(np.stack(chips))
        for k, start, m in spans:
            vecs[k] = emb[start : start + m] if prepared[k].every_face else emb[start]
    except Exception as exc:
        for k in where:
            prepared[k].failed("embed", f"embedding failed ({type(exc).__name__}: {exc})")
    return vecs
