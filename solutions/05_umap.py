"""Reference solutions for notebook 05 (the embedding space)."""

from __future__ import annotations

import numpy as np

from facelab import embed_folder


def exercise_1(dataset, *, model: str = "dlib", n_neighbors=(2, 15)) -> dict:
    """Silhouette of the identities in embedding space and on UMAP maps with other ``n_neighbors``."""
    from sklearn.metrics import silhouette_score

    from facelab.analysis.projection import project

    res = embed_folder(dataset, model=model, progress=False)
    ids = np.asarray(res.identities)
    out = {"embedding (cosine)": float(silhouette_score(res.embeddings, ids, metric="cosine"))}
    for k in n_neighbors:
        out[f"umap n_neighbors={k}"] = float(silhouette_score(project(res.embeddings, method="umap", n_neighbors=k).coords, ids))
    return out


def rank1(embeddings, identities) -> float:
    """Leave-one-out rank-1: each face is searched against all others; right when the nearest is the same person."""
    e = np.asarray(embeddings, dtype=np.float64)
    ids = np.asarray(identities)
    cos = e @ e.T
    np.fill_diagonal(cos, -np.inf)
    return float(np.mean(ids[np.argmax(cos, axis=1)] == ids))


def exercise_2(dataset, *, model: str = "dlib") -> float:
    res = embed_folder(dataset, model=model, progress=False)
    return rank1(res.embeddings, res.identities)


def exercise_3(dataset, *, model: str = "dlib", k: int = 3):
    """Faces whose nearest neighbour is someone else, with that neighbour and its cosine."""
    import pandas as pd

    from facelab.core.vectors import nearest_neighbours

    res = embed_folder(dataset, model=model, progress=False)
    ids, names = np.asarray(res.identities), np.asarray(res.ids)
    nn = nearest_neighbours(res.embeddings, k=k)  # every face's, in one call
    rows = []
    for q in range(len(ids)):
        first = nn.table(ids, q).iloc[0]
        if not first.same:
            rows.append((names[q], names[int(first.row)], float(first.cosine)))
    return pd.DataFrame(rows, columns=["query", "nearest", "cosine"])
