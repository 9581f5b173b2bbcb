"""Several detectors on the same LFW photos, drawn: overlays, landmark agreement and times."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from facelab.analysis.detectors import POINTS, compare_detectors  # noqa: E402
from facelab.plotting.detectors import (  # noqa: E402
    DetectionTimesDisplay,
    DetectorOverlayDisplay,
    LandmarkAgreementDisplay,
)


@pytest.fixture(scope="module")
def comparison(lfw, yunet_weights):
    paths = [lfw.image_path(n, k) for n, k in [("Colin_Powell", 1), ("Tony_Blair", 1), ("Abdoulaye_Wade", 3)]]
    return compare_detectors(paths, ["dlib", "yunet"])


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_overlay_draws_every_detector_on_every_photo(comparison, outdir):
    d = DetectorOverlayDisplay.from_comparison(comparison, n=3)
    assert d.axes_.shape == (1, 3)
    ax0, _, ax2 = d.axes_[0]
    assert len(ax0.images) == 1 and len(ax0.patches) >= 2  # one photo, a box from each detector
    assert [t.get_text() for t in ax0.get_legend().get_texts()] == ["dlib", "yunet"]
    yunet_face = comparison.result("yunet", "Colin_Powell_0001").face
    # YuNet's five points are drawn in YuNet's colour (C1) where YuNet put them
    pts = np.vstack([c.get_offsets() for c in ax0.collections
                     if np.allclose(c.get_facecolor()[0], matplotlib.colors.to_rgba("C1"))])
    for p in yunet_face.landmarks:
        assert np.min(np.linalg.norm(pts - p, axis=1)) < 1e-6
    assert ax2.get_title() == "Abdoulaye_Wade_0003\ndlib: no_face"  # the photo HOG misses says so
    d.figure_.savefig(outdir / "detector_overlay.png", dpi=70)
    two = DetectorOverlayDisplay.from_comparison(comparison, ["Tony_Blair_0001"], per_row=4)
    assert two.axes_.shape == (1, 1) and two.axes_[0, 0].get_title() == "Tony_Blair_0001"


def test_agreement_boxes_per_keypoint_and_pair(comparison, outdir):
    d = LandmarkAgreementDisplay.from_comparison(comparison)
    assert list(d.agreements) == ["dlib vs yunet"]
    labels = [t.get_text() for t in d.ax_.get_xticklabels()]
    assert labels == [p.replace("_", " ") for p in POINTS]
    assert [t.get_text() for t in d.ax_.get_legend().get_texts()] == ["dlib vs yunet (2 photos)"]
    assert "inter-ocular" in d.ax_.get_ylabel()
    d.figure_.savefig(outdir / "landmark_agreement.png", dpi=70)
    px = LandmarkAgreementDisplay(comparison.agreements()).plot(pixels=True)
    assert px.ax_.get_ylabel() == "distance (px)"


def test_times_one_box_per_detector(comparison, outdir):
    d = DetectionTimesDisplay.from_comparison(comparison)
    labels = [t.get_text() for t in d.ax_.get_yticklabels()]
    assert [lbl.split("\n")[0] for lbl in labels] == ["dlib", "yunet"]
    med = 1000 * np.median(comparison.seconds["yunet"])
    assert labels[1] == f"yunet\nmedian {med:.1f} ms" and d.ax_.get_xscale() == "log"
    d.figure_.savefig(outdir / "detection_times.png", dpi=70)
