"""Small vector helpers shared by the metrics modules (verification, identification)."""

from __future__ import annotations

import numpy as np

from facelab.errors import EvaluationError

__all__ = ["unit_rows"]


def unit_rows(embeddings) -> np.ndarray:
    """The rows of ``embeddings`` scaled to unit L2 norm, as float64.

    Cosine similarity of unit rows is their dot product, so every score in facelab starts here.

    Raises
    ------
    EvaluationError
        When ``embeddings`` is not 2-D, or a row is all zeros (it has no direction).
    """
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2:
        raise EvaluationError(f"embeddings must be a 2-D array (N, D), got shape {e.shape}")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EvaluationError(f"{int((norms == 0).sum())} embeddings are all zeros")
    return e / norms
