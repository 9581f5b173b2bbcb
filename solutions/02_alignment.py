"""Reference solutions for notebook 02 (alignment)."""

from __future__ import annotations

import numpy as np

from facelab.stages.alignment import align_face, estimate_transform, template, warp_affine


def exercise_1(image, landmarks) -> tuple[float, float]:
    """Residual of one face aligned at 112 and at 224 pixels (the second is twice the first)."""
    return align_face(image, landmarks, size=112).residual, align_face(image, landmarks, size=224).residual


def chip_of(image, landmarks, size: int = 112) -> np.ndarray:
    """Alignment written by hand: fit the similarity to the template, then warp."""
    tform = estimate_transform(landmarks, template(size))
    return warp_affine(image, tform.params, size)


def exercise_2(image, landmarks) -> bool:
    """Does the hand-written ``chip_of`` give exactly facelab's chip?"""
    return bool(np.array_equal(chip_of(image, landmarks), align_face(image, landmarks).image))


def exercise_3(faces, *, degrees: float = 20.0, seed: int = 0) -> tuple[float, float]:
    """Sharpness (variance of Laplacian) of the mean face, aligned as is and with every face's
    landmarks turned by +/- ``degrees`` before alignment. ``faces``: a
    :class:`facelab.analysis.faces.FaceSet`."""
    from facelab.analysis.anatomy import blur_score
    from facelab.analysis.sensitivity import perturbed_chip

    rng = np.random.default_rng(seed)
    good = [perturbed_chip(im, f, "arcface112", kind="rotation", level=0) for im, f in zip(faces.images, faces.faces)]
    bad = [perturbed_chip(im, f, "arcface112", kind="rotation", level=degrees * rng.choice([-1, 1]))
           for im, f in zip(faces.images, faces.faces)]
    mean = [np.mean(np.stack(c).astype(float), axis=0).astype(np.uint8) for c in (good, bad)]
    return blur_score(mean[0]), blur_score(mean[1])
