"""Every reference solution (solutions/NN_*.py) runs on real LFW faces and finds what it should.

A small teaching set (the 5 LFW people with at least 100 photos, 5 photos each) keeps the whole
module to about a minute.
"""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.anatomy import embedding_anatomy
from facelab.analysis.faces import detect_faces
from facelab.analysis.sensitivity import perturb_landmarks
from facelab.course.build import load_solution


@pytest.fixture(scope="module")
def small_set(tmp_path_factory, lfw):
    from facelab.data.teaching import build_teaching_set

    return build_teaching_set(tmp_path_factory.mktemp("sol") / "teaching", lfw_root=lfw.root, min_images=100, per_identity=5)


@pytest.fixture(scope="module")
def faces(small_set):
    from facelab.data.datasets import read_identity_folders

    return detect_faces(read_identity_folders(small_set).images)


@pytest.fixture(scope="module")
def embedded(small_set):
    from facelab.engine.pipeline import embed_folder

    return embed_folder(small_set, progress=False)


@pytest.fixture(scope="module")
def dlib():
    from facelab.embedders.dlib import DlibEmbedder

    return DlibEmbedder()


def test_01_landmarking(small_set):
    s = load_solution("01")
    assert 25 < s.exercise_1(small_set) < 70  # LFW's 250-px photos: eyes about 40 px apart
    found = s.exercise_2(small_set)
    assert found[1][0] >= found[0][0] >= 20
    level = np.array([[100.0, 100], [140, 100], [120, 120], [105, 140], [135, 140]])
    assert s.eye_line_angle(level) == 0
    assert s.eye_line_angle(perturb_landmarks(level, kind="rotation", level=10)) == pytest.approx(10)
    roll = s.exercise_3(small_set)
    assert len(roll) >= 20 and roll.abs().max() < 45 and abs(roll.iloc[0]) == roll.abs().max()


def test_02_alignment(faces):
    s = load_solution("02")
    r112, r224 = s.exercise_1(faces.images[0], faces.faces[0].landmarks)
    assert r224 == pytest.approx(2 * r112, rel=1e-6)
    assert s.exercise_2(faces.images[0], faces.faces[0].landmarks)
    sharp, turned = s.exercise_3(faces)
    assert sharp > turned  # misaligned faces average into a blur


def test_03_embeddings(small_set, embedded, faces):
    s = load_solution("03")
    flip = s.exercise_1(small_set)
    for v in flip.values():
        assert v["genuine"] > v["impostor"] + 0.05  # dlib squeezes cosines near 1: impostors ~0.85
    assert abs(flip[True]["genuine"] - flip[False]["genuine"]) < 0.05
    assert s.exercise_2(embedded.embeddings) < 1e-5
    hard = s.exercise_3(small_set)
    assert hard["hardest_impostor"][2] < hard["genuine_mean"]
    norms = s.exercise_4(faces)
    assert norms.shape == (len(faces),) and 1.1 < norms.min() and norms.max() < 1.8


def test_04_threshold_roc(small_set):
    s = load_solution("04")
    ci = s.exercise_1(small_set, n_boot=100)
    assert ci.low <= ci.estimate <= ci.high and ci.high > ci.low  # five people: a real interval
    assert s.exercise_2(small_set) == 0
    cal = s.exercise_3(small_set)
    assert cal["brier"] < cal["coin_flip_brier"]


def test_05_umap(small_set):
    s = load_solution("05")
    sil = s.exercise_1(small_set, n_neighbors=(5,))
    assert sil["embedding (cosine)"] > 0.1 and -1 <= sil["umap n_neighbors=5"] <= 1
    r1 = s.exercise_2(small_set)
    assert r1 >= 0.8
    wrong = s.exercise_3(small_set)
    n = 25 - 0  # every photo of these five has a face
    assert len(wrong) == round((1 - r1) * n)  # the faces rank-1 gets wrong are those with a stranger nearest


def test_06_report(small_set, embedded, tmp_path):
    s = load_solution("06")
    r = s.exercise_1(small_set, tmp_path / "report")
    assert r["report_auc"] == pytest.approx(r["recomputed_auc"], abs=1e-9) and r["index"].is_file()
    scales = s.exercise_2(embedded.calibration)
    assert scales["cosine"] == pytest.approx(1 - scales["squared distance"] / 2)
    skipped = s.exercise_3(small_set, tmp_path / "work")
    assert any(img.endswith("notes.txt") and "not an image" in why for img, why in skipped)


def test_07_alignment_sensitivity(faces, dlib):
    s = load_solution("07")
    drops = s.exercise_1(faces, dlib)
    assert drops["rotation"] > 0 and drops["shift"] > 0
    modes = s.exercise_2(faces, dlib, degrees=20)
    assert 0 < modes["one"] < 1 and 0 < modes["both"] < 1
    before, after = s.exercise_3(faces.faces[0].landmarks)
    assert after > before


def test_08_lfw_protocol(embedded):
    from facelab import verification as V

    s = load_solution("08")
    pairs = V.make_pairs(embedded.identities)
    scores = V.pair_scores(embedded.embeddings, pairs)
    folds = np.arange(len(pairs)) % 10
    assert s.exercise_1(scores, pairs.same, folds) == 0
    b = s.exercise_2(scores, pairs.same, folds, k=5)
    assert b["n_pairs"] == len(pairs) and b["oracle_mean"] >= b["kfold_mean"]
    r = s.exercise_3(embedded.embeddings, embedded.identities)
    assert abs(r["exact_auc"] - r["streaming_auc"]) < 1e-3 and abs(r["exact_eer"] - r["streaming_eer"]) < 0.01


def test_09_embedding_anatomy(faces, dlib, embedded):
    s = load_solution("09")
    anatomy = embedding_anatomy(faces, dlib)
    assert -1 <= s.exercise_1(anatomy) <= 1
    assert s.exercise_2(faces, dlib) < 1e-5
    auc = s.exercise_3(embedded.embeddings, embedded.identities)
    assert auc["all"] > 0.9 and auc[64] > 0.9


def test_10_clustering_audit(small_set, embedded, photo_folder):
    s = load_solution("10")
    ks = s.exercise_1(embedded.embeddings, embedded.identities, embedded.calibration, ks=(3, 10))
    assert set(ks) == {3, 10} and all(0 < v <= 1 for v in ks.values())
    assert ks[3] >= 0.9  # five people, five photos each: a graph of 3 neighbours keeps them apart
    p, r = s.exercise_2(["a", "a", "a", "b", "b"], [0, 0, 1, 1, -1])
    assert (p, r) == (pytest.approx((1 + 1 + 0.5 + 0.5 + 1) / 5), pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 0.5 + 0.5) / 5))
    kept = s.exercise_3(photo_folder)
    assert kept["all"] == kept["pasted"] > kept["largest"]  # one face per photo loses the others of each group photo


def test_10_audit_half(small_set, lfw, tmp_path):
    from facelab.data.planted import plant_errors

    s = load_solution("10")
    x = s.audit_exercise_1(small_set, lfw.images_dir / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg")
    assert x["rank"] is not None and x["own"] < x["threshold"]
    planted = plant_errors(small_set, tmp_path / "planted", move=0.2, duplicate=0.05, seed=0)
    audit, _ = s._audit(planted.root, "dlib")
    share = s.audit_exercise_2(audit, planted)
    assert len(planted.moved) >= 4 and share >= 0.6  # a moved photo still sits among its own person's faces
