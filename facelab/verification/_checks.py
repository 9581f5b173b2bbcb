"""Input checks shared by the verification modules (private)."""

from __future__ import annotations

import numpy as np

from facelab.core.errors import EvaluationError


def check_scores(scores, same, *, need_both: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(scores as float64, same as bool)``, both 1-D; raises :class:`EvaluationError` on bad input.

    ``need_both`` asks for at least one genuine and one impostor pair.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same).ravel()
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise EvaluationError("`same` must be boolean (True for same-person pairs)")
        y = y.astype(bool)
    if s.shape != y.shape:
        raise EvaluationError(f"{s.size} scores but {y.size} same/different labels")
    if not np.isfinite(s).all():
        raise EvaluationError(f"{int((~np.isfinite(s)).sum())} scores are NaN or infinite")
    if need_both:
        n_gen, n_imp = int(y.sum()), int((~y).sum())
        if n_gen == 0 and n_imp == 0:
            raise EvaluationError("no pairs to evaluate")
        if n_gen == 0:
            raise EvaluationError(f"no genuine (same-person) pairs among {n_imp} pairs: cannot evaluate")
        if n_imp == 0:
            raise EvaluationError(f"no impostor (different-person) pairs among {n_gen} pairs: cannot evaluate")
    return s, y


def identity_codes(identities) -> tuple[np.ndarray, np.ndarray]:
    """``(sorted distinct labels, code of each row)`` of a 1-D label sequence."""
    ids = np.asarray(identities)
    if ids.ndim != 1:
        raise EvaluationError("identities must be a 1-D sequence of labels")
    uniq, codes = np.unique(ids, return_inverse=True)
    return uniq, codes.ravel()


def div(a, b) -> float:
    """``a / b`` as a float, NaN when ``b`` is 0."""
    return float(a) / float(b) if b else float("nan")
