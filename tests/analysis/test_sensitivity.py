"""facelab.analysis.sensitivity: exact perturbation geometry, and misalignment hurting verification
of real LFW pairs."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.sensitivity import alignment_sensitivity, perturb_landmarks, perturbed_chip
from facelab.stages.alignment import align_face, get_preset
from facelab.stages.faces import Face

LM = np.array([[100.0, 110.0], [140.0, 110.0], [120.0, 130.0], [105.0, 150.0], [135.0, 150.0]])


def test_rotation_turns_the_points_about_the_eye_centre():
    moved = perturb_landmarks(LM, kind="rotation", level=90)
    np.testing.assert_allclose(moved[:2].mean(axis=0), [120.0, 110.0])  # eye centre stays
    np.testing.assert_allclose(moved[1] - moved[0], [0.0, 40.0], atol=1e-9)  # eye line now vertical
    np.testing.assert_allclose(perturb_landmarks(LM, kind="rotation", level=0), LM)


def test_shift_is_in_inter_ocular_distances_or_pixels_and_scale_about_the_eyes():
    np.testing.assert_allclose(perturb_landmarks(LM, kind="shift", level=0.25) - LM, [[10.0, 0.0]] * 5, atol=1e-9)
    np.testing.assert_allclose(perturb_landmarks(LM, kind="shift_px", level=3, direction=np.pi / 2) - LM,
                               [[0.0, 3.0]] * 5, atol=1e-9)
    big = perturb_landmarks(LM, kind="scale", level=2.0)
    assert np.linalg.norm(big[1] - big[0]) == pytest.approx(80.0)
    np.testing.assert_allclose(big[:2].mean(axis=0), [120.0, 110.0])
    with pytest.raises(ValueError, match="kind must be"):
        perturb_landmarks(LM, kind="tilt", level=1)
    with pytest.raises(ValueError, match="positive"):
        perturb_landmarks(LM, kind="scale", level=0)


def test_arcface_chip_is_aligned_from_the_moved_points():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (250, 250, 3), dtype=np.uint8)
    face = Face(box=np.array([80.0, 80.0, 170.0, 170.0]), score=1.0, landmarks=LM)
    chip = perturbed_chip(image, face, "arcface112", kind="rotation", level=12)
    expected = align_face(image, perturb_landmarks(LM, kind="rotation", level=12)).image
    np.testing.assert_array_equal(chip, expected)


def test_dlib_chip_by_composed_transform_matches_dlibs_own_chip(faces, dlib_embedder):
    # dlib150 finds its own points: the perturbation is composed into its transform. At zero it
    # must give (up to interpolation) the chip dlib cuts itself.
    preset = get_preset("dlib150")
    own = np.stack([preset(im, f).image for im, f in zip(faces.images[:8], faces.faces[:8])])
    ours = np.stack([perturbed_chip(im, f, preset, kind="rotation", level=0)
                     for im, f in zip(faces.images[:8], faces.faces[:8])])
    cos = np.sum(dlib_embedder.embed(own) * dlib_embedder.embed(ours), axis=1)
    assert cos.min() > 0.98, cos


def test_misalignment_lowers_verification_on_real_lfw_pairs(faces, lfw_pairs, dlib_embedder):
    r = alignment_sensitivity(faces, dlib_embedder, kind="rotation", levels=[0, 20, 40], pairs=lfw_pairs)
    t = r.table.set_index("level")
    assert list(t.index) == [0.0, 20.0, 40.0]
    assert r.n_pairs_dropped + t.n_pairs.iloc[0] == len(lfw_pairs)
    # Genuine pairs drift apart as the probe turns; a 40-degree turn costs accuracy at the deployed threshold.
    assert t.genuine_mean[0] > t.genuine_mean[20] > t.genuine_mean[40]
    assert t.accuracy[0] >= t.accuracy[20] >= t.accuracy[40]
    assert t.accuracy[0] > t.accuracy[40]
    assert t.eer[40] > t.eer[0]


def test_shift_of_both_sides_runs_and_hurts(faces, lfw_pairs, dlib_embedder):
    r = alignment_sensitivity(faces, dlib_embedder, kind="shift", levels=[0.3], pairs=lfw_pairs, mode="both")
    t = r.table.set_index("level")
    assert r.unit.startswith("fraction")
    assert t.genuine_mean[0.0] > t.genuine_mean[0.3] + 0.01
