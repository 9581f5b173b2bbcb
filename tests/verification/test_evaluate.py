"""evaluate_verification and its report (facelab.verification.evaluate)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.verification.evaluate import evaluate_verification
from facelab.verification.thresholds import confusion_at, kfold_accuracy


def test_evaluate_verification_report_and_table(brute_auc, identity_pairs):
    s, y, a, b = identity_pairs(n_id=15)
    f = np.arange(s.size) % 5
    rep = evaluate_verification(s, y, folds=f, id1=a, id2=b, calibration=REFERENCE_CALIBRATION, n_boot=40)
    d = rep.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["auc"] == pytest.approx(brute_auc(s, y))
    assert d["accuracy"] == pytest.approx(kfold_accuracy(s, y, f).mean)
    assert d["accuracy_std"] is not None
    assert set(d["tar_at_far"]) == {"1e-1", "1e-2", "1e-3", "1e-4"}
    assert d["tar_at_far"]["1e-4"]["tar"] is None and "needs at least 10000" in d["tar_at_far"]["1e-4"]["reason"]
    th = d["thresholds"]["best_accuracy"]
    assert th["distance"] == pytest.approx(2 - 2 * th["cosine"])
    assert th["score"] == pytest.approx(REFERENCE_CALIBRATION.score(th["distance"]))
    assert set(d["ci"]) >= {"eer", "best_threshold", "tar@1e-1"}
    assert d["ci"]["eer"]["low"] <= d["ci"]["eer"]["high"]
    tab = rep.threshold_table()
    assert list(tab.index[:3]) == ["EER", "best accuracy", "FAR=0.1"]
    assert {"cosine", "distance", "score", "FAR", "FRR", "accuracy", "CI"} <= set(tab.columns)
    row = tab.loc["best accuracy"]
    c = confusion_at(s, y, rep.threshold)
    assert row["FAR"] == pytest.approx(c.far) and row["accuracy"] == pytest.approx(c.accuracy)
    assert tab.loc["FAR=0.1", "FAR"] <= 0.1
    ci = rep.cis["eer"]
    assert tab.loc["EER", "CI"] == (ci.low, ci.high) and tab.loc["EER", "CI low"] == ci.low
    assert tab.loc["FAR=0.0001", "CI"] is None and math.isnan(tab.loc["FAR=0.0001", "CI high"])


def test_evaluate_verification_without_folds_or_ids(random_set):
    s, y = random_set(2)
    d = evaluate_verification(s, y).to_dict()
    assert d["accuracy_std"] is None and d["ci"] == {} and d["thresholds"]["eer"]["score"] is None
