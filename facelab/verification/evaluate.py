"""Every verification metric of a score set at once: :func:`evaluate_verification` and its
:class:`VerificationReport` (what the CLI, the report and the notebooks print and save)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.calibration import Calibration, threshold_scales
from facelab.core.jsonsafe import json_safe
from facelab.verification._checks import check_scores
from facelab.verification.bootstrap import bootstrap_cis, tar_metric
from facelab.verification.curves import DEFAULT_FARS, eer, far_key, roc, tar_at_far
from facelab.verification.thresholds import KFoldResult, best_accuracy_threshold, confusion_at, kfold_accuracy, youden_j

__all__ = ["VerificationReport", "evaluate_verification"]


@dataclass(frozen=True)
class VerificationReport:
    """Everything :func:`evaluate_verification` measured. See :meth:`to_dict`."""

    n_pairs: int
    n_genuine: int
    n_impostor: int
    auc: float
    eer: float
    eer_threshold: float
    threshold: float
    accuracy: float
    accuracy_std: Optional[float]
    kfold: Optional[KFoldResult]
    tar_at_far: tuple
    youden: float
    youden_threshold: float
    calibration: Optional[Calibration]
    cis: dict = field(default_factory=dict)
    scores: Optional[np.ndarray] = field(default=None, repr=False)
    same: Optional[np.ndarray] = field(default=None, repr=False)

    def scales(self, cosine: float) -> dict:
        """A cosine threshold on the three scales: cosine, squared distance, calibrated score
        (:func:`facelab.core.calibration.threshold_scales`)."""
        return threshold_scales(cosine, self.calibration)

    def to_dict(self) -> dict:
        """JSON-ready summary (NaN becomes ``None``, see :func:`facelab.core.jsonsafe.json_safe`)."""
        out = {
            "pairs": self.n_pairs,
            "genuine_pairs": self.n_genuine,
            "impostor_pairs": self.n_impostor,
            "auc": self.auc,
            "eer": self.eer,
            "eer_threshold": self.eer_threshold,
            "threshold": self.threshold,
            "accuracy": self.accuracy,
            "accuracy_std": self.accuracy_std,
            "accuracy_protocol": (f"{self.kfold.accuracies.size}-fold: threshold chosen on the other folds"
                                  if self.kfold is not None else "best threshold on all pairs (optimistic)"),
            "tar_at_far": {far_key(t.far): t.to_dict() for t in self.tar_at_far},
            "youden": {"j": self.youden, "threshold": self.youden_threshold},
            "thresholds": {
                "eer": self.scales(self.eer_threshold),
                "best_accuracy": self.scales(self.threshold),
                **{f"far_{far_key(t.far)}": self.scales(t.threshold) for t in self.tar_at_far},
            },
            "calibration": self.calibration.to_dict() if self.calibration is not None else None,
            "ci": {k: v.to_dict() for k, v in self.cis.items()},
        }
        if self.kfold is not None:
            out["folds"] = {"accuracies": self.kfold.accuracies, "thresholds": self.kfold.thresholds}
        return json_safe(out)

    def threshold_table(self) -> pd.DataFrame:
        """One row per operating point (EER, best accuracy, each FAR target).

        Columns: ``cosine``, ``distance``, ``score`` (the threshold on the three scales), ``FAR``,
        ``FRR``, ``accuracy`` measured on all pairs at that threshold, ``CI`` (the bootstrap
        interval as a ``(low, high)`` tuple, None if not computed), ``CI of`` (which quantity the
        interval is about: the EER, the best threshold on the cosine scale, or the TAR) and the
        interval's ends as numbers, ``CI low`` and ``CI high``.
        """
        rows, index = [], []

        def add(name, cos, ci_key, ci_of):
            sc = self.scales(cos)
            if self.scores is not None and cos is not None and math.isfinite(cos):
                c = confusion_at(self.scores, self.same, cos)
                far, frr, acc = c.far, c.frr, c.accuracy
            else:
                far = frr = acc = math.nan
            ci = self.cis.get(ci_key)
            has = ci is not None and math.isfinite(ci.low)
            rows.append({**{k: (math.nan if v is None else v) for k, v in sc.items()}, "FAR": far, "FRR": frr,
                         "accuracy": acc, "CI": (ci.low, ci.high) if has else None,
                         "CI of": ci_of if has else "", "CI low": ci.low if has else math.nan,
                         "CI high": ci.high if has else math.nan})
            index.append(name)

        add("EER", self.eer_threshold, "eer", "EER")
        add("best accuracy", self.threshold, "best_threshold", "threshold (cosine)")
        for t in self.tar_at_far:
            add(f"FAR={t.far:g}", t.threshold, f"tar@{far_key(t.far)}", "TAR")
        return pd.DataFrame(rows, index=pd.Index(index, name="operating point"))


def evaluate_verification(scores, same, *, folds=None, id1=None, id2=None, calibration: Optional[Calibration] = None,
                          fars: Sequence[float] = DEFAULT_FARS, n_boot: int = 1000, seed: int = 0,
                          level: float = 0.95) -> VerificationReport:
    """All verification metrics of a score set.

    Parameters
    ----------
    scores, same : array-like
        Cosine similarities and same-person labels.
    folds : array-like, optional
        Fold of each pair: accuracy is then the k-fold protocol (:func:`kfold_accuracy`);
        without folds it is the best accuracy on all pairs (optimistic, ``accuracy_std`` None).
    id1, id2 : array-like, optional
        Identities of both sides: enables identity-level bootstrap CIs of the EER, the
        best-accuracy threshold and each TAR@FAR (``n_boot`` replicates; 0 disables).
    calibration : Calibration, optional
        For thresholds on the calibrated-score scale.
    """
    s, y = check_scores(scores, same)
    r = roc(s, y)
    e, et = eer(s, y)
    thr, acc_all = best_accuracy_threshold(s, y)
    kf = None
    acc, acc_std = acc_all, None
    if folds is not None:
        kf = kfold_accuracy(s, y, folds)
        acc, acc_std = kf.mean, kf.std
    taf = tuple(tar_at_far(s, y, fars))
    j, jt = youden_j(s, y)
    cis = {}
    if id1 is not None and id2 is not None and n_boot > 0:
        metrics = {"eer": "eer", "best_threshold": "best_threshold"}
        for t in taf:
            if math.isfinite(t.tar):
                metrics[f"tar@{far_key(t.far)}"] = tar_metric(t.far)
        cis = bootstrap_cis(s, y, id1, id2, metrics=metrics, n_boot=n_boot, seed=seed, level=level)
    return VerificationReport(
        n_pairs=int(s.size), n_genuine=int(y.sum()), n_impostor=int((~y).sum()), auc=r.auc, eer=e, eer_threshold=et,
        threshold=thr, accuracy=acc, accuracy_std=acc_std, kfold=kf, tar_at_far=taf, youden=j, youden_threshold=jt,
        calibration=calibration, cis=cis, scores=s, same=y,
    )
