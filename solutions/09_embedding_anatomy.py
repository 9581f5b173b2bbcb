"""Reference solutions for notebook 09 (the embedding itself)."""

from __future__ import annotations

import numpy as np

from facelab import verification as V
from facelab.core.vectors import unit_rows


def exercise_1(anatomy, *, quality: str = "blur") -> float:
    """Spearman correlation of the raw norm with one quality measure."""
    return float(anatomy.correlations()[quality])


def exercise_2(faces, embedder) -> float:
    """Flip averaging by hand from raw vectors; largest gap to ``create_embedder(..., flip=True)``."""
    from facelab import create_embedder
    from facelab.stages.alignment import get_preset

    chips = np.stack([get_preset(embedder.alignment)(im, f).image for im, f in zip(faces.images, faces.faces)])
    a = embedder.embed_raw(chips)
    b = embedder.embed_raw(np.ascontiguousarray(chips[:, :, ::-1]))
    mine = unit_rows(unit_rows(a) + unit_rows(b))
    theirs = create_embedder(embedder.name, flip=True).embed(chips)
    return float(np.abs(mine - theirs).max())


def exercise_3(embeddings, identities, *, dims=(4, 16, 64)) -> dict:
    """AUC after projecting onto the first ``k`` principal components (and with all dimensions)."""
    e = np.asarray(embeddings, dtype=np.float64)
    pairs = V.make_pairs(identities)
    centred = e - e.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    out = {"all": V.roc(V.pair_scores(e, pairs), pairs.same).auc}
    for k in dims:
        out[k] = V.roc(V.pair_scores(centred @ vt[:k].T, pairs), pairs.same).auc
    return out
