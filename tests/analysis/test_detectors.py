"""facelab.analysis.detectors: dlib, MTCNN and YuNet on the same real LFW photos -- times per photo and how
far their five points disagree, as a fraction of the inter-ocular distance."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.detectors import compare_detectors, landmark_agreement

PHOTOS = [("Colin_Powell", 1), ("Tony_Blair", 1), ("George_W_Bush", 2), ("Serena_Williams", 1), ("Jennifer_Aniston", 1)]


@pytest.fixture(scope="module")
def comparison(lfw, yunet_weights):
    paths = [lfw.image_path(n, k) for n, k in PHOTOS] + ["/nonexistent/photo.jpg"]
    return compare_detectors(paths, ["dlib", "mtcnn", "yunet"])


def test_every_detector_finds_the_faces_and_is_timed(comparison):
    for name, run in comparison.runs.items():
        assert run.found.tolist() == [True] * 5 + [False], name
        assert (run.ms[:5] > 0).all() and np.isnan(run.ms[5]) and run.reasons[5] == "file not found"
        assert (run.n_faces[:5] >= 1).all()
    t = comparison.times_ms()
    assert list(t.index) == ["dlib", "mtcnn", "yunet"] and (t["with a face"] == 5).all()


def test_landmarks_agree_within_a_fraction_of_the_eye_distance(comparison):
    assert len(comparison.agreements) == 3
    g = comparison.agreement("yunet", "mtcnn")  # either order
    assert (g.a, g.b, g.n_photos) == ("mtcnn", "yunet", 5)
    assert g.per_photo.shape == (6, 5) and np.isnan(g.per_photo[5]).all()
    # Three detectors placing the same five points: a few percent of the eye distance apart, not more.
    for a in comparison.agreements:
        assert 0 < a.overall < 0.15, (a.a, a.b, a.overall)
        assert list(a.per_point.index) == ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
        assert a.overall == pytest.approx(np.nanmean(a.per_photo))
    table = comparison.agreement_table()
    assert len(table) == 3 and {"overall", "nose"} <= set(table.columns)


def test_agreement_is_zero_with_itself_and_grows_with_a_shift(comparison):
    import dataclasses

    run = comparison.runs["yunet"]
    assert landmark_agreement(run, run).overall == 0
    iod = np.linalg.norm(run.landmarks[:, 1] - run.landmarks[:, 0], axis=1)
    shifted = dataclasses.replace(run, landmarks=run.landmarks + np.array([0.1, 0.0]) * iod[:, None, None])
    np.testing.assert_allclose(landmark_agreement(run, shifted).per_photo[:5], 0.1, rtol=1e-9)
    with pytest.raises(ValueError, match="same photos"):
        landmark_agreement(run, dataclasses.replace(run, paths=run.paths[:2]))
    with pytest.raises(KeyError):
        comparison.agreement("yunet", "retina")
