"""Reference solutions for notebook 01 (landmarking)."""

from __future__ import annotations

import time

import numpy as np

from facelab import create_detector, read_identity_folders
from facelab.stages.faces import Keypoint


def exercise_1(dataset, *, detector: str = "dlib") -> float:
    """Median inter-ocular distance (pixels) of the faces found in ``dataset``."""
    paths = list(read_identity_folders(dataset).images.path)
    results = create_detector(detector).detect_paths(paths, progress=False)
    iod = [np.linalg.norm(r.face.landmarks[Keypoint.RIGHT_EYE] - r.face.landmarks[Keypoint.LEFT_EYE])
           for r in results if r.ok]
    return float(np.median(iod))


def exercise_2(dataset, *, upsamples=(0, 1)) -> dict:
    """Faces found and seconds taken by dlib HOG at each upsampling: ``{upsample: (faces, seconds)}``."""
    paths = list(read_identity_folders(dataset).images.path)
    out = {}
    for u in upsamples:
        det = create_detector("dlib", upsample=u)
        t0 = time.perf_counter()
        res = det.detect_paths(paths, progress=False)
        out[u] = (sum(len(r.faces) for r in res), time.perf_counter() - t0)
    return out


def eye_line_angle(landmarks) -> float:
    """Roll of a face in degrees: the angle of the line from the left to the right eye (0 = level)."""
    pts = np.asarray(landmarks, dtype=float)
    dx, dy = pts[Keypoint.RIGHT_EYE] - pts[Keypoint.LEFT_EYE]
    return float(np.degrees(np.arctan2(dy, dx)))


def exercise_3(dataset, *, detector: str = "dlib"):
    """Roll angle of every face found: a pandas Series indexed by image id, most tilted first."""
    import pandas as pd

    images = read_identity_folders(dataset).images
    results = create_detector(detector).detect_paths(list(images.path), progress=False)
    angles = {i: eye_line_angle(r.face.landmarks) for i, r in zip(images.image_id, results) if r.ok}
    s = pd.Series(angles, name="roll (degrees)")
    return s.reindex(s.abs().sort_values(ascending=False).index)
