"""Reference solutions for notebook 08 (the LFW protocol)."""

from __future__ import annotations

import numpy as np

from facelab import verification as V


def kfold_by_hand(scores, same, folds) -> np.ndarray:
    """The LFW protocol written out: threshold from the other folds, accuracy on each fold."""
    s, y, f = np.asarray(scores), np.asarray(same, bool), np.asarray(folds)
    accs = []
    for k in np.unique(f):
        t, _ = V.best_accuracy_threshold(s[f != k], y[f != k])
        accs.append(np.mean((s[f == k] >= t) == y[f == k]))
    return np.asarray(accs)


def exercise_1(scores, same, folds) -> float:
    """Largest gap between ``kfold_by_hand`` and :func:`facelab.verification.kfold_accuracy`."""
    return float(np.abs(kfold_by_hand(scores, same, folds) - V.kfold_accuracy(scores, same, folds).accuracies).max())


def exercise_2(scores, same, folds, *, k: int = 5) -> dict:
    """The optimistic bias with ``k`` folds instead of 10 (folds merged in order)."""
    from facelab.analysis.protocol import protocol_bias

    f = np.asarray(folds) % k
    return protocol_bias(scores, same, f).summary()


def exercise_3(embeddings, identities) -> dict:
    """AUC and EER of every pair, exact (sklearn, all scores held) and streamed (histograms)."""
    pairs = V.make_pairs(identities)
    s = V.pair_scores(embeddings, pairs)
    st = V.streaming_roc(embeddings, identities)
    return {"exact_auc": V.roc(s, pairs.same).auc, "streaming_auc": st.auc,
            "exact_eer": V.eer(s, pairs.same)[0], "streaming_eer": st.eer, "pairs": len(pairs)}
