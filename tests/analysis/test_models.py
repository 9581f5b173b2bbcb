"""facelab.analysis.models on real faces: several models on one dataset (each with its own detector),
and dlib, EdgeFace and their fusion on the same LFW pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facelab import verification as V
from facelab.analysis.models import (
    compare_on_lfw,
    embed_models,
    lfw_protocol_pairs,
    lfw_scores,
    threshold_transfer,
    verify_models,
)
from facelab.core.errors import EvaluationError
from facelab.core.jsonsafe import json_safe
from facelab.data.datasets import pair_images
from facelab.models.weights import default_detector


@pytest.fixture(scope="module")
def small_set(two_id_dir, tmp_path_factory):
    """Five photos of each of the two-ID set's people in a folder of their own, and a stray text file."""
    import shutil

    from facelab.data.datasets import read_identity_folders

    root = tmp_path_factory.mktemp("small") / "set"
    for rec in read_identity_folders(two_id_dir).images.groupby("identity").head(5).itertuples():
        (root / rec.identity).mkdir(parents=True, exist_ok=True)
        shutil.copy(rec.path, root / rec.identity)
    (root / rec.identity / "notes.txt").write_text("not a photo")
    return root


def test_embed_models_of_a_folder(small_set):
    runs = embed_models(small_set, ["dlib"], progress=False, workers=1)
    assert list(runs) == ["dlib"]
    res = runs["dlib"]
    assert res.settings["detector"] == default_detector("dlib") and res.model == "dlib"
    assert len(res.table) == 10 and len(res.embeddings) == 10
    assert list(res.skipped.image.map(lambda p: p.rsplit("/", 1)[-1])) == ["notes.txt"]  # the folder's skips kept
    pairs = V.make_pairs(res.identities)
    s = V.pair_scores(res.embeddings, pairs)
    # Colin Powell vs Tony Blair: dlib's own threshold decides almost every pair right
    assert ((s >= res.calibration.cosine_threshold) == pairs.same).mean() > 0.9


def test_embed_models_each_with_its_own_detector_and_refusals(small_set, edgeface_weights):
    from facelab.data.datasets import read_identity_folders

    images = read_identity_folders(small_set).images
    runs = embed_models(images, ["dlib", "edgeface_xs"], progress=False, keep_chips=True, workers=1)
    assert list(runs) == ["dlib", "edgeface_xs"]
    # each model's own detector (YuNet for both, where its file is found)
    assert runs["dlib"].settings["detector"] == default_detector("dlib")
    assert runs["edgeface_xs"].settings["detector"] == default_detector("edgeface_xs")
    assert runs["dlib"].chips.shape[1:] == (150, 150, 3) and runs["edgeface_xs"].chips.shape[1:] == (112, 112, 3)
    with pytest.raises(EvaluationError, match="named twice"):
        embed_models(images, ["dlib", "dlib"])
    with pytest.raises(EvaluationError, match="single model"):
        embed_models(images, ["dlib", "edgeface_xs"], weights="x.pt")


def test_verify_models_and_thresholds_that_do_not_transfer(small_set, edgeface_weights):
    runs = embed_models(small_set, ["dlib", "edgeface_xs"], progress=False, workers=1)
    reports = verify_models(runs)
    assert list(reports) == ["dlib", "edgeface_xs"]
    for m, rep in reports.items():
        assert rep.n_genuine == 2 * 10 and rep.n_impostor == 25  # 5 + 5 photos of two people
        assert rep.calibration is runs[m].calibration and rep.auc > 0.9
    table = threshold_transfer(reports).set_index(["scores of", "threshold of"])
    assert len(table) == 4
    own = table.loc[("dlib", "dlib")]
    assert own["cosine threshold"] == pytest.approx(runs["dlib"].calibration.cosine_threshold)
    s, same = reports["dlib"].scores, reports["dlib"].same
    assert own.accuracy == pytest.approx(((s >= own["cosine threshold"]) == same).mean())
    # Each model is right at its own threshold, and EdgeFace's (far lower) threshold accepts
    # every dlib pair: dlib's cosines of different people stay high.
    assert own.accuracy > 0.9 and table.loc[("edgeface_xs", "edgeface_xs")].accuracy > 0.9
    assert table.loc[("dlib", "edgeface_xs")].accuracy == pytest.approx(same.mean())
    assert own["mean calibrated score, genuine"] > own["mean calibrated score, impostor"]


@pytest.fixture(scope="module")
def small_lfw(lfw):
    """Four pairs of each of the first two folds of pairs.txt, and 8 devtrain pairs for the fusion."""
    pairs, n_folds = lfw_protocol_pairs(lfw, "pairs", limit_folds=2)
    assert n_folds == 10 and set(pairs.fold) == {0, 1}
    pairs = pairs.groupby(["fold", "same"], sort=False).head(2).reset_index(drop=True)
    train = lfw.pairs("devtrain").groupby("same", sort=False).head(4).reset_index(drop=True)
    return pairs, train


def test_dlib_edgeface_and_their_fusion_on_the_same_lfw_pairs(lfw, small_lfw, edgeface_weights):
    pairs, train = small_lfw
    cmp = compare_on_lfw(lfw, ["dlib", "edgeface_xs", "dlib+edgeface_xs"], pairs=pairs, folds_in_file=10,
                         fusion_pairs=train, n_boot=50, progress=False, workers=1)
    assert [r.model for r in cmp.models] == ["dlib", "edgeface_xs", "dlib+edgeface_xs"]
    assert cmp.n_pairs == len(pairs) == 8 and cmp.folds_used == 2 and cmp.n_images == len(pair_images(pairs))
    dlib, edge, fused = cmp.models
    # Real models on textbook LFW pairs: both decide nearly all of them right.
    assert dlib.report.auc >= 0.9 and edge.report.auc >= 0.9
    # Each model's scores are its own embeddings' (same pairs, same order).
    again = lfw_scores(cmp.results["dlib"], pairs)
    np.testing.assert_allclose(dlib.scores, again.scores)
    assert dlib.no_face["count"] == len(again.images_without_embedding)
    # The fusion is fitted on the training pairs only, and scores probabilities.
    assert fused.fusion is not None and fused.fusion.models == ["dlib", "edgeface_xs"]
    assert fused.fusion.source.startswith("the given training pairs (") and "with both faces" in fused.fusion.source
    assert set(cmp.train_results) == {"dlib", "edgeface_xs"}
    assert len(cmp.train_results["dlib"].table) == len(pair_images(train))
    assert ((fused.scores >= 0) & (fused.scores <= 1)).all()
    # For each two models: the per-fold accuracy difference and the paired bootstrap.
    assert [(c.a, c.b) for c in cmp.comparisons] == [("dlib", "edgeface_xs"), ("dlib", "dlib+edgeface_xs"),
                                                     ("edgeface_xs", "dlib+edgeface_xs")]
    c = cmp.comparisons[0]
    np.testing.assert_allclose(c.accuracy_difference.per_fold,
                               dlib.report.kfold.accuracies - edge.report.kfold.accuracies)
    assert set(c.paired) == {"auc", "eer", "tar@1e-2", "tar@1e-3"}
    assert c.paired["auc"].a == pytest.approx(dlib.report.auc) and c.paired["auc"].b == pytest.approx(edge.report.auc)
    d = json.loads(json.dumps(json_safe(cmp.to_dict()), allow_nan=False))
    assert d["protocol"] == {"file": "pairs", "folds_used": 2, "folds_in_file": 10, "n_pairs": 8, "missing": "worst"}
    assert d["models"][2]["fusion"]["models"] == ["dlib", "edgeface_xs"] and "no_face" not in d["models"][2]
    assert d["comparison"][0]["accuracy_difference"]["n_folds"] == 2


def test_compare_on_lfw_refusals(lfw, small_lfw):
    pairs, _ = small_lfw
    with pytest.raises(EvaluationError, match="empty model name"):
        compare_on_lfw(lfw, ["dlib", "dlib+"], pairs=pairs)
    with pytest.raises(EvaluationError, match="missing must be"):
        compare_on_lfw(lfw, ["dlib", "ir_18"], pairs=pairs, missing="skip")
    with pytest.raises(EvaluationError, match="at least 1"):
        lfw_protocol_pairs(lfw, "pairs", limit_folds=0)
