"""facelab's three threshold scales, and the calibration that maps distance to score.

A pair of L2-normalised embeddings has

* a **cosine** similarity ``cos`` (higher = same person; what the metrics modules score with),
* a **squared distance** ``d = 2 - 2 * cos`` (0 for identical faces, 4 for opposite ones; what the
  reference demo reports), and
* a calibrated **score** ``sigmoid((mean - d) / std)`` in (0, 1) (higher = same person), a pair
  being called the same person when ``score >= threshold``. ``mean`` is the distance where the
  score is 0.5; ``std`` sets how fast the score falls off around it. Each model has its own
  calibration.

Every conversion between the three lives here: :func:`cosine_to_distance`,
:func:`distance_to_cosine` (no calibration needed) and the :class:`Calibration` methods
(:meth:`~Calibration.score`, :meth:`~Calibration.score_for_cosine`,
:meth:`~Calibration.distance_for_score`, :meth:`~Calibration.cosine_for_score`,
:meth:`~Calibration.to_cosine`, :meth:`~Calibration.scales`, :attr:`~Calibration.cosine_threshold`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from facelab.core.errors import EvaluationError

__all__ = [
    "Calibration",
    "REFERENCE_CALIBRATION",
    "SCALES",
    "squared_distance",
    "cosine_to_distance",
    "distance_to_cosine",
    "threshold_scales",
    "check_threshold",
    "fit_calibration",
]

#: The names of the three threshold scales, as used in JSON output and ``--threshold-scale``.
SCALES = ("cosine", "distance", "score")


@dataclass(frozen=True)
class Calibration:
    """``score = sigmoid((mean - distance) / std)``, same person when ``score >= threshold``.

    Attributes
    ----------
    mean, std : float
        Location and scale of the logistic on squared distance.
    threshold : float
        Score threshold for "same person".
    source : str
        Where the numbers come from (e.g. "reference IR_18 demo", "fitted on pairsDevTrain.txt").
    """

    mean: float
    std: float
    threshold: float = 0.60
    source: str = ""

    def __post_init__(self):
        if not (self.std > 0):
            raise ValueError(f"calibration std must be > 0, got {self.std}")
        if not (0.0 < self.threshold < 1.0):
            raise ValueError(f"calibration threshold must be in (0, 1), got {self.threshold}")

    def score(self, distance):
        """Calibrated same-person score(s) in (0, 1) for squared distance(s)."""
        d = np.asarray(distance, dtype=np.float64)
        z = (self.mean - d) / self.std
        # Numerically stable logistic.
        out = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
        return float(out) if out.ndim == 0 else out

    def same_person(self, distance):
        """Boolean decision(s) ``score >= threshold``."""
        s = self.score(distance)
        return (s >= self.threshold) if np.ndim(s) else bool(s >= self.threshold)

    def score_for_cosine(self, cosine):
        """Calibrated score(s) of cosine similarity(ies): ``score(2 - 2 cos)``."""
        return self.score(cosine_to_distance(cosine))

    def distance_for_score(self, score: float) -> float:
        """The squared distance at which the calibrated score equals ``score`` (inverse of :meth:`score`).

        Raises
        ------
        EvaluationError
            Unless ``0 < score < 1`` (the logistic reaches neither end).
        """
        s = check_threshold(score, "score")
        return self.mean - self.std * math.log(s / (1.0 - s))

    def cosine_for_score(self, score: float) -> float:
        """The cosine similarity at which the calibrated score equals ``score``."""
        return float(distance_to_cosine(self.distance_for_score(score)))

    def to_cosine(self, value: float, scale: str = "cosine") -> float:
        """A threshold given on any of the three scales (:data:`SCALES`), as a cosine similarity.

        Raises
        ------
        EvaluationError
            When ``value`` lies off its scale (cosine in [-1, 1], squared distance in [0, 4],
            score in (0, 1)): such a threshold would accept or reject every pair.
        """
        v = check_threshold(value, scale)
        if scale == "cosine":
            return v
        if scale == "distance":
            return float(distance_to_cosine(v))
        return self.cosine_for_score(v)

    def scales(self, cosine) -> dict:
        """A cosine threshold on the three scales (see :func:`threshold_scales`)."""
        return threshold_scales(cosine, self)

    @property
    def distance_threshold(self) -> float:
        """The squared distance at which the score equals ``threshold``."""
        return self.distance_for_score(self.threshold)

    @property
    def cosine_threshold(self) -> float:
        """The model's decision threshold as a cosine similarity (same person when ``cos >=`` it)."""
        return self.cosine_for_score(self.threshold)

    def describe(self) -> str:
        """One line for CLI output: ``calibration: mean=... std=... threshold=...``."""
        src = f" ({self.source})" if self.source else ""
        return f"calibration: mean={self.mean:.4f} std={self.std:.4f} threshold={self.threshold:.2f}{src}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        return cls(float(d["mean"]), float(d["std"]), float(d.get("threshold", 0.60)), str(d.get("source", "")))

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path) -> Calibration:
        return cls.from_dict(json.loads(Path(path).read_text()))


#: The reference IR_18 demo's calibration.
REFERENCE_CALIBRATION = Calibration(mean=1.40, std=0.20, threshold=0.60, source="reference IR_18 demo")


#: Where a threshold lies on each scale: ``(low, high, whether the ends are included)``.
_SCALE_RANGES = {"cosine": (-1.0, 1.0, True), "distance": (0.0, 4.0, True), "score": (0.0, 1.0, False)}
_SCALE_NAMES = {"cosine": "cosine", "distance": "squared-distance", "score": "calibrated-score"}


def check_threshold(value, scale: str = "cosine") -> float:
    """``value`` as a float when it lies on ``scale`` (:data:`SCALES`): cosine in [-1, 1], squared
    distance in [0, 4], calibrated score in (0, 1). No calibration is needed, so a command checks
    a user's threshold before it embeds anything.

    Raises
    ------
    EvaluationError
        Off the scale, NaN included (such a threshold would accept or reject every pair).
    ValueError
        An unknown scale.
    """
    if scale not in _SCALE_RANGES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    low, high, closed = _SCALE_RANGES[scale]
    v = float(value)
    if not (low <= v <= high if closed else low < v < high):
        ends = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
        raise EvaluationError(f"a {_SCALE_NAMES[scale]} threshold must be in {ends}, got {value}")
    return v


def squared_distance(a, b):
    """Squared L2 distance between L2-normalised embeddings (row-wise for 2-D inputs)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.sum((a - b) ** 2, axis=-1)


def cosine_to_distance(cosine):
    """Squared L2 distance of unit vectors from their cosine similarity: ``2 - 2 cos``."""
    return 2.0 - 2.0 * np.asarray(cosine, dtype=np.float64)


def distance_to_cosine(distance):
    """Cosine similarity of unit vectors from their squared L2 distance: ``1 - d / 2``."""
    return 1.0 - np.asarray(distance, dtype=np.float64) / 2.0


def threshold_scales(cosine, calibration: Calibration | None = None) -> dict:
    """A cosine threshold on facelab's three scales.

    Returns
    -------
    dict
        ``{"cosine": cos, "distance": 2 - 2 cos, "score": calibration.score(distance)}`` as floats;
        ``score`` is None without a calibration, and every value is None when ``cosine`` is None or
        not finite (a threshold that could not be estimated).
    """
    if cosine is None or not math.isfinite(cosine):
        return {"cosine": None, "distance": None, "score": None}
    d = float(cosine_to_distance(cosine))
    return {"cosine": float(cosine), "distance": d,
            "score": float(calibration.score(d)) if calibration is not None else None}


def fit_calibration(distances, same, *, threshold: float = 0.60, source: str = "fitted") -> Calibration:
    """Fit ``mean`` and ``std`` by logistic regression of the labels on squared distance.

    Parameters
    ----------
    distances : array-like of float
        Squared distances of pairs.
    same : array-like of bool
        True for genuine (same-person) pairs.
    threshold : float
        Score threshold to store with the calibration.
    source : str
        Provenance string stored with the result.

    Returns
    -------
    Calibration
        With ``mean = -b / w`` and ``std = -1 / w`` for the fitted ``logit = w * d + b``.
    """
    from sklearn.linear_model import LogisticRegression

    d = np.asarray(distances, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(same, dtype=bool)
    if d.shape[0] != y.shape[0]:
        raise ValueError(f"{d.shape[0]} distances but {y.shape[0]} labels")
    if y.all() or (~y).all():
        raise ValueError("calibration needs both genuine and impostor pairs")
    # Large C: we want the maximum-likelihood logistic, not a shrunk one.
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(d, y)
    w = float(lr.coef_[0, 0])
    b = float(lr.intercept_[0])
    if w >= 0:
        raise ValueError("genuine pairs are not closer than impostors: cannot fit a calibration")
    return Calibration(mean=-b / w, std=-1.0 / w, threshold=threshold, source=source)
