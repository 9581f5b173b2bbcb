"""Reference solutions for notebook 07 (alignment sensitivity)."""

from __future__ import annotations

import numpy as np

from facelab.analysis.anatomy import landmark_residual
from facelab.analysis.sensitivity import alignment_sensitivity


def exercise_1(faces, embedder, *, pairs=None, degrees: float = 10.0, shift: float = 0.1) -> dict:
    """Drop of the mean genuine cosine for a ``degrees`` rotation and a ``shift`` (IOD) shift."""
    out = {}
    for kind, level in (("rotation", degrees), ("shift", shift)):
        t = alignment_sensitivity(faces, embedder, kind=kind, levels=[level], pairs=pairs).table
        out[kind] = float(t.genuine_mean.iloc[0] - t.genuine_mean.iloc[-1])
    return out


def exercise_2(faces, embedder, *, pairs=None, degrees: float = 20.0) -> dict:
    """Mean genuine cosine when only the probe is turned, and when both faces are (random signs)."""
    return {mode: float(alignment_sensitivity(faces, embedder, kind="rotation", levels=[degrees], pairs=pairs,
                                                mode=mode).table.genuine_mean.iloc[-1]) for mode in ("one", "both")}


def move_nose(landmarks, fraction: float) -> np.ndarray:
    """A perturbation a similarity cannot undo: only the nose tip moves, by ``fraction`` IOD to the right."""
    pts = np.array(landmarks, dtype=float)
    iod = np.linalg.norm(pts[1] - pts[0])
    pts[2, 0] += fraction * iod
    return pts


def exercise_3(landmarks, *, fraction: float = 0.2) -> tuple[float, float]:
    """Alignment residual before and after moving only the nose (it grows: the fit cannot absorb it)."""
    return landmark_residual(landmarks), landmark_residual(move_nose(landmarks, fraction))
