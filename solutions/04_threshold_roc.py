"""Reference solutions for notebook 04 (thresholds and ROC)."""

from __future__ import annotations

import numpy as np

from facelab import embed_folder
from facelab import verification as V
from facelab.core.calibration import fit_calibration
from facelab.verification.thresholds import candidate_thresholds


def _scores(dataset, model):
    res = embed_folder(dataset, model=model, progress=False)
    ids = np.asarray(res.identities)
    pairs = V.make_pairs(ids)
    return res, pairs, V.pair_scores(res.embeddings, pairs)


def exercise_1(dataset, *, model: str = "dlib", n_boot: int = 200):
    """EER with its identity-level 95% interval (wide with few identities, a point with two)."""
    res, pairs, s = _scores(dataset, model)
    id1, id2 = pairs.identities(res.identities)
    return V.bootstrap_ci(s, pairs.same, id1, id2, metric="eer", n_boot=n_boot)


def far_frr(scores, same, threshold: float) -> tuple[float, float]:
    """FAR and FRR written by hand (accept ``score >= threshold``)."""
    s, y = np.asarray(scores), np.asarray(same, bool)
    return float(np.mean(s[~y] >= threshold)), float(np.mean(s[y] < threshold))


def exercise_2(dataset, *, model: str = "dlib") -> float:
    """Largest difference between ``far_frr`` and facelab's ``confusion_at`` over every candidate threshold."""
    _, pairs, s = _scores(dataset, model)
    worst = 0.0
    for t in candidate_thresholds(s):
        c = V.confusion_at(s, pairs.same, t)
        far, frr = far_frr(s, pairs.same, t)
        worst = max(worst, abs(far - c.far), abs(frr - c.frr))
    return worst


def exercise_3(dataset, *, model: str = "dlib", far: float = 0.01, seed: int = 0) -> dict:
    """Fit a calibration on half of the pairs; Brier score of its probabilities on the other half."""
    res, pairs, _ = _scores(dataset, model)
    d = V.squared_distances(res.embeddings, pairs)
    rng = np.random.default_rng(seed)
    train = rng.random(d.size) < 0.5
    cal = fit_calibration(d[train], pairs.same[train])
    p = cal.score(d[~train])
    y = pairs.same[~train]
    return {"brier": float(np.mean((p - y) ** 2)), "coin_flip_brier": 0.25, "calibration": cal}
