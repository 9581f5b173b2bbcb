"""The LFW pairs protocol: the images a pairs table needs, and the scores of its pairs.

Images without an embedding (no face found, unreadable file...) are never dropped silently:
:func:`lfw_pair_scores` scores their pairs by the ``on_missing`` policy and lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from facelab.core.vectors import unit_rows
from facelab.data.datasets import require_columns
from facelab.verification.pairs import pair_scores

__all__ = ["LfwScores", "lfw_pair_scores"]

#: Score given to a pair with an image without embedding under the "worst" policy: the lowest
#: cosine, so the pair is always decided "different person" (a false reject when it is genuine).
WORST_SCORE = -1.0

#: The policies for pairs with an image without embedding (see :func:`lfw_pair_scores`).
ON_MISSING = ("worst", "drop")


@dataclass(frozen=True)
class LfwScores:
    """Scores of an LFW pairs protocol.

    Attributes
    ----------
    scores, same, folds : ndarrays
        One entry per pair kept.
    name1, name2 : ndarrays of str
        Identities of both sides (for identity-level bootstrap).
    incomplete_pairs : pandas.DataFrame
        Pairs with at least one image without an embedding: ``pair`` (row in the pairs table),
        ``image_id1``, ``image_id2``, ``same``, ``without_embedding`` (the pair's image ids that
        have no embedding).
    images_without_embedding : list of str
        Distinct image ids without an embedding, sorted.
    policy : str
        The ``on_missing`` policy applied to the incomplete pairs: ``"worst"`` (scored
        :data:`WORST_SCORE`, i.e. decided "different person") or ``"drop"``.
    n_pairs : int
        Pairs in the protocol before any were dropped.
    """

    scores: np.ndarray
    same: np.ndarray
    folds: np.ndarray
    name1: np.ndarray
    name2: np.ndarray
    incomplete_pairs: pd.DataFrame
    images_without_embedding: list
    policy: str
    n_pairs: int

    def summary(self) -> dict:
        """JSON-ready account of the pairs without embeddings and what was done with them."""
        action = {
            "worst": f"scored {WORST_SCORE} (decided 'different person'; a genuine pair counts as a false reject)",
            "drop": "dropped from the evaluation",
        }[self.policy]
        inc = self.incomplete_pairs
        return {
            "count": len(self.images_without_embedding),
            "images": list(self.images_without_embedding),
            "pairs_affected": int(len(inc)),
            "genuine_pairs_affected": int(inc["same"].sum()) if len(inc) else 0,
            "policy": self.policy,
            "action": action,
            "pairs_total": int(self.n_pairs),
            "pairs_evaluated": int(self.scores.size),
        }


def lfw_pair_scores(pairs: pd.DataFrame, embeddings, id_to_row: Mapping[str, int], *,
                    on_missing: str = "worst") -> LfwScores:
    """Cosine scores of an LFW pairs table.

    Parameters
    ----------
    pairs : pandas.DataFrame
        From :meth:`facelab.data.datasets.LFW.pairs`: columns ``fold``, ``same``, ``image_id1``,
        ``image_id2`` (``name1``/``name2`` used for identities when present).
    embeddings : (N, D) array
    id_to_row : mapping
        image_id -> row of ``embeddings``. Images without a row have no embedding (no face found,
        unreadable file...).
    on_missing : {"worst", "drop"}
        What to do with pairs whose image has no embedding. ``"worst"`` (default) keeps them with
        score :data:`WORST_SCORE`, so they are always decided "different person", as LFW's
        "unrestricted" results count failures to detect; ``"drop"`` leaves them out. Either way
        they are listed in :attr:`LfwScores.incomplete_pairs`.
    """
    if on_missing not in ON_MISSING:
        raise ValueError(f"on_missing must be 'worst' or 'drop', got {on_missing!r}")
    require_columns(pairs, ["fold", "same", "image_id1", "image_id2"])
    e = unit_rows(embeddings) if len(id_to_row) else np.zeros((0, 1))
    r1 = np.array([id_to_row.get(k, -1) for k in pairs["image_id1"]], dtype=np.int64)
    r2 = np.array([id_to_row.get(k, -1) for k in pairs["image_id2"]], dtype=np.int64)
    ok = (r1 >= 0) & (r2 >= 0)
    scores = np.full(len(pairs), WORST_SCORE, dtype=np.float64)
    if ok.any():
        scores[ok] = pair_scores(e, (r1[ok], r2[ok]))
    same = pairs["same"].to_numpy(bool)
    folds = pairs["fold"].to_numpy(np.int64)
    # Identities from the names when given, else from the ids ("Name_Surname_0001" -> "Name_Surname").
    name1, name2 = (pairs[f"name{k}"].to_numpy(str) if f"name{k}" in pairs
                    else pairs[f"image_id{k}"].str.rsplit("_", n=1).str[0].to_numpy(str) for k in (1, 2))
    rows = []
    without: dict[str, None] = {}
    for k in np.flatnonzero(~ok):
        ids = [x for x, r in ((pairs["image_id1"].iat[k], r1[k]), (pairs["image_id2"].iat[k], r2[k])) if r < 0]
        for x in ids:
            without.setdefault(x, None)
        rows.append((int(k), pairs["image_id1"].iat[k], pairs["image_id2"].iat[k], bool(same[k]), ids))
    incomplete = pd.DataFrame(rows, columns=["pair", "image_id1", "image_id2", "same", "without_embedding"])
    keep = ok if on_missing == "drop" else np.ones(len(pairs), bool)
    return LfwScores(
        scores=scores[keep],
        same=same[keep],
        folds=folds[keep],
        name1=name1[keep],
        name2=name2[keep],
        incomplete_pairs=incomplete,
        images_without_embedding=sorted(without),
        policy=on_missing,
        n_pairs=len(pairs),
    )
