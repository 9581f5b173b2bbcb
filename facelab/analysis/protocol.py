"""The LFW protocol against choosing the threshold on the test pairs (computing only; figures in
:mod:`facelab.plotting.experiments`).

:func:`protocol_bias`: the threshold chosen on nine folds and tested on the tenth, against the
threshold chosen on all pairs (or on the test fold itself) -- the optimistic bias of testing on the
data the threshold was fitted to, measured; :func:`bias_vs_pairs`: how that bias shrinks as the
folds grow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from facelab import verification as V

__all__ = ["ProtocolBias", "bias_vs_pairs", "protocol_bias"]


@dataclass
class ProtocolBias:
    """Accuracy per fold under three ways of choosing the threshold.

    Attributes
    ----------
    folds : ndarray
    kfold, all_pairs, oracle : ndarray
        Accuracy of each fold with the threshold chosen on the *other* folds (the LFW protocol),
        on *all* pairs (the test fold included), and on the test fold *itself*.
    thresholds : pandas.DataFrame
        The three thresholds per fold.
    """

    folds: np.ndarray
    kfold: np.ndarray
    all_pairs: np.ndarray
    oracle: np.ndarray
    thresholds: pd.DataFrame

    @property
    def bias(self) -> float:
        """Mean all-pairs accuracy minus mean protocol accuracy (percentage points / 100)."""
        return float(self.all_pairs.mean() - self.kfold.mean())

    @property
    def oracle_bias(self) -> float:
        return float(self.oracle.mean() - self.kfold.mean())

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"fold": self.folds, "kfold": self.kfold, "all_pairs": self.all_pairs, "oracle": self.oracle})

    def summary(self) -> dict:
        return {"kfold_mean": float(self.kfold.mean()), "kfold_std": float(self.kfold.std()),
                "all_pairs_mean": float(self.all_pairs.mean()), "oracle_mean": float(self.oracle.mean()),
                "bias": self.bias, "oracle_bias": self.oracle_bias, "n_pairs": int(self.thresholds.n_pairs.sum())}


def protocol_bias(scores, same, folds) -> ProtocolBias:
    """The LFW protocol against choosing the threshold on the pairs it is tested on.

    Parameters
    ----------
    scores, same, folds : arrays
        One per pair (e.g. :attr:`facelab.verification.LfwScores.scores` / ``same`` / ``folds``).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    f = np.asarray(folds).ravel()
    kf = V.kfold_accuracy(s, y, f)
    t_all, _ = V.best_accuracy_threshold(s, y)
    all_acc, orc_acc, orc_thr, sizes = [], [], [], []
    for lab in kf.folds:
        m = f == lab
        all_acc.append(V.confusion_at(s[m], y[m], t_all).accuracy)
        t_o, a_o = V.best_accuracy_threshold(s[m], y[m])
        orc_thr.append(t_o)
        orc_acc.append(a_o)
        sizes.append(int(m.sum()))
    thr = pd.DataFrame({"fold": kf.folds, "kfold": kf.thresholds, "all_pairs": t_all, "oracle": orc_thr, "n_pairs": sizes})
    return ProtocolBias(folds=kf.folds, kfold=kf.accuracies, all_pairs=np.asarray(all_acc), oracle=np.asarray(orc_acc),
                        thresholds=thr)


def bias_vs_pairs(scores, same, folds, *, pairs_per_fold: Sequence[int] = (10, 20, 50, 100, 300, 600),
                  repeats: int = 20, seed: int = 0) -> pd.DataFrame:
    """How the optimistic bias shrinks as the folds grow.

    For each size, ``repeats`` times: draw that many pairs per fold (half genuine, half impostor,
    without replacement; capped at what the fold has), then :func:`protocol_bias`.

    Returns
    -------
    pandas.DataFrame
        ``pairs_per_fold``, ``n_pairs``, ``kfold``, ``all_pairs``, ``oracle`` (mean accuracies over
        repeats), ``bias`` and ``bias_std`` (all-pairs minus protocol), ``oracle_bias``.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    f = np.asarray(folds).ravel()
    rng = np.random.default_rng(seed)
    rows = []
    for n in pairs_per_fold:
        res = []
        for _ in range(int(repeats)):
            pick = []
            for lab in np.unique(f):
                for cls in (True, False):
                    idx = np.flatnonzero((f == lab) & (y == cls))
                    pick.append(rng.choice(idx, size=min(idx.size, max(1, int(n) // 2)), replace=False))
            k = np.concatenate(pick)
            res.append(protocol_bias(s[k], y[k], f[k]))
        rows.append({
            "pairs_per_fold": int(n), "n_pairs": int(res[0].thresholds.n_pairs.sum()),
            "kfold": float(np.mean([r.kfold.mean() for r in res])),
            "all_pairs": float(np.mean([r.all_pairs.mean() for r in res])),
            "oracle": float(np.mean([r.oracle.mean() for r in res])),
            "bias": float(np.mean([r.bias for r in res])), "bias_std": float(np.std([r.bias for r in res])),
            "oracle_bias": float(np.mean([r.oracle_bias for r in res])),
        })
    return pd.DataFrame(rows)
