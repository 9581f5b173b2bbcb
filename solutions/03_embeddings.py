"""Reference solutions for notebook 03 (embeddings)."""

from __future__ import annotations

import numpy as np

from facelab import embed_folder
from facelab import verification as V
from facelab.core.calibration import squared_distance


def exercise_1(dataset, *, model: str = "dlib") -> dict:
    """Mean genuine and impostor cosine with and without flip averaging."""
    out = {}
    for flip in (False, True):
        res = embed_folder(dataset, model=model, flip=flip, progress=False)
        pairs = V.make_pairs(res.identities)
        s = V.pair_scores(res.embeddings, pairs)
        out[flip] = {"genuine": float(s[pairs.same].mean()), "impostor": float(s[~pairs.same].mean())}
    return out


def exercise_2(embeddings) -> float:
    """Largest gap between ``2 - 2 cos`` written by hand and facelab's squared distance."""
    e = np.asarray(embeddings, dtype=np.float64)
    cos = e @ e.T
    return float(np.abs((2 - 2 * cos) - squared_distance(e[:, None, :], e[None, :, :])).max())


def exercise_3(dataset, *, model: str = "dlib") -> dict:
    """The hardest pairs: the most similar two different people, the least similar one person."""
    res = embed_folder(dataset, model=model, progress=False)
    pairs = V.make_pairs(res.identities)
    s = V.pair_scores(res.embeddings, pairs)
    ids = np.asarray(res.ids)
    gi = np.flatnonzero(pairs.same)[np.argmin(s[pairs.same])]
    ii = np.flatnonzero(~pairs.same)[np.argmax(s[~pairs.same])]
    return {"hardest_genuine": (ids[pairs.i[gi]], ids[pairs.j[gi]], float(s[gi])),
            "hardest_impostor": (ids[pairs.i[ii]], ids[pairs.j[ii]], float(s[ii])),
            "genuine_mean": float(s[pairs.same].mean())}


def exercise_4(faces, *, model: str = "dlib") -> np.ndarray:
    """Norms of the raw (un-normalised) embeddings of a :class:`facelab.analysis.faces.FaceSet`."""
    from facelab import create_embedder
    from facelab.stages.alignment import get_preset

    emb = create_embedder(model)
    preset = get_preset(emb.alignment)
    chips = np.stack([preset(im, f).image for im, f in zip(faces.images, faces.faces)])
    return np.linalg.norm(emb.embed_raw(chips), axis=1)
