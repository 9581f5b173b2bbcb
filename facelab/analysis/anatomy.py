"""The embedding itself (computing only; figures in :mod:`facelab.plotting.experiments`): raw norms
before L2 normalisation against face quality (detection score, alignment residual, blur), what flip
averaging does to a vector (:func:`embedding_anatomy`), and per-dimension statistics
(:func:`dimension_stats`). Raw vectors come from the embedder's public
:meth:`~facelab.embedders.base.Embedder.embed_raw`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facelab.analysis.faces import FaceSet
from facelab.core.errors import EvaluationError
from facelab.core.vectors import unit_rows

__all__ = ["EmbeddingAnatomy", "blur_score", "dimension_stats", "embedding_anatomy", "landmark_residual"]


def blur_score(image) -> float:
    """Variance of the Laplacian of the grey image (low = blurred), on a 0..1 intensity scale."""
    from skimage.color import rgb2gray
    from skimage.filters import laplace

    g = rgb2gray(np.asarray(image)) if np.asarray(image).ndim == 3 else np.asarray(image, float) / 255.0
    return float(laplace(g).var())


def landmark_residual(landmarks) -> float:
    """RMS distance (112-pixel chip units) of the five points from the ArcFace template after the
    best similarity: how much of the face a similarity cannot explain (turned head, bad points)."""
    from facelab.stages.alignment import fit_template

    return fit_template(landmarks)[2]


@dataclass
class EmbeddingAnatomy:
    """Raw vectors, their norms, face quality and flip averaging, per face.

    Attributes
    ----------
    table : pandas.DataFrame
        Per face: ``image_id``, ``identity``, ``raw_norm`` (before normalisation), ``det_score``,
        ``residual`` (:func:`landmark_residual`), ``blur`` (:func:`blur_score` of the chip),
        ``cos_flip`` (cosine of the chip's and the mirrored chip's vectors), ``cos_mean``
        (cosine of the chip's vector and the flip average).
    raw, raw_flipped : ndarray
        ``(N, D)`` un-normalised vectors of the chips and of their mirror images.
    model : str
    """

    table: pd.DataFrame
    raw: np.ndarray
    raw_flipped: np.ndarray
    model: str

    @property
    def normalised(self) -> np.ndarray:
        return unit_rows(self.raw).astype(np.float32)

    @property
    def flip_averaged(self) -> np.ndarray:
        """What ``flip=True`` embeds: the normalised mean of both normalised vectors."""
        return unit_rows(unit_rows(self.raw) + unit_rows(self.raw_flipped)).astype(np.float32)

    def correlations(self) -> pd.Series:
        """Spearman rank correlation of the raw norm with each quality measure."""
        t = self.table
        return pd.Series({q: float(t.raw_norm.corr(t[q], method="spearman")) for q in ("det_score", "residual", "blur")},
                         name="spearman vs raw norm")


def embedding_anatomy(faces: FaceSet, embedder) -> EmbeddingAnatomy:
    """Raw norms against face quality, and flip averaging, for every face of ``faces``."""
    from facelab.embedders import create_embedder
    from facelab.stages.alignment import get_preset

    emb = create_embedder(embedder) if isinstance(embedder, str) else embedder
    preset = get_preset(emb.alignment)
    chips = np.stack([preset(im, f).image for im, f in zip(faces.images, faces.faces)])
    raw = emb.embed_raw(chips)
    raw_f = emb.embed_raw(np.ascontiguousarray(chips[:, :, ::-1]))
    u, uf = unit_rows(raw), unit_rows(raw_f)
    mean = unit_rows(u + uf)
    table = pd.DataFrame({
        "image_id": faces.ids, "identity": faces.identities,
        "raw_norm": np.linalg.norm(raw, axis=1),
        "det_score": faces.table.score.to_numpy(float),
        "residual": [landmark_residual(f.landmarks) for f in faces.faces],
        "blur": [blur_score(c) for c in chips],
        "cos_flip": np.sum(u * uf, axis=1),
        "cos_mean": np.sum(u * mean, axis=1),
    })
    return EmbeddingAnatomy(table=table, raw=raw, raw_flipped=raw_f, model=emb.name)


def dimension_stats(embeddings) -> pd.DataFrame:
    """Per-dimension statistics of a set of (normalised) embeddings.

    Returns
    -------
    pandas.DataFrame
        One row per dimension: ``dim``, ``mean``, ``std``, ``min``, ``max``, and ``pca_cumvar``:
        the cumulative fraction of the total variance explained by the first ``dim + 1`` principal
        components (how many directions the faces really use).
    """
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) < 2:
        raise EvaluationError("need at least two embeddings")
    centred = e - e.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    var = sv**2
    cum = np.cumsum(var) / var.sum()
    cum = np.concatenate([cum, np.ones(e.shape[1] - cum.size)]) if cum.size < e.shape[1] else cum[: e.shape[1]]
    return pd.DataFrame({"dim": np.arange(e.shape[1]), "mean": e.mean(axis=0), "std": e.std(axis=0),
                         "min": e.min(axis=0), "max": e.max(axis=0), "pca_cumvar": cum})
