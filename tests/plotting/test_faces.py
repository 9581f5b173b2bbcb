"""Pictures of faces: what is drawn where."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from facelab.plotting.faces import (
    AlignedGridDisplay,
    AlignmentDisplay,
    ChipsDisplay,
    LandmarksDisplay,
    MeanFaceDisplay,
    PreprocessingDisplay,
    mean_face,
    plot_residuals,
)
from facelab.stages.alignment import align_face, get_preset, template
from facelab.stages.faces import DetectionResult, DetectionStatus, Face


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def result(lfw):
    from facelab.stages.detection import create_detector

    return create_detector("dlib").detect_paths([lfw.image_path("Colin_Powell", 1)], progress=False)[0]


def test_landmarks_display_draws_box_and_points(result):
    disp = LandmarksDisplay.from_result(result, label="dlib")  # loads the photo from result.image
    assert disp.image.shape == (250, 250, 3)
    assert disp.plot() is disp
    ax = disp.ax_
    assert disp.figure_ is ax.figure
    assert len(ax.images) == 1 and len(ax.patches) == 1  # photo + one box
    # The five keypoints are drawn where the face says (one scatter per keypoint, plus the 68).
    offsets = np.vstack([c.get_offsets() for c in ax.collections])
    for p in result.face.landmarks:
        assert np.min(np.linalg.norm(offsets - p, axis=1)) < 1e-6
    assert len(offsets) == 68 + 5
    np.testing.assert_allclose(ax.patches[0].get_xy(), result.face.box[:2])
    assert ax.get_legend() is not None


def test_overlay_two_detectors_and_other_faces(result):
    other = Face(box=[10, 10, 50, 50], score=0.5, landmarks=np.tile([30.0, 30.0], (5, 1)))
    fig, ax = plt.subplots()
    LandmarksDisplay(None, [result.face, other], chosen=0).plot(ax=ax, show_image=False, show_68=False)
    assert [p.get_linestyle() for p in ax.patches] == ["-", "--"]  # the chosen face solid, others dashed
    d2 = LandmarksDisplay.from_result(result).plot(ax=ax, color="C0", show_image=True)
    assert d2.ax_ is ax and len(ax.patches) == 3


def test_landmarks_display_for_no_face():
    r = DetectionResult("x/grey.png", DetectionStatus.NO_FACE, "no face found by dlib", [], None, (10, 10))
    disp = LandmarksDisplay.from_result(r, np.zeros((10, 10, 3), np.uint8)).plot()
    assert "no_face" in disp.ax_.get_title() and not disp.ax_.patches


def test_grid_one_block_per_identity():
    chips = {"1": [np.full((112, 112, 3), i * 20, np.uint8) for i in range(5)], "2": [np.zeros((112, 112, 3), np.uint8)] * 3}
    disp = AlignedGridDisplay.from_images(chips, names={"1": "Colin Powell"}).plot(per_row=4)
    assert disp.axes_.shape == (3, 4)  # 5 chips -> 2 rows, 3 chips -> 1 row
    assert disp.axes_[0, 0].get_ylabel() == "Colin Powell" and disp.axes_[2, 0].get_ylabel() == "2"
    assert sum(len(ax.images) for ax in disp.axes_.ravel()) == 8


def test_grid_from_align_table(tmp_path):
    import pandas as pd
    from PIL import Image

    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((64, 64, 3), 50 * i, np.uint8)).save(p)
        paths.append(str(p))
    table = pd.DataFrame({"identity": ["a", "a", "b", "b"], "status": ["ok", "ok", "ok", "no_face"], "output": paths + [None]})
    disp = AlignedGridDisplay.from_table(table).plot(per_row=2)
    assert disp.axes_.shape == (2, 2)


def test_mean_face_and_template(result, lfw):
    from facelab.data.imageio import load_image

    a = align_face(load_image(result.image), result.face.landmarks)
    chips = [a.image, np.zeros_like(a.image)]
    m = mean_face(chips)
    assert m.dtype == np.uint8 and m.shape == (112, 112, 3)
    np.testing.assert_allclose(m.astype(float), a.image / 2.0, atol=1)
    disp = MeanFaceDisplay.from_images(chips, template=template(112), landmarks=[a.landmarks]).plot()
    offsets = disp.ax_.collections[-1].get_offsets()
    np.testing.assert_allclose(offsets, template(112))
    assert "mean of 2" in disp.ax_.get_title()


def test_residual_histogram():
    ax = plot_residuals({"dlib": [1, 2, 3, np.nan], "mtcnn": [2, 2.5]}, threshold=4)
    assert len(ax.patches) > 0 and "residual" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["dlib (n=3)", "mtcnn (n=2)"]


def test_landmarks_display_marks_the_face_a_policy_picks():
    big = Face(box=[0, 0, 60, 60], score=1.0, landmarks=np.tile([30.0, 30.0], (5, 1)))
    central = Face(box=[80, 80, 120, 120], score=1.0, landmarks=np.tile([100.0, 100.0], (5, 1)))
    r = DetectionResult("<array>", DetectionStatus.OK, None, [big, central], 0, (200, 200))
    assert LandmarksDisplay.from_result(r).chosen == 0
    d = LandmarksDisplay.from_result(r, np.zeros((200, 200, 3), np.uint8), policy="central").plot()
    assert d.chosen == 1 and [p.get_linestyle() for p in d.ax_.patches] == ["--", "-"]


@pytest.fixture(scope="module")
def photo(result):
    from facelab.data.imageio import load_image

    return load_image(result.image)


def test_chips_display_cuts_each_preset(result, photo):
    d = ChipsDisplay.from_faces([photo, photo], [result.face, result.face], "arcface112")
    assert d.axes_.shape == (2,) and all(len(ax.images) == 1 for ax in d.axes_)
    chip = align_face(photo, result.face.landmarks)
    np.testing.assert_array_equal(d.chips[0].image, chip.image)
    crosses, dots = d.axes_[0].collections
    np.testing.assert_allclose(crosses.get_offsets(), template(112))
    np.testing.assert_allclose(dots.get_offsets(), chip.landmarks)
    assert d.axes_[0].get_title() == f"arcface112 112x112, residual {chip.residual:.1f} px"
    fig, axes = plt.subplots(1, 3)
    d64 = ChipsDisplay.from_faces([photo], [result.face], "seed64", axes=axes)
    assert d64.chips[0].image.shape == (64, 64, 3) and not axes[1].images  # unused axes left empty
    np.testing.assert_allclose(d64.axes_[0].collections[0].get_offsets(), get_preset("seed64").template())


def test_chips_display_from_files(tmp_path):
    from PIL import Image

    p = tmp_path / "chip.png"
    Image.fromarray(np.full((112, 112, 3), 90, np.uint8)).save(p)
    d = ChipsDisplay.from_files([p], titles=["1/a\nresidual 3.0 px"])
    assert d.axes_[0].get_title() == "1/a\nresidual 3.0 px" and not d.axes_[0].collections


def test_alignment_display_before_and_after(result, photo):
    d = AlignmentDisplay.from_faces([photo], [result.face], "arcface112", titles=["Colin_Powell_0001"])
    assert d.axes_.shape == (2, 1)
    top, bottom = d.axes_[:, 0]
    assert top.get_title() == "Colin_Powell_0001" and len(top.patches) == 1
    residual = align_face(photo, result.face.landmarks).residual
    assert bottom.get_title() == f"residual {residual:.1f} px" and bottom.images[0].get_array().shape == (112, 112, 3)


def test_mean_face_from_faces(result, photo):
    d = MeanFaceDisplay.from_faces([photo, photo], [result.face, result.face], "arcface112", title="two")
    chip = align_face(photo, result.face.landmarks)
    np.testing.assert_array_equal(d.mean, chip.image)  # the mean of one chip twice is that chip
    assert d.n == 2 and d.ax_.get_title() == "two" and d.landmarks.shape == (2, 5, 2)


def test_preprocessing_display(result):
    d = PreprocessingDisplay.from_result(result, input_size=64)
    assert len(d.axes_) == 2 + 4 and d.dlib_chip.shape == (150, 150, 3)
    assert d.axes_[0].get_title() == "photo + detection (1 face)"
    x = d.steps[-1][1]
    assert x.shape == (64, 64, 3) and -1 <= x.min() < x.max() <= 1
    with pytest.raises(ValueError, match="no face"):
        PreprocessingDisplay.from_result(DetectionResult("x.png", DetectionStatus.NO_FACE, "none"),
                                         np.zeros((8, 8, 3), np.uint8))
