"""facelab.analysis.detectors on real LFW photos: several detectors on the same photos, their
times, their failures and how far apart their five points are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facelab.analysis.detectors import POINTS, compare_detectors, inter_ocular, landmark_agreement
from facelab.core.errors import EvaluationError, FacelabError
from facelab.stages.faces import DetectionResult, DetectionStatus, Face

#: Five frontal LFW photos, and one HOG misses (benchmarks/detection_rate.py; notebook 01's HARD).
EASY = [("Colin_Powell", 1), ("Colin_Powell", 2), ("Tony_Blair", 1), ("Tony_Blair", 2), ("George_W_Bush", 1)]
HOG_MISSES = ("Abdoulaye_Wade", 3)


@pytest.fixture(scope="module")
def comparison(lfw, yunet_weights, tmp_path_factory):
    broken = tmp_path_factory.mktemp("bad") / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    paths = [lfw.image_path(n, k) for n, k in [*EASY, HOG_MISSES]] + [broken]
    return compare_detectors(paths, ["dlib", "yunet"], skip_unavailable=False)


def test_every_photo_has_a_result_and_a_time(comparison):
    assert comparison.names == ["dlib", "yunet"] and not comparison.unavailable
    ids = list(comparison.images.image_id)
    assert ids[:2] == ["Colin_Powell_0001", "Colin_Powell_0002"] and ids[-1] == "broken"
    counts = comparison.status_counts()
    assert counts.loc["ok", "yunet"] == 6 and counts.loc["ok", "dlib"] == 5  # YuNet finds the face HOG misses
    assert (counts.loc["error"] == 1).all() and (counts.sum() == 7).all()
    fails = comparison.failures()
    assert set(fails[fails.detector == "dlib"].image_id) == {"Abdoulaye_Wade_0003", "broken"}
    assert fails.set_index(["detector", "image_id"]).loc[("yunet", "broken"), "status"] == "error"
    for n in comparison.names:
        s = comparison.seconds[n]
        assert np.isnan(s[-1]) and np.all(s[:-1] > 0)  # every readable photo timed, the broken one not
    times = comparison.times()
    assert list(times.index) == ["dlib", "yunet"] and (times.photos == 6).all()
    assert comparison.result("yunet", "Colin_Powell_0001").ok


def test_two_detectors_agree_to_a_fraction_of_the_eye_distance(comparison):
    agr = comparison.agreement("dlib", "yunet")
    assert list(agr.table.index) == [f"{n}_{k:04d}" for n, k in EASY]  # both found a face
    assert agr.only_b == ["Abdoulaye_Wade_0003"] and agr.only_a == []
    assert agr.table.same_face.all() and not agr.different_faces
    # LFW's 250-px photos: eyes about 40 px apart, and two detectors' points a few pixels apart
    assert agr.table.iod.between(25, 70).all()
    frac = agr.fractions()
    assert (frac.to_numpy() < 0.35).all() and frac.to_numpy().mean() < 0.15
    summary = agr.summary()
    assert list(summary.index) == [*POINTS, "all"] and (summary.photos == 5).all()
    assert summary.loc["all", "median / IOD"] == pytest.approx(
        float(np.median(agr.table["mean"] / agr.table.iod)))
    assert agr.n_photos == 5 and agr.overall == pytest.approx(frac.to_numpy().mean())
    assert agr.per_point.to_dict() == pytest.approx(frac.mean().to_dict())
    table = comparison.agreement_table()
    assert table[["a", "b", "photos"]].values.tolist() == [["dlib", "yunet", 5]]
    assert table.overall.iloc[0] == pytest.approx(agr.overall)
    assert list(comparison.agreements()) == ["dlib vs yunet"]
    worst = comparison.most_disagreed(2)
    assert len(worst) == 2 and worst.iloc[0] >= worst.iloc[1]
    with pytest.raises(EvaluationError, match="no detector 'mtcnn'"):
        comparison.agreement("dlib", "mtcnn")


def _face(points, box=(0, 0, 100, 100)):
    return Face(box=list(box), score=1.0, landmarks=np.asarray(points, float))


def test_landmark_agreement_in_eye_distances():
    base = np.array([[30.0, 40], [70, 40], [50, 60], [35, 80], [65, 80]])  # eyes 40 px apart
    ok = DetectionStatus.OK
    a = [DetectionResult("p1", ok, faces=[_face(base)], chosen=0),
         DetectionResult("p2", ok, faces=[_face(base)], chosen=0),
         DetectionResult("p3", DetectionStatus.NO_FACE)]
    b = [DetectionResult("p1", ok, faces=[_face(base + [4.0, 0])], chosen=0),  # every point 0.1 IOD right
         DetectionResult("p2", ok, faces=[_face(base + [100.0, 0])], chosen=0),  # someone else
         DetectionResult("p3", ok, faces=[_face(base)], chosen=0)]
    agr = landmark_agreement(a, b, a="x", b="y")
    assert inter_ocular(base) == 40
    assert agr.table.loc["p1", list(POINTS)].tolist() == [4.0] * 5
    assert agr.fractions().loc["p1"].tolist() == pytest.approx([0.1] * 5)
    assert agr.different_faces == ["p2"] and agr.only_b == ["p3"]
    assert len(agr.fractions()) == 1  # the other face is no disagreement about landmarks
    with pytest.raises(EvaluationError, match="not the same photos"):
        landmark_agreement(a, b[:2])


def test_multi_face_policies():
    from facelab.analysis.detectors import DetectorComparison

    left_big = _face(np.zeros((5, 2)), box=(0, 0, 60, 60))
    centred = _face(np.zeros((5, 2)), box=(80, 80, 120, 120))
    r = DetectionResult("p", DetectionStatus.OK, faces=[left_big, centred], chosen=0, image_size=(200, 200))
    one = DetectionResult("q", DetectionStatus.OK, faces=[centred], chosen=0, image_size=(200, 200))
    cmp = DetectorComparison(pd.DataFrame({"image_id": ["p", "q"], "path": ["p", "q"]}),
                             {"d": [r, one]}, {"d": np.array([0.01, 0.02])})
    multi = cmp.multi_face()
    assert multi.to_dict("records") == [{"detector": "d", "image_id": "p", "faces": 2, "largest": 0, "central": 1,
                                         "differ": True}]


def test_unavailable_detectors(lfw, no_weights_checkout):
    # Without the YuNet file it is left out, saying why, or refused.
    path = [lfw.image_path("Colin_Powell", 1)]
    cmp = compare_detectors(path, ["dlib", "yunet"], skip_unavailable=True)
    assert cmp.names == ["dlib"] and list(cmp.unavailable) == ["yunet"]
    assert cmp.status_counts().loc["ok", "dlib"] == 1
    assert "yunet not run: " in cmp.summary()
    with pytest.raises(FacelabError):
        compare_detectors(path, ["yunet"])
    with pytest.raises(EvaluationError, match="named twice"):
        compare_detectors(path, ["dlib", "dlib"])
    with pytest.raises(ValueError, match="policy"):
        compare_detectors(path, ["dlib"], policy="nearest")


def test_mtcnn_timed_on_one_thread_and_the_setting_restored(lfw):
    import torch

    before = torch.get_num_threads()
    seen = []

    class Probe:  # a detector that records PyTorch's threads while it runs
        name = "probe"

        def detect(self, image, *, path=None, policy="largest"):
            seen.append(torch.get_num_threads())
            return DetectionResult(str(path), DetectionStatus.NO_FACE, "probe finds nothing")

    paths = [lfw.image_path("Colin_Powell", k) for k in (1, 2)]
    cmp = compare_detectors(paths, ["mtcnn", Probe()], threads=1)
    assert seen[1:] == [1, 1] and torch.get_num_threads() == before  # warm-up at the default, then one
    assert cmp.status_counts().loc["ok", "mtcnn"] == 2 and cmp.status_counts().loc["no_face", "probe"] == 2
    assert np.isfinite(cmp.seconds["mtcnn"]).all()
