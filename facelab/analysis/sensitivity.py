"""Alignment sensitivity: shift, rotate or scale the five landmarks by a controlled amount before
alignment, re-embed, and measure how verification degrades (computing only; figures in
:mod:`facelab.plotting.experiments`).

Faces are detected once (:func:`facelab.analysis.faces.detect_faces`); each perturbation level only
re-aligns the same detected landmarks and re-embeds, so a curve costs one embedding per face and
level. Works with any :class:`facelab.embedders.base.Embedder` and its alignment preset.

Examples
--------
>>> from facelab.analysis.faces import detect_faces
>>> from facelab.analysis.sensitivity import alignment_sensitivity
>>> from facelab.embedders import create_embedder
>>> faces = detect_faces(images_df)                                                # doctest: +SKIP
>>> r = alignment_sensitivity(faces, create_embedder("dlib"), kind="rotation",
...                           levels=[0, 5, 10, 20])                               # doctest: +SKIP
>>> r.table[["level", "accuracy", "eer", "genuine_mean"]]                          # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from facelab import verification as V
from facelab.analysis.faces import FaceSet
from facelab.core.errors import EvaluationError
from facelab.stages.faces import Face, Keypoint

__all__ = ["PERTURBATIONS", "SensitivityResult", "alignment_sensitivity", "perturb_landmarks", "perturbation_matrix",
           "perturbed_chip"]

#: Perturbation kinds and their units.
PERTURBATIONS = {"shift": "fraction of the inter-ocular distance", "shift_px": "pixels",
                 "rotation": "degrees", "scale": "scale factor"}
#: The level meaning "no perturbation", per kind.
_IDENTITY = {"shift": 0.0, "shift_px": 0.0, "rotation": 0.0, "scale": 1.0}


def _eye_centre_iod(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    le, re = landmarks[Keypoint.LEFT_EYE], landmarks[Keypoint.RIGHT_EYE]
    return (le + re) / 2.0, float(np.linalg.norm(re - le))


def perturbation_matrix(landmarks, *, kind: str, level: float, direction: float = 0.0) -> np.ndarray:
    """The 3x3 similarity that perturbs a face's landmarks, in image pixels.

    Parameters
    ----------
    landmarks : (5, 2) array
        The face's five points (ArcFace order).
    kind : {"shift", "shift_px", "rotation", "scale"}
        ``shift``: move all points by ``level`` inter-ocular distances; ``shift_px``: by ``level``
        pixels; ``rotation``: turn them ``level`` degrees about the eye centre; ``scale``: scale
        them by ``level`` about the eye centre.
    level : float
    direction : float
        For shifts, the direction in radians (0 = +x, to the right of the image).
    """
    if kind not in PERTURBATIONS:
        raise ValueError(f"kind must be one of {sorted(PERTURBATIONS)}, got {kind!r}")
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    c, iod = _eye_centre_iod(pts)
    m = np.eye(3)
    if kind in ("shift", "shift_px"):
        d = float(level) * (iod if kind == "shift" else 1.0)
        m[:2, 2] = d * np.cos(direction), d * np.sin(direction)
        return m
    if kind == "rotation":
        a = math.radians(float(level))
        lin = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    else:
        if not level > 0:
            raise ValueError(f"a scale factor must be positive, got {level}")
        lin = np.eye(2) * float(level)
    m[:2, :2] = lin
    m[:2, 2] = c - lin @ c  # about the eye centre
    return m


def perturb_landmarks(landmarks, *, kind: str, level: float, direction: float = 0.0) -> np.ndarray:
    """The five points moved by :func:`perturbation_matrix`."""
    from facelab.stages.alignment import apply_transform

    return apply_transform(perturbation_matrix(landmarks, kind=kind, level=level, direction=direction), landmarks)


def perturbed_chip(image, face: Face, preset, *, kind: str, level: float, direction: float = 0.0, base_matrix=None):
    """The preset's chip of ``face`` aligned from perturbed landmarks (uint8 ``(S, S, 3)``).

    Presets with a template (ArcFace, ``seed64``) align the perturbed five points. Presets that locate their own points
    (``dlib150`` runs dlib's 5-point predictor inside the box) get the same similarity composed
    into their transform: a least-squares similarity fit moves with its points, so aligning points
    moved by ``P`` gives the transform ``M @ inv(P)`` exactly.

    Parameters
    ----------
    base_matrix : (3, 3) array, optional
        The preset's unperturbed image-to-chip matrix (saves recomputing it for every level).
    """
    from facelab.stages.alignment import get_preset, warp_affine

    preset = get_preset(preset)
    if preset.template() is not None:
        moved = perturb_landmarks(face.landmarks, kind=kind, level=level, direction=direction)
        return preset(image, replace(face, landmarks=moved)).image
    m = np.asarray(base_matrix if base_matrix is not None else preset(image, face).matrix, dtype=np.float64)
    p = perturbation_matrix(face.landmarks, kind=kind, level=level, direction=direction)
    return warp_affine(image, m @ np.linalg.inv(p), preset.size)


@dataclass
class SensitivityResult:
    """Verification against the size of a landmark perturbation.

    Attributes
    ----------
    kind : str
        ``shift``, ``shift_px``, ``rotation`` or ``scale``.
    unit : str
    model : str
    mode : str
        ``"one"``: each pair compares an unperturbed face with a perturbed one (a well-aligned
        gallery, a misaligned probe); ``"both"``: every face is perturbed (random shift direction,
        rotation sign and scale up/down per face, seeded).
    table : pandas.DataFrame
        One row per level: ``level``, ``accuracy`` (at ``threshold``, the accuracy-best threshold
        of the unperturbed faces: a deployed system keeps its threshold), ``best_accuracy``
        (threshold re-chosen on this level: how separable the scores still are), ``eer``, ``auc``,
        ``genuine_mean`` and ``impostor_mean`` (mean cosine), ``n_pairs``.
    threshold : float
        Cosine threshold chosen at the unperturbed level.
    n_pairs_dropped : int
        Pairs with an image without a face (left out, counted here).
    """

    kind: str
    unit: str
    model: str
    mode: str
    table: pd.DataFrame
    threshold: float
    n_pairs_dropped: int = 0

    def metric(self, name: str) -> np.ndarray:
        return self.table[name].to_numpy(float)


def _pair_rows(faces: FaceSet, pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if pairs is None:
        ps = V.make_pairs(faces.identities)
        return ps.i, ps.j, ps.same, 0
    if isinstance(pairs, pd.DataFrame):
        i, j = faces.rows(pairs.image_id1), faces.rows(pairs.image_id2)
        same = pairs["same"].to_numpy(bool)
    else:
        i, j, same = np.asarray(pairs.i), np.asarray(pairs.j), np.asarray(pairs.same, bool)
    ok = (i >= 0) & (j >= 0)
    return i[ok], j[ok], same[ok], int((~ok).sum())


def alignment_sensitivity(
    faces: FaceSet,
    embedder,
    *,
    kind: str = "rotation",
    levels: Sequence[float] = (0, 5, 10, 15, 20, 30),
    pairs=None,
    mode: str = "one",
    preset=None,
    seed: int = 0,
    batch_size: int = 64,
) -> SensitivityResult:
    """Verification of ``pairs`` while the landmarks are perturbed by growing amounts.

    Parameters
    ----------
    faces : FaceSet
        From :func:`detect_faces` (detected once; every level re-aligns the same landmarks).
    embedder : Embedder or str
        Any facelab embedder (``create_embedder(name)``); its ``alignment`` preset is used.
    kind : {"shift", "shift_px", "rotation", "scale"}
        See :func:`perturbation_matrix`. Shift directions are random per face (seeded).
    levels : sequence of float
        Perturbation sizes; the unperturbed level (0, or 1 for ``scale``) is added if missing.
    pairs : pandas.DataFrame or PairSet, optional
        An LFW pairs table (``image_id1``, ``image_id2``, ``same``), or index pairs into
        ``faces``; default every pair of ``faces`` (:func:`facelab.verification.make_pairs`).
    mode : {"one", "both"}
        See :class:`SensitivityResult`.
    preset : str or Preset, optional
        The alignment recipe; default the embedder's own (``embedder.alignment``).
    seed : int

    Returns
    -------
    SensitivityResult
    """
    from facelab.embedders import create_embedder
    from facelab.stages.alignment import get_preset

    if mode not in ("one", "both"):
        raise ValueError(f"mode must be 'one' or 'both', got {mode!r}")
    if kind not in PERTURBATIONS:
        raise ValueError(f"kind must be one of {sorted(PERTURBATIONS)}, got {kind!r}")
    if len(faces) == 0:
        raise EvaluationError("no faces to perturb")
    emb = create_embedder(embedder) if isinstance(embedder, str) else embedder
    preset = get_preset(preset or emb.alignment)
    zero = _IDENTITY[kind]
    levels = sorted({float(x) for x in levels} | {zero}, key=lambda v: abs(math.log(v)) if kind == "scale" else abs(v))
    i, j, same, dropped = _pair_rows(faces, pairs)
    if same.all() or not same.any():
        raise EvaluationError("need genuine and impostor pairs")
    rng = np.random.default_rng(seed)
    n = len(faces)
    directions = rng.uniform(0, 2 * np.pi, size=n)
    signs = rng.choice([-1.0, 1.0], size=n)
    base = [None] * n
    if preset.template() is None:  # e.g. dlib150: compose with its matrix
        base = [preset(im, f).matrix for im, f in zip(faces.images, faces.faces)]

    def embed_level(level: float, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((n, emb.embedding_size), np.float32)
        for s in range(0, rows.size, batch_size):
            chunk = rows[s : s + batch_size]
            chips = []
            for r in chunk:
                lv = level
                if mode == "both" and kind == "rotation":
                    lv = level * signs[r]
                elif mode == "both" and kind == "scale":
                    lv = level if signs[r] > 0 else 1.0 / level
                chips.append(perturbed_chip(faces.images[r], faces.faces[r], preset, kind=kind, level=lv,
                                            direction=directions[r], base_matrix=base[r]))
            out[chunk] = emb.embed(np.stack(chips))
        return out

    used = np.unique(np.concatenate([i, j]))
    clean = embed_level(zero, used)
    s0 = np.sum(clean[i] * clean[j], axis=1)
    thr, _ = V.best_accuracy_threshold(s0, same)
    rows = []
    for level in levels:
        if level == zero:
            s = s0
        elif mode == "one":
            pert = embed_level(level, np.unique(j))
            s = np.sum(clean[i] * pert[j], axis=1)
        else:
            pert = embed_level(level, used)
            s = np.sum(pert[i] * pert[j], axis=1)
        e, _ = V.eer(s, same)
        _, best = V.best_accuracy_threshold(s, same)
        rows.append({"level": level, "accuracy": V.confusion_at(s, same, thr).accuracy, "best_accuracy": best, "eer": e,
                     "auc": V.roc(s, same).auc, "genuine_mean": float(s[same].mean()),
                     "impostor_mean": float(s[~same].mean()), "n_pairs": int(s.size)})
    table = pd.DataFrame(rows).sort_values("level", ignore_index=True)
    return SensitivityResult(kind=kind, unit=PERTURBATIONS[kind], model=emb.name, mode=mode, table=table,
                             threshold=float(thr), n_pairs_dropped=dropped)
