"""Photos of any size: detectors work at a bounded resolution, faces are mapped back to the photo.

A 4000x3000 phone photo holds 40 times the pixels of the 640-pixel images detectors are built
for: detecting at full size costs seconds and gigabytes (MTCNN: about 6 s and 2.1 GB) and finds
no face a reduced copy would miss, down to faces of a few tens of pixels. So every
:class:`~facelab.stages.detection.Detector` reduces an image whose longest side exceeds its
``max_side`` (:data:`WORKING_SIDE` by default) before looking for faces, and maps the boxes and
points back to the image it was given (:func:`working_image`, :func:`faces_to_full`); and
:func:`facelab.stages.prepare.prepare_image` decodes JPEGs reduced for detection
(:func:`facelab.data.imageio.load_image_reduced`) and cuts the chip from a decode of the face's region (reduced as far as the chip allows).

Coordinates: boxes are edges (``x1`` is the left edge of the first pixel inside), so they scale by
the size ratio; points are pixel centres (as the detectors give them), so ``x_full + 0.5 =
(x_work + 0.5) / scale``. Images at or under ``max_side`` are left as they are: LFW's 250x250
photos give exactly what they gave before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np

from facelab.stages.faces import DetectionResult, Face

__all__ = ["WORKING_SIDE", "working_size", "working_image", "faces_to_full", "result_to_full"]

#: Default longest side (pixels) of the image a detector works on. Faces are found with their five
#: points in place (within 0.15 eye distances) down to about 8 (YuNet), 10 (MTCNN) and 15 (dlib's
#: HOG ladder) pixels between the eyes in the working image: at 1,280, 24, 32 and 48 px in a
#: 4000x3000 photo; at 640 dlib's HOG found nothing under 256 px there
#: (``python benchmarks/working_resolution.py``). YuNet detects such a working image in about 50 ms.
WORKING_SIDE = 1280


def working_size(size: tuple, max_side: Optional[int]) -> tuple[int, int]:
    """``(height, width)`` an image of ``size`` (``(height, width)``) is reduced to: the longest side
    at most ``max_side``, the aspect kept, at least one pixel (``max_side=None``: unchanged)."""
    h, w = int(size[0]), int(size[1])
    if max_side is None or max(h, w) <= int(max_side):
        return h, w
    s = int(max_side) / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def working_image(image: np.ndarray, max_side: Optional[int]) -> tuple[np.ndarray, float, float]:
    """``image`` reduced so that its longest side is at most ``max_side``, and the scales ``(sx, sy)``
    (working pixels per image pixel; ``1.0`` when it is left as it is).

    The reduction is Pillow's antialiased bilinear resize (with a box pre-reduction for large
    factors, ``reducing_gap=3``), so small faces keep their contrast.
    """
    h, w = image.shape[:2]
    wh, ww = working_size((h, w), max_side)
    if (wh, ww) == (h, w):
        return image, 1.0, 1.0
    from PIL import Image

    small = Image.fromarray(np.ascontiguousarray(image)).resize((ww, wh), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(small), ww / w, wh / h


def _points(p: Optional[np.ndarray], sx: float, sy: float) -> Optional[np.ndarray]:
    if p is None:
        return None
    return (np.asarray(p, dtype=np.float64) + 0.5) / [sx, sy] - 0.5


def faces_to_full(faces: Sequence[Face], sx: float, sy: float) -> list[Face]:
    """Faces found in an image scaled by ``(sx, sy)``, in the original image's coordinates."""
    if sx == 1.0 and sy == 1.0:
        return list(faces)
    return [Face(box=np.asarray(f.box) / [sx, sy, sx, sy], score=f.score, landmarks=_points(f.landmarks, sx, sy),
                 landmarks68=_points(f.landmarks68, sx, sy)) for f in faces]


def result_to_full(result: DetectionResult, full_size: tuple, scale: float) -> DetectionResult:
    """A detection made on a reduced decode of a photo (``scale`` decoded pixels per photo pixel), in
    the coordinates of the photo, whose upright size is ``full_size`` (``(height, width)``)."""
    full_size = (int(full_size[0]), int(full_size[1]))
    if scale == 1.0:
        return result
    faces = faces_to_full(result.faces, scale, scale)
    return DetectionResult(result.image, result.status, result.reason, faces, result.chosen, full_size)
