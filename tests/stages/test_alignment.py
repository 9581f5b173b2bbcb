"""Alignment to the ArcFace template, presets, and aligning a dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facelab.data.datasets import read_identity_folders
from facelab.data.imageio import load_image
from facelab.stages.alignment import (
    ARCFACE_TEMPLATE,
    AlignedFace,
    align_dataset,
    align_face,
    estimate_transform,
    get_preset,
    template,
    warp_affine,
)
from facelab.stages.detection import create_detector

SAMPLES = [("Colin_Powell", 1), ("Tony_Blair", 1), ("George_W_Bush", 1), ("Serena_Williams", 1)]


@pytest.fixture(scope="module")
def dlib_det():
    return create_detector("dlib")


@pytest.fixture(scope="module")
def mtcnn_det():
    return create_detector("mtcnn")


@pytest.fixture(scope="module")
def detected(lfw, dlib_det):
    out = []
    for n, k in SAMPLES:
        img = load_image(lfw.image_path(n, k))
        r = dlib_det.detect(img)
        assert r.ok
        out.append((img, r.face))
    return out


def test_template_scaling():
    np.testing.assert_allclose(template(112), ARCFACE_TEMPLATE)
    np.testing.assert_allclose(template(224), 2 * ARCFACE_TEMPLATE)
    t = template(112)
    assert t[0, 0] < t[1, 0] and t[3, 0] < t[4, 0]  # left is the smaller x
    with pytest.raises(ValueError):
        ARCFACE_TEMPLATE[0, 0] = 0  # read-only


def test_exact_similarity_is_recovered():
    """Landmarks that are an exact similarity image of the template align with zero residual."""
    angle, scale, shift = np.deg2rad(17), 1.7, np.array([40.0, 25.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lms = ARCFACE_TEMPLATE @ rot.T + shift
    img = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    a = align_face(img, lms)
    assert isinstance(a, AlignedFace)
    assert a.image.shape == (112, 112, 3) and a.image.dtype == np.uint8
    assert a.residual < 1e-6
    np.testing.assert_allclose(a.transform_points(lms), ARCFACE_TEMPLATE, atol=1e-6)
    np.testing.assert_allclose(a.matrix[:2, :2], np.linalg.inv(rot), atol=1e-9)
    # The warp samples the source where the matrix says: pixel (x, y) of the chip comes from
    # inverse(matrix) @ (x, y) in the source.
    src = np.linalg.inv(a.matrix) @ np.array([56.0, 60.0, 1.0])
    x0, y0 = np.floor(src[:2]).astype(int)
    patch = img[y0 : y0 + 2, x0 : x0 + 2].astype(float)
    # bilinear: a mix of the four neighbours
    assert np.all(a.image[60, 56] >= patch.reshape(-1, 3).min(0) - 1)
    assert np.all(a.image[60, 56] <= patch.reshape(-1, 3).max(0) + 1)


def test_similarity_matrix_is_skimages_least_squares_fit():
    """The closed form gives skimage's SimilarityTransform estimate: noisy, turned, collinear points."""
    from skimage.transform import SimilarityTransform

    from facelab.stages.alignment import similarity_matrix

    rng = np.random.default_rng(0)
    cases = [(ARCFACE_TEMPLATE * rng.uniform(0.2, 5) + rng.normal(0, 3, (5, 2)), ARCFACE_TEMPLATE) for _ in range(50)]
    cases += [(rng.normal(0, 50, (5, 2)), rng.normal(0, 30, (5, 2))) for _ in range(50)]  # reflections forbidden
    line = np.arange(5.0)[:, None] * [1.0, 1.0]
    cases += [(line, line * [1.0, -1.0]), (line, line * 2 + 7)]
    for src, dst in cases:
        ref = SimilarityTransform.from_estimate(src, dst).params
        np.testing.assert_allclose(similarity_matrix(src, dst), ref, atol=1e-9)
    m = similarity_matrix(cases[0][0], cases[0][1])
    assert np.linalg.det(m[:2, :2]) > 0
    assert isinstance(estimate_transform(*cases[0]), SimilarityTransform)
    np.testing.assert_allclose(estimate_transform(*cases[0]).params, m)


def test_degenerate_landmarks_raise():
    with pytest.raises(ValueError):
        align_face(np.zeros((50, 50, 3), np.uint8), np.full((5, 2), 10.0))
    with pytest.raises(ValueError):
        estimate_transform(np.full((5, 2), np.nan), ARCFACE_TEMPLATE)


def test_alignment_follows_the_face_not_the_frame(detected):
    # The same face placed elsewhere in a larger frame gives the same chip: only the landmarks
    # decide the transform (its speed, which does not depend on the frame size either, is measured
    # in benchmarks/, not asserted here).
    img, face = detected[0]
    big = np.zeros((img.shape[0] + 100, img.shape[1] + 60, 3), np.uint8)
    big[70 : 70 + img.shape[0], 40 : 40 + img.shape[1]] = img
    a = align_face(img, face.landmarks)
    b = align_face(big, face.landmarks + [40, 70])
    assert a.residual == pytest.approx(b.residual, abs=1e-9)
    assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1


@pytest.mark.parametrize("detector", ["dlib", "mtcnn"])
def test_realigned_landmarks_sit_on_the_template(detected, detector, dlib_det, mtcnn_det, lfw):
    """Align with a detector, detect again with it on the aligned 112x112 face: the points land
    where the transform put the first detections, hence on the template up to the residual.

    The chip is edge-padded by 56 px before detecting again: a tight 112 chip leaves no context
    around the face, and MTCNN's points drift by 5-14 px on it (measured), while with context
    they come back within ~1 px. Measured with padding, four photos: mean distance to the mapped
    first detection 0.4-0.7 px (dlib) and 0.6-1.6 px (MTCNN), worst point 4.0 px; RMS distance
    to the template within 0.3 px of the alignment residual (1.7-5.5 px).
    """
    det = dlib_det if detector == "dlib" else mtcnn_det
    pad = 56
    for n, k in SAMPLES:
        img = load_image(lfw.image_path(n, k))
        face = det.detect(img).face
        a = align_face(img, face.landmarks, size=112)
        assert a.residual < 6.0
        np.testing.assert_allclose(
            np.sqrt(np.mean(np.sum((a.landmarks - template(112)) ** 2, axis=1))), a.residual
        )
        r = det.detect(np.pad(a.image, ((pad, pad), (pad, pad), (0, 0)), mode="edge"))
        assert r.ok, "the aligned face is found again"
        again = r.face.landmarks - pad
        d_self = np.linalg.norm(again - a.landmarks, axis=1)
        assert d_self.mean() < 2.5 and d_self.max() < 6.0, (n, d_self)
        rms_template = np.sqrt(np.mean(np.sum((again - template(112)) ** 2, axis=1)))
        assert rms_template < a.residual + 2.0, (n, rms_template, a.residual)


def test_align_other_sizes(detected):
    img, face = detected[1]
    a112 = align_face(img, face.landmarks, size=112)
    a224 = align_face(img, face.landmarks, size=224)
    assert a224.image.shape == (224, 224, 3)
    assert a224.residual == pytest.approx(2 * a112.residual, rel=1e-6)


def test_presets(detected):
    img, face = detected[0]
    p = get_preset("arcface112")
    assert (p.name, p.size) == ("arcface112", 112)
    a = p(img, face)
    np.testing.assert_array_equal(a.image, align_face(img, face.landmarks).image)
    assert get_preset("arcface112", size=128).size == 128
    assert get_preset("arcface160").size == 160
    with pytest.raises(ValueError, match="unknown"):
        get_preset("nope")
    with pytest.raises(ValueError, match="fixed size"):
        get_preset("seed64", size=112)


def test_seed64_matches_resize_and_crop(detected):
    img, face = detected[0]
    s = get_preset("seed64")
    assert (s.name, s.size) == ("seed64", 64)
    chip = s(img, face)
    assert chip.image.shape == (64, 64, 3) and chip.image.dtype == np.uint8
    # Resize(73) + CenterCrop(64) of the 112 chip, as torchvision does it on a PIL image.
    a = align_face(img, face.landmarks)
    ref = np.asarray(Image.fromarray(a.image).resize((73, 73), Image.BILINEAR))[4:68, 4:68]
    np.testing.assert_array_equal(chip.image, ref)
    # The matrix describes the whole chain: warping the source with it gives nearly the same chip.
    direct = warp_affine(img, chip.matrix, 64)
    assert np.abs(direct.astype(int) - chip.image.astype(int)).mean() < 6
    # The template of the chip is the ArcFace template through the resize and crop.
    t = s.template()
    np.testing.assert_allclose(t, (ARCFACE_TEMPLATE + 0.5) * 73 / 112 - 0.5 - 4)
    assert np.sqrt(np.mean(np.sum((chip.landmarks - t) ** 2, axis=1))) == pytest.approx(chip.residual, rel=1e-6)


def test_dlib150_is_dlibs_chip(detected):
    img, face = detected[2]
    d = get_preset("dlib150")
    chip = d(img, face)
    assert (d.name, d.size) == ("dlib150", 150)
    assert chip.image.shape == (150, 150, 3) and chip.image.dtype == np.uint8
    # Its matrix reproduces dlib's chip.
    direct = warp_affine(img, chip.matrix, 150)
    assert np.abs(direct.astype(int) - chip.image.astype(int)).mean() < 3
    # Eyes level and left of right in the chip.
    le, re = chip.landmarks[0], chip.landmarks[1]
    assert le[0] < re[0] and abs(le[1] - re[1]) < 5


@pytest.mark.parametrize("name", ["arcface112", "arcface224", "seed64", "dlib150"])
def test_preset_residual_from_landmarks_equals_the_chips(detected, name):
    # Cached faces get their residual from the landmarks alone; it must be the chip's own.
    p = get_preset(name)
    for img, face in detected[:3]:
        chip = p(img, face)
        assert np.isfinite(chip.residual) and chip.residual == pytest.approx(p.residual(face), rel=1e-9)
    # dlib's chip has no template: it reports the ArcFace fit, in 112 px, as arcface112 does.
    img, face = detected[0]
    if name == "dlib150":
        assert p(img, face).residual == pytest.approx(align_face(img, face.landmarks).residual, rel=1e-9)


def test_align_dataset(copy_two_id, tmp_path):
    src = copy_two_id(tmp_path / "src", 3)
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(src / "1" / "grey.png")
    (src / "2" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    images = read_identity_folders(src).images
    out = tmp_path / "out"
    table = align_dataset(images, out, preset="arcface112", detector="dlib", progress=False)
    assert len(table) == len(images) == 8
    status = dict(zip(table.image_id, table.status))
    assert status["1/grey"] == "no_face"
    assert status["2/broken"] == "error"
    assert sum(v == "ok" for v in status.values()) == 6
    ok = table[table.status == "ok"]
    assert ok.residual.between(0, 8).all()
    for row in ok.itertuples():
        im = load_image(row.output)
        assert im.shape == (112, 112, 3)
        assert row.output.endswith(f"{row.image_id}.png")
    assert table[table.status != "ok"].output.isna().all()
    assert table[table.status != "ok"].reason.notna().all()
    # OUT mirrors the identity folders, nothing temporary is left behind, the table is saved.
    again = read_identity_folders(out)
    assert set(again.identities) == {"1", "2"} and len(again.images) == 6
    assert not list(out.rglob(".*tmp"))
    saved = pd.read_csv(out / "alignment.csv")
    assert list(saved.status) == list(table.status)


def test_warp_reads_only_the_footprint_and_averages_when_reducing(lfw):
    """A chip from a huge image equals the chip from the part it covers; a face many times the chip's
    size is averaged first (a 4x enlarged photo gives nearly the chip of the original)."""
    from facelab.data.imageio import load_image
    from facelab.stages.alignment import fit_template, warp_affine

    small = load_image(lfw.image_path("Colin_Powell", 1))
    lm = create_detector("dlib").detect(small).face.landmarks
    matrix = fit_template(lm)[0]
    chip = warp_affine(small, matrix, 112)
    # At LFW's scale nothing is averaged: the chip is skimage's bilinear warp of the whole image (OpenCV's
    # fixed-point weights differ from skimage's floats by one grey level in a few pixels at most).
    from skimage.transform import warp

    ref = np.clip(warp(small, np.linalg.inv(matrix), output_shape=(112, 112), order=1, mode="constant", cval=0,
                       preserve_range=True) + 0.5, 0, 255).astype(np.uint8)
    diff = np.abs(chip.astype(int) - ref)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (diff.max(), (diff > 0).mean())
    # Placed in a big canvas, 8x enlarged, with pixel-level noise (what a sensor adds): averaged, the chip is
    # the original's again; sampled point by point (as the warp alone would) it keeps the noise.
    k, off = 8, np.array([3000.0, 1000.0])
    enlarged = np.repeat(np.repeat(small.astype(float), k, axis=0), k, axis=1)
    noise = np.random.default_rng(0).normal(0, 40, enlarged.shape)
    canvas = np.zeros((4000, 5000, 3), np.uint8)
    canvas[1000:1000 + 250 * k, 3000:3000 + 250 * k] = np.clip(enlarged + noise, 0, 255).astype(np.uint8)
    big_m = fit_template((lm + 0.5) * k - 0.5 + off)[0]
    big = warp_affine(canvas, big_m, 112)
    sampled = warp(canvas, np.linalg.inv(big_m), output_shape=(112, 112), order=1, preserve_range=True)
    err, aliased = np.abs(big.astype(float) - chip).mean(), np.abs(sampled - chip).mean()
    assert err < 8 and aliased > 2 * err, (err, aliased)


def test_dlib150_five_cuts_dlibs_chip_from_the_five_points(lfw):
    """From a face's own five points, nearly the chip dlib's predictor cuts (same place, size and turn)."""
    from facelab.stages.alignment import DLIB150_FIVE_TEMPLATE, apply_transform

    det = create_detector("dlib")
    for name in ("Colin_Powell", "Tony_Blair", "George_W_Bush"):
        image = load_image(lfw.image_path(name, 1))
        face = det.detect(image).face
        own, five = get_preset("dlib150")(image, face), get_preset("dlib150_five")(image, face)
        assert five.image.shape == (150, 150, 3) and five.residual == own.residual
        np.testing.assert_allclose(five.landmarks, apply_transform(five.matrix, face.landmarks))
        # dlib's own chip puts the eyes where the template says (it is anchored on them); the least-squares
        # fit puts the five points nearer the template than that chip does.
        def rms(p):
            return np.sqrt(((p - DLIB150_FIVE_TEMPLATE) ** 2).sum(axis=1).mean())

        assert np.linalg.norm(own.landmarks[:2] - DLIB150_FIVE_TEMPLATE[:2], axis=1).max() < 5
        assert rms(five.landmarks) <= rms(own.landmarks)
        assert np.abs(five.image.astype(float) - own.image).mean() < 30


def test_dlib150_uses_the_predictor_only_for_faces_with_dlibs_68_points(lfw, yunet_weights):
    """dlib's chip: dlib's predictor for dlib's own faces (bit for bit get_face_chip), the five-point chip for a
    face from a detector without 68 points (YuNet's here), whose box the predictor was not trained on."""
    import dataclasses

    from facelab.stages.alignment import dlib_chip

    yunet = create_detector("yunet")
    image = load_image(lfw.image_path("Tony_Blair", 1))
    hog_face = create_detector("dlib").detect(image).face
    assert hog_face.landmarks68 is not None
    np.testing.assert_array_equal(get_preset("dlib150")(image, hog_face).image, dlib_chip(image, hog_face).image)
    yunet_face = yunet.detect(image).face
    assert yunet_face.landmarks68 is None
    chip = get_preset("dlib150")(image, yunet_face)
    np.testing.assert_array_equal(chip.image, get_preset("dlib150_five")(image, yunet_face).image)
    # ... and not the predictor's chip in YuNet's box, which differs.
    predictor = dlib_chip(image, yunet_face)
    assert np.abs(predictor.image.astype(int) - chip.image).mean() > 1
    # The same face with 68 points attached goes to the predictor again.
    with68 = dataclasses.replace(yunet_face, landmarks68=hog_face.landmarks68)
    np.testing.assert_array_equal(get_preset("dlib150")(image, with68).image, predictor.image)
    assert chip.residual == pytest.approx(get_preset("dlib150").residual(yunet_face), rel=1e-9)
