"""``facelab lfw --model A --model B [--model A+B]`` on a tiny fake LFW tree with stubbed embeddings."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from scipy.stats import t as student_t

from facelab import verification as V
from facelab.cli import main
from facelab.data.datasets import LFW, pair_images
from facelab.engine import pipeline
from facelab.verification.comparison import fit_fusion, paired_bootstrap

from .test_lfw import fake_lfw  # noqa: F401  (the fixture)


@pytest.fixture
def two_models(monkeypatch, stub_embeddings):
    """``embed_images`` stand-in whose vectors depend on the model: "good" (little noise), "poor" (more)."""
    from .conftest import _fake_embed_images

    fakes = {"good": _fake_embed_images(noise=0.3), "poor": _fake_embed_images(noise=1.2)}
    calls = []

    def embed_images(images_df, settings=None, **kw):
        from facelab.engine.settings import EmbedSettings

        s = EmbedSettings.of(settings, **{k: kw.pop(k) for k in ("model", "detector") if k in kw})
        calls.append((s.model, s.detector, tuple(images_df.image_id)))
        res = fakes[s.model](images_df, **kw)
        res.model = s.model
        if s.model == "poor":  # per-image noise of another seed: the models differ pair by pair
            rng = np.random.default_rng(zlib.crc32(b"poor"))
            e = res.embeddings + 0.3 * rng.normal(size=res.embeddings.shape).astype(np.float32)
            res.embeddings = e / np.linalg.norm(e, axis=1, keepdims=True)
        return res

    monkeypatch.setattr(pipeline, "embed_images", embed_images)
    return SimpleCalls(calls, fakes, embed_images)


class SimpleCalls:
    def __init__(self, calls, fakes, fn):
        self.calls, self.fakes, self.fn = calls, fakes, fn


def _scores(root, fn, model, which="pairs"):
    pairs = LFW(root).pairs(which)
    res = fn(pair_images(pairs), model=model, detector="mtcnn")
    return res, V.lfw_pair_scores(pairs, res.embeddings, res.rows_of(), on_missing="worst")


def test_two_models_rows_and_paired_difference(fake_lfw, two_models, capsys):  # noqa: F811
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--model", "poor", "--format", "json",
                 "--n-boot", "40", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    # Both models on the same images, each with its own default detector (unknown models: dlib).
    assert [c[0] for c in two_models.calls] == ["good", "poor"]
    from facelab.models.weights import default_detector

    assert two_models.calls[0][1:] == two_models.calls[1][1:] and two_models.calls[0][1] == default_detector("good")
    assert [r["model"] for r in d["models"]] == ["good", "poor"]
    _, la = _scores(fake_lfw, two_models.fn, "good")
    _, lb = _scores(fake_lfw, two_models.fn, "poor")
    ka, kb = (V.kfold_accuracy(x.scores, x.same, x.folds) for x in (la, lb))
    assert d["models"][0]["accuracy"] == pytest.approx(ka.mean)
    assert d["models"][1]["accuracy"] == pytest.approx(kb.mean)
    assert d["models"][1]["auc"] == pytest.approx(V.roc(lb.scores, lb.same).auc)
    (c,) = d["comparison"]
    assert (c["a"], c["b"]) == ("good", "poor")
    diff = ka.accuracies - kb.accuracies
    ad = c["accuracy_difference"]
    assert ad["per_fold"] == pytest.approx(list(diff)) and ad["mean"] == pytest.approx(diff.mean())
    half = student_t.ppf(0.975, diff.size - 1) * diff.std(ddof=1) / np.sqrt(diff.size)
    assert ad["t_low"] == pytest.approx(diff.mean() - half) and ad["t_high"] == pytest.approx(diff.mean() + half)
    pb = paired_bootstrap(la.scores, lb.scores, la.same, la.name1, la.name2, metrics=("auc", "eer", "tar@1e-3"),
                          n_boot=40, seed=0)
    assert np.isfinite(pb["auc"].difference) and np.isfinite(pb["auc"].low)
    for m, v in pb.items():  # NaN (TAR@1e-3 on 6 impostors) is written as null
        for k in ("a", "b", "difference", "low", "high"):
            want = getattr(v, k)
            assert c["paired_bootstrap"][m][k] == (pytest.approx(want) if np.isfinite(want) else None)


def test_fusion_fitted_on_devtrain_only(fake_lfw, two_models, capsys):  # noqa: F811
    # devtrain: other pairs than pairs.txt's.
    lines = ["3", "Ann_A\t1\t3", "Bob_B\t2\t3", "Cid_C\t2\t3", "Ann_A\t2\tDee_D\t2", "Bob_B\t3\tCid_C\t3",
             "Ann_A\t3\tBob_B\t4"]
    (fake_lfw / "pairsDevTrain.txt").write_text("\n".join(lines) + "\n")
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--model", "poor", "--model", "good+poor",
                 "--format", "json", "--n-boot", "0", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in d["models"]] == ["good", "poor", "good+poor"]
    trained = {c[2] for c in two_models.calls}
    assert tuple(pair_images(LFW(fake_lfw).pairs("devtrain")).image_id) in trained
    # The fusion, recomputed: fitted on devtrain calibrated scores, applied to pairs.txt.
    tr = {m: _scores(fake_lfw, two_models.fn, m, "devtrain") for m in ("good", "poor")}
    fus = fit_fusion({m: r.calibration.score_for_cosine(ls.scores) for m, (r, ls) in tr.items()},
                     tr["good"][1].same)
    fused = d["models"][2]
    assert fused["fusion"]["coef"] == pytest.approx(fus.coef, rel=1e-6)
    te = {m: _scores(fake_lfw, two_models.fn, m) for m in ("good", "poor")}
    sc = fus.predict_proba({m: r.calibration.score_for_cosine(ls.scores) for m, (r, ls) in te.items()})
    ls = te["good"][1]
    assert fused["accuracy"] == pytest.approx(V.kfold_accuracy(sc, ls.same, ls.folds).mean)
    assert fused["auc"] == pytest.approx(V.roc(sc, ls.same).auc)
    assert [(c["a"], c["b"]) for c in d["comparison"]] == [("good", "poor"), ("good", "good+poor"),
                                                            ("poor", "good+poor")]


def test_detector_given_applies_to_every_model(fake_lfw, two_models, capsys):  # noqa: F811
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--model", "poor", "--detector", "mtcnn",
                 "--n-boot", "0", "--quiet"]) == 0
    assert [c[1] for c in two_models.calls] == ["mtcnn", "mtcnn"]
    two_models.calls.clear()
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--n-boot", "0", "--quiet"]) == 0
    from facelab.models.weights import default_detector

    assert [c[1] for c in two_models.calls] == [default_detector("good")]  # one model: the model's own


def test_multi_table_and_errors(fake_lfw, two_models, capsys):  # noqa: F811
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--model", "poor", "--n-boot", "20",
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "2 models on the same pairs" in text and "good − poor:" in text
    assert "accuracy difference over 2 folds" in text and "paired bootstrap 95%" in text
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--model", "good", "--quiet"]) == 2
    assert "--model given twice: good" in capsys.readouterr().err
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--model", "poor", "--weights", "x.pth",
                 "--quiet"]) == 2
    assert "single --model" in capsys.readouterr().err


def test_fusion_where_one_model_has_no_face(fake_lfw, two_models, capsys, monkeypatch):  # noqa: F811
    from .conftest import _fake_embed_images

    lines = ["3", "Ann_A\t1\t3", "Bob_B\t2\t3", "Cid_C\t2\t3", "Ann_A\t2\tDee_D\t2", "Bob_B\t3\tCid_C\t3",
             "Ann_A\t3\tBob_B\t4"]
    (fake_lfw / "pairsDevTrain.txt").write_text("\n".join(lines) + "\n")
    two_models.fakes["poor"] = _fake_embed_images(noise=1.2, no_face={"Ann_A_0001"})
    assert main(["lfw", "--root", str(fake_lfw), "--model", "good", "--model", "poor", "--model", "good+poor",
                 "--format", "json", "--n-boot", "0", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["models"][1]["no_face"]["count"] == 1 and d["protocol"]["n_pairs"] == 12
    tr = {m: _scores(fake_lfw, two_models.fn, m, "devtrain") for m in ("good", "poor")}
    fus = fit_fusion({m: r.calibration.score_for_cosine(ls.scores) for m, (r, ls) in tr.items()},
                     tr["good"][1].same)
    te = {m: _scores(fake_lfw, two_models.fn, m) for m in ("good", "poor")}
    cal = {m: r.calibration.score_for_cosine(ls.scores) for m, (r, ls) in te.items()}
    missing = te["poor"][1].incomplete_pairs["pair"].to_numpy(int)
    assert len(missing) == 2
    cal["poor"][missing] = 0.5  # no face: no evidence from that model
    sc = fus.predict_proba(cal)
    ls = te["good"][1]
    assert d["models"][2]["auc"] == pytest.approx(V.roc(sc, ls.same).auc)
    assert d["models"][2]["accuracy"] == pytest.approx(V.kfold_accuracy(sc, ls.same, ls.folds).mean)
