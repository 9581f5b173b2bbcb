"""The course experiments on real LFW faces: misalignment hurts, neighbours are the same person,
the threshold chosen on the test pairs is optimistic, flip averaging is what the embedder does."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis import experiments as X
from facelab.data.datasets import pair_images
from facelab.stages.alignment import align_face, get_preset
from facelab.stages.faces import Face


@pytest.fixture(scope="module")
def lfw_pairs(lfw):
    return X.lfw_pairs_subset(lfw, n_pairs=40)  # 20 matched + 20 mismatched of pairs.txt fold 0


@pytest.fixture(scope="module")
def faces(lfw_pairs):
    return X.detect_faces(pair_images(lfw_pairs))


@pytest.fixture(scope="module")
def dlib_embedder():
    from facelab.embedders.dlib import DlibEmbedder

    return DlibEmbedder()


@pytest.fixture(scope="module")
def anatomy(faces, dlib_embedder):
    return X.embedding_anatomy(faces, dlib_embedder)


# --- perturbations: exact geometry, no data needed -------------------------------------------

LM = np.array([[100.0, 110.0], [140.0, 110.0], [120.0, 130.0], [105.0, 150.0], [135.0, 150.0]])


def test_rotation_turns_the_points_about_the_eye_centre():
    moved = X.perturb_landmarks(LM, kind="rotation", level=90)
    np.testing.assert_allclose(moved[:2].mean(axis=0), [120.0, 110.0])  # eye centre stays
    np.testing.assert_allclose(moved[1] - moved[0], [0.0, 40.0], atol=1e-9)  # eye line now vertical
    np.testing.assert_allclose(X.perturb_landmarks(LM, kind="rotation", level=0), LM)


def test_shift_is_in_inter_ocular_distances_or_pixels_and_scale_about_the_eyes():
    np.testing.assert_allclose(X.perturb_landmarks(LM, kind="shift", level=0.25) - LM, [[10.0, 0.0]] * 5, atol=1e-9)
    np.testing.assert_allclose(X.perturb_landmarks(LM, kind="shift_px", level=3, direction=np.pi / 2) - LM,
                               [[0.0, 3.0]] * 5, atol=1e-9)
    big = X.perturb_landmarks(LM, kind="scale", level=2.0)
    assert np.linalg.norm(big[1] - big[0]) == pytest.approx(80.0)
    np.testing.assert_allclose(big[:2].mean(axis=0), [120.0, 110.0])
    with pytest.raises(ValueError, match="kind must be"):
        X.perturb_landmarks(LM, kind="tilt", level=1)
    with pytest.raises(ValueError, match="positive"):
        X.perturb_landmarks(LM, kind="scale", level=0)


def test_arcface_chip_is_aligned_from_the_moved_points():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (250, 250, 3), dtype=np.uint8)
    face = Face(box=np.array([80.0, 80.0, 170.0, 170.0]), score=1.0, landmarks=LM)
    chip = X.perturbed_chip(image, face, "arcface112", kind="rotation", level=12)
    expected = align_face(image, X.perturb_landmarks(LM, kind="rotation", level=12)).image
    np.testing.assert_array_equal(chip, expected)


# --- real faces ---------------------------------------------------------------------------------


def test_faces_detected_once_and_misses_listed(faces, lfw_pairs):
    n_images = len(pair_images(lfw_pairs))
    assert len(faces) + len(faces.skipped) == n_images
    assert len(faces) >= 0.9 * n_images
    assert len(faces.images) == len(faces.faces) == len(faces.table)


def test_dlib_chip_by_composed_transform_matches_dlibs_own_chip(faces, dlib_embedder):
    # dlib150 finds its own points: the perturbation is composed into its transform. At zero it
    # must give (up to interpolation) the chip dlib cuts itself.
    preset = get_preset("dlib150")
    own = np.stack([preset(im, f).image for im, f in zip(faces.images[:8], faces.faces[:8])])
    ours = np.stack([X.perturbed_chip(im, f, preset, kind="rotation", level=0)
                     for im, f in zip(faces.images[:8], faces.faces[:8])])
    cos = np.sum(dlib_embedder.embed(own) * dlib_embedder.embed(ours), axis=1)
    assert cos.min() > 0.98, cos


def test_misalignment_lowers_verification_on_real_lfw_pairs(faces, lfw_pairs, dlib_embedder):
    r = X.alignment_sensitivity(faces, dlib_embedder, kind="rotation", levels=[0, 20, 40], pairs=lfw_pairs)
    t = r.table.set_index("level")
    assert list(t.index) == [0.0, 20.0, 40.0]
    assert r.n_pairs_dropped + t.n_pairs.iloc[0] == len(lfw_pairs)
    # Genuine pairs drift apart as the probe turns; a 40-degree turn costs accuracy at the deployed threshold.
    assert t.genuine_mean[0] > t.genuine_mean[20] > t.genuine_mean[40]
    assert t.accuracy[0] >= t.accuracy[20] >= t.accuracy[40]
    assert t.accuracy[0] > t.accuracy[40]
    assert t.eer[40] > t.eer[0]


def test_shift_of_both_sides_runs_and_hurts(faces, lfw_pairs, dlib_embedder):
    r = X.alignment_sensitivity(faces, dlib_embedder, kind="shift", levels=[0.3], pairs=lfw_pairs, mode="both")
    t = r.table.set_index("level")
    assert r.unit.startswith("fraction")
    assert t.genuine_mean[0.0] > t.genuine_mean[0.3] + 0.01


def test_nearest_neighbours_of_real_faces_are_mostly_the_same_person(faces, anatomy):
    a = anatomy
    ids = faces.identities
    queries = [q for q in range(len(ids)) if (ids == ids[q]).sum() >= 2]
    top1 = [X.nearest_neighbours(a.normalised, ids, q, k=3).iloc[0] for q in queries]
    assert all(r.row != q for r, q in zip(top1, queries))  # the query itself is left out
    assert np.mean([r.same for r in top1]) >= 0.8
    nn = X.nearest_neighbours(a.normalised, ids, queries[0], k=5)
    assert list(nn["rank"]) == [1, 2, 3, 4, 5] and nn.cosine.is_monotonic_decreasing


def test_embedding_anatomy_raw_norms_and_flip_average_are_the_embedders(faces, anatomy, dlib_embedder):
    from facelab.embedders.dlib import DlibEmbedder

    a = anatomy
    t = a.table
    assert len(t) == len(faces) and a.raw.shape == (len(faces), 128)
    # dlib's descriptors are not unit vectors: norms about 1.3-1.6 on LFW.
    assert 1.1 < t.raw_norm.min() and t.raw_norm.max() < 1.8 and t.raw_norm.std() > 0.01
    preset = get_preset("dlib150")
    n = 12  # the raw hook and the flip average are the embedder's own, checked on a few faces
    chips = np.stack([preset(im, f).image for im, f in zip(faces.images[:n], faces.faces[:n])])
    np.testing.assert_allclose(a.normalised[:n], dlib_embedder.embed(chips), atol=1e-5)
    np.testing.assert_allclose(a.flip_averaged[:n], DlibEmbedder(flip=True).embed(chips), atol=1e-5)
    # A mirrored face is nearly the same person to the model, and the average sits between both.
    assert 0.9 < t.cos_flip.median() < 1.0
    assert (t.cos_mean >= t.cos_flip - 1e-6).all()
    assert set(a.correlations().index) == {"det_score", "residual", "blur"}


def test_blur_score_falls_when_a_real_face_is_blurred(faces):
    from skimage.filters import gaussian

    chip = get_preset("arcface112")(faces.images[0], faces.faces[0]).image
    soft = (gaussian(chip, sigma=2, channel_axis=-1, preserve_range=True)).astype(np.uint8)
    assert X.blur_score(soft) < 0.5 * X.blur_score(chip)


def test_landmark_residual_is_the_alignment_residual(faces):
    f = faces.faces[0]
    assert X.landmark_residual(f.landmarks) == pytest.approx(align_face(faces.images[0], f.landmarks).residual)


def test_dimension_stats_of_real_embeddings(faces, anatomy):
    st = X.dimension_stats(anatomy.normalised)
    assert len(st) == 128 and np.all(np.diff(st.pca_cumvar) >= -1e-12) and st.pca_cumvar.iloc[-1] == pytest.approx(1)
    # Far fewer directions than dimensions carry most of the variance of a few dozen faces.
    assert int(np.searchsorted(st.pca_cumvar, 0.9)) < len(faces)


# --- the LFW protocol -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def protocol_scores():
    rng = np.random.default_rng(1)
    folds = np.repeat(np.arange(10), 60)
    same = np.tile(np.repeat([True, False], 30), 10)
    scores = np.where(same, rng.normal(0.6, 0.15, same.size), rng.normal(0.2, 0.15, same.size))
    return scores, same, folds


def test_protocol_bias_definitions(protocol_scores):
    from facelab import verification as V

    s, y, f = protocol_scores
    b = X.protocol_bias(s, y, f)
    np.testing.assert_allclose(b.kfold, V.kfold_accuracy(s, y, f).accuracies)
    # Equal folds: the mean over folds at the all-pairs threshold is the best accuracy over all pairs.
    assert b.all_pairs.mean() == pytest.approx(V.best_accuracy_threshold(s, y)[1])
    assert (b.oracle >= b.kfold).all() and (b.oracle >= b.all_pairs).all()
    assert b.bias >= 0 and b.oracle_bias > b.bias
    assert b.summary()["n_pairs"] == 600


def test_bias_shrinks_as_folds_grow(protocol_scores):
    s, y, f = protocol_scores
    t = X.bias_vs_pairs(s, y, f, pairs_per_fold=[6, 60], repeats=15)
    small, large = t.set_index("pairs_per_fold").loc[6], t.set_index("pairs_per_fold").loc[60]
    assert small.oracle_bias > large.oracle_bias > 0
    assert small.bias > large.bias
