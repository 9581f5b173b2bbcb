"""Typed detection results shared by every stage.

A detector returns, for each image, a :class:`DetectionResult`: an explicit status
(``ok`` / ``no_face`` / ``error``), a reason when not ok, and every :class:`Face` it found.
Each face carries its box, score and five named keypoints in ArcFace order
(:class:`Keypoint`), in image pixel coordinates, plus the 68 iBUG points where the
backend provides them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

__all__ = ["Keypoint", "Face", "DetectionStatus", "DetectionResult", "face_id"]


class Keypoint(enum.IntEnum):
    """The five landmarks of the ArcFace template, in template order.

    "Left" and "right" are as seen in the image (the subject's right eye is the image's left eye),
    matching the ArcFace template where the first point has the smaller x.
    """

    LEFT_EYE = 0
    RIGHT_EYE = 1
    NOSE = 2
    MOUTH_LEFT = 3
    MOUTH_RIGHT = 4


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes
    ----------
    box : numpy.ndarray
        ``(4,)`` float array ``[x1, y1, x2, y2]`` in image pixels.
    score : float
        Detector confidence (backend-specific scale; higher is more certain).
    landmarks : numpy.ndarray
        ``(5, 2)`` float array of ``(x, y)``, rows indexed by :class:`Keypoint`.
    landmarks68 : numpy.ndarray or None
        ``(68, 2)`` iBUG 300-W points when the backend has them.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray
    landmarks68: Optional[np.ndarray] = None

    def __post_init__(self):
        object.__setattr__(self, "box", np.asarray(self.box, dtype=np.float64).reshape(4))
        object.__setattr__(self, "landmarks", np.asarray(self.landmarks, dtype=np.float64).reshape(5, 2))
        if self.landmarks68 is not None:
            object.__setattr__(
                self, "landmarks68", np.asarray(self.landmarks68, dtype=np.float64).reshape(68, 2)
            )

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    @property
    def center(self) -> np.ndarray:
        """Box centre ``(x, y)``."""
        x1, y1, x2, y2 = self.box
        return np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0])

    def to_dict(self) -> dict:
        """JSON-ready dict: ``box``, ``score``, ``landmarks`` (5 points)."""
        out = {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks],
        }
        return out


class DetectionStatus(str, enum.Enum):
    """What happened to one image: ``ok``, ``no_face`` or ``error`` (the ``status`` strings of
    result tables). The one status enum: a detection's and a
    :class:`~facelab.stages.prepare.PreparedImage`'s (where ``error`` may come from a later stage)."""

    OK = "ok"
    NO_FACE = "no_face"
    ERROR = "error"


@dataclass
class DetectionResult:
    """What a detector found in one image.

    Attributes
    ----------
    image : str
        The image's path (or an identifier).
    status : DetectionStatus
    reason : str or None
        Why the status is not ``ok`` (e.g. the :class:`~facelab.data.imageio.ImageLoadError` reason).
    faces : list of Face
        Every face found, in the backend's order.
    chosen : int or None
        Index into ``faces`` of the face the multi-face policy picked.
    image_size : tuple of int or None
        ``(height, width)`` of the image as read.
    """

    image: str
    status: DetectionStatus
    reason: Optional[str] = None
    faces: list = field(default_factory=list)
    chosen: Optional[int] = None
    image_size: Optional[tuple] = None

    @property
    def face(self) -> Optional[Face]:
        """The face picked by the policy, or None."""
        return None if self.chosen is None else self.faces[self.chosen]

    @property
    def ok(self) -> bool:
        return self.status == DetectionStatus.OK

    def to_dict(self) -> dict:
        """JSON-ready dict in the ``facelab landmarks --format json`` schema."""
        return {
            "image": self.image,
            "status": self.status.value,
            "reason": self.reason,
            "chosen": self.chosen,
            "faces": [f.to_dict() for f in self.faces],
        }


def face_id(image_id, face=None) -> str:
    """The key that names one face: ``image_id`` when one face per photo is kept (``face`` None or
    missing), ``image_id#k`` for face ``k`` of a photo in every-face mode.

    Every place that needs one string per face uses it (an embeddings file's keys, a result's
    ``ids`` and ``rows_of``, a store's export), so they all agree with the tables' ``image_id``
    and ``face`` columns.

    >>> face_id("Ann/Ann_0001"), face_id("party", 2)
    ('Ann/Ann_0001', 'party#2')
    """
    return str(image_id) if face is None or pd.isna(face) else f"{image_id}#{int(face)}"
