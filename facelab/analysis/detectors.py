"""Several detectors on the same photos (computing only): their times and how far their landmarks disagree.

- :func:`compare_detectors`: each detector on each photo -- the chosen face's box and five points,
  the number of faces, and the detection time per photo (the detect step alone, on the decoded
  photo, after a warm-up) -- and the landmark agreement of every two of them.
- :func:`landmark_agreement`: two detectors' five points on the photos both found a face in, as a
  fraction of the inter-ocular distance (the mean of their two), per point and overall.

Notebook 01 shows dlib, MTCNN and YuNet with them; ``facelab lfw --detector A --detector B`` compares
the detectors' accuracy (:func:`facelab.analysis.models.compare_on_lfw`).

Examples
--------
>>> from facelab.analysis.detectors import compare_detectors
>>> cmp = compare_detectors(paths, ["dlib", "mtcnn", "yunet"])          # doctest: +SKIP
>>> cmp.times_ms()                                                        # doctest: +SKIP
>>> cmp.agreement("mtcnn", "yunet").per_point                             # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from facelab.stages.faces import Keypoint

__all__ = ["DetectorRun", "LandmarkAgreement", "DetectorComparison", "compare_detectors", "landmark_agreement"]


@dataclass
class DetectorRun:
    """One detector on a list of photos.

    Attributes
    ----------
    detector : str
    paths : list of str
    landmarks : numpy.ndarray
        ``(N, 5, 2)`` five points of each photo's chosen face, photo coordinates; NaN without a face.
    boxes : numpy.ndarray
        ``(N, 4)`` its box ``x1, y1, x2, y2``; NaN without a face.
    n_faces : numpy.ndarray
        ``(N,)`` faces found.
    ms : numpy.ndarray
        ``(N,)`` milliseconds of the detect step (the detector on the decoded photo; decoding not
        included, as it is the same for every detector). NaN where the photo could not be read.
    reasons : list of (str or None)
        Why a photo has no face (``no face found by ...``, an unreadable file's reason).
    """

    detector: str
    paths: list
    landmarks: np.ndarray
    boxes: np.ndarray
    n_faces: np.ndarray
    ms: np.ndarray
    reasons: list

    @property
    def found(self) -> np.ndarray:
        """``(N,)`` bool: a face was chosen."""
        return ~np.isnan(self.landmarks[:, 0, 0])


@dataclass
class LandmarkAgreement:
    """How far detector ``b``'s five points lie from detector ``a``'s, in inter-ocular distances.

    Attributes
    ----------
    a, b : str
    per_photo : numpy.ndarray
        ``(N, 5)`` distance of each point / the photo's inter-ocular distance (the mean of ``a``'s
        and ``b``'s); NaN where either found no face.
    per_point : pandas.Series
        Mean over the photos both found a face in, by :class:`~facelab.stages.faces.Keypoint` name.
    overall : float
        Mean over those photos and the five points.
    n_photos : int
        Photos both found a face in.
    """

    a: str
    b: str
    per_photo: np.ndarray
    per_point: pd.Series
    overall: float
    n_photos: int

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "overall": self.overall, "n_photos": self.n_photos,
                "per_point": {k: float(v) for k, v in self.per_point.items()}}


def landmark_agreement(a: DetectorRun, b: DetectorRun) -> LandmarkAgreement:
    """Distance between two detectors' five points on the same photos, as a fraction of the inter-ocular
    distance (the mean of the two detectors' own), per point and overall.

    Raises
    ------
    ValueError
        The runs are not on the same photos.
    """
    if list(a.paths) != list(b.paths):
        raise ValueError("the two detector runs are not on the same photos")
    le, re = Keypoint(0), Keypoint(1)
    iod = 0.5 * (np.linalg.norm(a.landmarks[:, re] - a.landmarks[:, le], axis=1)
                 + np.linalg.norm(b.landmarks[:, re] - b.landmarks[:, le], axis=1))
    d = np.linalg.norm(a.landmarks - b.landmarks, axis=2) / iod[:, None]
    both = a.found & b.found
    names = [k.name.lower() for k in Keypoint]
    per_point = pd.Series(np.nanmean(d[both], axis=0) if both.any() else np.full(5, np.nan), index=names)
    overall = float(np.nanmean(d[both])) if both.any() else float("nan")
    return LandmarkAgreement(a.detector, b.detector, d, per_point, overall, int(both.sum()))


@dataclass
class DetectorComparison:
    """:func:`compare_detectors`' result: a :class:`DetectorRun` per detector, the agreement of every two."""

    runs: dict
    agreements: list = field(default_factory=list)

    def agreement(self, a: str, b: str) -> LandmarkAgreement:
        """The agreement of ``a`` and ``b`` (in either order)."""
        for g in self.agreements:
            if (g.a, g.b) in ((a, b), (b, a)):
                return g
        raise KeyError(f"no agreement of {a} and {b}; detectors: {', '.join(self.runs)}")

    def times_ms(self) -> pd.DataFrame:
        """Per detector: photos, faces chosen, and the detect step's median, mean and 90th percentile (ms)."""
        rows = []
        for name, r in self.runs.items():
            ms = r.ms[~np.isnan(r.ms)]
            rows.append({"detector": name, "photos": len(r.paths), "with a face": int(r.found.sum()),
                         "median ms": float(np.median(ms)) if ms.size else np.nan,
                         "mean ms": float(ms.mean()) if ms.size else np.nan,
                         "p90 ms": float(np.percentile(ms, 90)) if ms.size else np.nan})
        return pd.DataFrame(rows).set_index("detector")

    def agreement_table(self) -> pd.DataFrame:
        """Every two detectors: photos both found, the overall and per-point mean distance (fractions of the IOD)."""
        return pd.DataFrame([{"a": g.a, "b": g.b, "photos": g.n_photos, "overall": g.overall, **g.per_point.to_dict()}
                             for g in self.agreements])


def compare_detectors(paths: Sequence, detectors: Sequence[str] = ("dlib", "mtcnn", "yunet"), *,
                      policy: str = "central", reference: Optional[str] = None) -> DetectorComparison:
    """Run each detector on the same photos: times per photo and landmark disagreement.

    Each photo is decoded once per detector as the pipeline does it
    (:func:`facelab.data.imageio.load_image_reduced`); the detect step is timed alone, after one
    untimed warm-up call per detector (model loading, first-call set-up).

    Parameters
    ----------
    paths : sequence of path-like
    detectors : sequence of str
        Registered detector names (built as the pipeline builds them,
        :func:`facelab.engine.settings.make_detector`).
    policy : {"largest", "central"}
        Which face of a photo is compared.
    reference : str, optional
        Compare every detector with this one only (default: every two).

    Returns
    -------
    DetectorComparison
    """
    from facelab.data.imageio import ImageLoadError, load_image_reduced
    from facelab.engine.settings import make_detector
    from facelab.stages.detection import choose_face
    from facelab.stages.working import result_to_full

    choose_face([], (1, 1), policy)  # an unknown policy fails before any work
    paths = [str(p) for p in paths]
    detectors = list(detectors)
    if len(set(detectors)) != len(detectors):
        raise ValueError(f"a detector is named twice: {', '.join(detectors)}")
    if reference is not None and reference not in detectors:
        raise ValueError(f"reference {reference!r} is not one of the detectors {detectors}")
    n = len(paths)
    runs = {}
    for name in detectors:
        det = make_detector(name)
        lm, boxes = np.full((n, 5, 2), np.nan), np.full((n, 4), np.nan)
        n_faces, ms, reasons = np.zeros(n, int), np.full(n, np.nan), [None] * n
        warm = False
        for i, p in enumerate(paths):
            try:
                image, full, scale = load_image_reduced(p, det.max_side)
            except (ImageLoadError, OSError) as exc:
                reasons[i] = getattr(exc, "reason", str(exc))
                continue
            if not warm:
                det.detect(image, path=p, policy=policy)
                warm = True
            t0 = time.perf_counter()
            res = det.detect(image, path=p, policy=policy)
            ms[i] = 1000 * (time.perf_counter() - t0)
            res = result_to_full(res, full, scale)
            n_faces[i] = len(res.faces)
            if res.face is None:
                reasons[i] = res.reason
                continue
            lm[i], boxes[i] = res.face.landmarks, res.face.box
        runs[name] = DetectorRun(name, paths, lm, boxes, n_faces, ms, reasons)
    pairs = ([(reference, d) for d in detectors if d != reference] if reference is not None
             else [(a, b) for i, a in enumerate(detectors) for b in detectors[i + 1:]])
    return DetectorComparison(runs, [landmark_agreement(runs[a], runs[b]) for a, b in pairs])
