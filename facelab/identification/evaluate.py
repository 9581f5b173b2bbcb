"""Face identification (1:N): gallery/probe splits, rank-1 and CMC, open-set metrics.

A *gallery* holds ``k`` enrolment images of each enrolled identity; every other image is a
*probe* searched against it. A probe's similarity to an enrolled identity is the highest cosine
similarity between the probe and that identity's gallery images (max over the ``k``).

Definitions used throughout (threshold ``t`` on the cosine scale; a probe is *accepted* as the
identity of its best gallery match when that match scores ``>= t``, otherwise it is *rejected* as
"unknown"):

* **mated probe**: an image of an enrolled identity (not itself in the gallery);
  **distractor probe**: an image of an identity that is not enrolled.
* **correct identification**: a mated probe accepted as its own identity.
* ``precision = correct identifications / probes accepted as someone`` (mated or distractor).
* ``recall = correct identifications / mated probes``.
* ``accuracy = (correct identifications + rejected distractors) / all probes``.
  With no distractors, accuracy equals recall.
* ``FNIR = 1 - recall``: mated probes not identified (rejected, or accepted as someone else),
  the rank-1 false-negative identification rate of ISO/IEC 19795-1 / NIST FRVT.
* ``FPIR = accepted distractors / distractor probes`` (NaN without distractors).
* ``rank-1`` and the CMC are closed-set (no threshold, mated probes only): ``CMC[r-1]`` is the
  fraction of mated probes whose own identity is among the ``r`` best-scoring enrolled identities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError
from facelab.core.jsonsafe import json_safe
from facelab.core.vectors import unit_rows

__all__ = [
    "Split",
    "gallery_probe_split",
    "ClosedSetResult",
    "closed_set",
    "OpenSetResult",
    "open_set",
    "IdentificationResult",
    "evaluate_identification",
    "identification_table",
    "format_reference",
]


@dataclass(frozen=True)
class Split:
    """A gallery/probe split of a labelled set (indices into its rows).

    Attributes
    ----------
    gallery : ndarray of int
        Enrolment rows (``k`` per enrolled identity).
    probes : ndarray of int
        Rows searched against the gallery.
    mated : ndarray of bool
        Per probe: its identity is enrolled.
    enrolled : ndarray
        Enrolled identity labels, sorted.
    distractor_identities : ndarray
        Identities whose images are all distractor probes.
    excluded : ndarray of int
        Rows used nowhere (``few="exclude"``).
    k : int
    seed : int
    """

    gallery: np.ndarray
    probes: np.ndarray
    mated: np.ndarray
    enrolled: np.ndarray
    distractor_identities: np.ndarray
    excluded: np.ndarray
    k: int
    seed: int

    @property
    def n_enrolled(self) -> int:
        return int(self.enrolled.size)


def gallery_probe_split(identities, *, k: int = 1, seed: int = 0, few: str = "distractors",
                        distractor_fraction: float = 0.0) -> Split:
    """Enrol ``k`` images of each identity, probe with the rest.

    The ``k`` enrolment images are a seeded random sample of the identity's images (same seed,
    same split). An identity needs more than ``k`` images to be enrolled (at least one is left to
    probe with). Identities with ``<= k`` images are handled by ``few``:

    * ``"distractors"`` (default): not enrolled; all their images become distractor probes (an
      open-set search must reject them);
    * ``"exclude"``: left out altogether (listed in ``Split.excluded``).

    ``distractor_fraction`` additionally holds out that fraction of the otherwise enrollable
    identities (a seeded choice, rounded down, never all of them) as distractors, so FPIR can be
    measured on sets where every identity has many images.

    Raises
    ------
    EvaluationError
        When no identity can be enrolled.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if few not in ("distractors", "exclude"):
        raise ValueError(f"few must be 'distractors' or 'exclude', got {few!r}")
    if not (0.0 <= distractor_fraction < 1.0):
        raise ValueError(f"distractor_fraction must be in [0, 1), got {distractor_fraction}")
    ids = np.asarray(identities)
    if ids.ndim != 1 or ids.size == 0:
        raise EvaluationError("identification needs a non-empty 1-D list of identities")
    rng = np.random.default_rng(seed)
    uniq, codes = np.unique(ids, return_inverse=True)
    members = [np.flatnonzero(codes == c) for c in range(uniq.size)]
    big = [c for c in range(uniq.size) if members[c].size > k]
    if not big:
        raise EvaluationError(
            f"no identity has more than k={k} images: nothing to enrol (largest has "
            f"{max(m.size for m in members)})"
        )
    held = set()
    n_hold = min(int(math.floor(distractor_fraction * len(big))), len(big) - 1)
    if n_hold > 0:
        held = set(rng.choice(big, size=n_hold, replace=False).tolist())
    gallery, probes, mated, excluded, distractors = [], [], [], [], []
    for c in range(uniq.size):
        m = members[c]
        if c in big and c not in held:
            g = np.sort(rng.choice(m, size=k, replace=False))
            gallery.extend(g.tolist())
            rest = np.setdiff1d(m, g)
            probes.extend(rest.tolist())
            mated.extend([True] * rest.size)
        elif c in held or few == "distractors":
            distractors.append(uniq[c])
            probes.extend(m.tolist())
            mated.extend([False] * m.size)
        else:
            excluded.extend(m.tolist())
    enrolled = np.array([uniq[c] for c in big if c not in held])
    return Split(
        gallery=np.asarray(gallery, dtype=np.int64),
        probes=np.asarray(probes, dtype=np.int64),
        mated=np.asarray(mated, dtype=bool),
        enrolled=enrolled,
        distractor_identities=np.asarray(distractors, dtype=ids.dtype),
        excluded=np.asarray(excluded, dtype=np.int64),
        k=k,
        seed=seed,
    )


def identity_scores(embeddings, identities, split: Split) -> np.ndarray:
    """``(n_probes, n_enrolled)`` similarity of each probe to each enrolled identity (columns in
    ``split.enrolled`` order): the max cosine over that identity's gallery images."""
    e = unit_rows(embeddings)
    ids = np.asarray(identities)
    if ids.size != e.shape[0]:
        raise EvaluationError(f"{e.shape[0]} embeddings but {ids.size} identity labels")
    sims = e[split.probes] @ e[split.gallery].T
    col = np.searchsorted(split.enrolled, ids[split.gallery])
    out = np.full((split.probes.size, split.enrolled.size), -np.inf)
    for c in range(split.enrolled.size):
        out[:, c] = sims[:, col == c].max(axis=1)
    return out


@dataclass(frozen=True)
class ClosedSetResult:
    """Closed-set search of the mated probes.

    Attributes
    ----------
    rank1 : float
        ``cmc[0]``.
    cmc : ndarray
        ``cmc[r-1]``: fraction of mated probes with their identity in the top ``r``.
    ranks : ndarray of int
        1-based rank of the true identity for each mated probe (ties counted pessimistically:
        an impostor identity scoring equal to the mate ranks ahead of it).
    n_probes : int
    n_enrolled : int
    """

    rank1: float
    cmc: np.ndarray
    ranks: np.ndarray
    n_probes: int
    n_enrolled: int


def closed_set(embeddings, identities, split: Split) -> ClosedSetResult:
    """Rank-1 and the CMC curve (see module docstring)."""
    ids = np.asarray(identities)
    S = identity_scores(embeddings, ids, split)[split.mated]
    truth = np.searchsorted(split.enrolled, ids[split.probes[split.mated]])
    if S.shape[0] == 0:
        raise EvaluationError("no mated probe: every enrolled identity's images are all in the gallery")
    mate = S[np.arange(S.shape[0]), truth]
    # The mate itself plus every other identity scoring >= it (ties count against the probe).
    ranks = (S >= mate[:, None]).sum(axis=1)
    cmc = np.array([(ranks <= r).mean() for r in range(1, split.n_enrolled + 1)])
    return ClosedSetResult(float(cmc[0]), cmc, ranks.astype(np.int64), int(S.shape[0]), split.n_enrolled)


@dataclass(frozen=True)
class OpenSetResult:
    """Open-set search at one threshold (definitions in the module docstring)."""

    threshold: float
    precision: float
    recall: float
    accuracy: float
    fpir: float
    fnir: float
    rank1: float
    n_probes: int
    n_mated: int
    n_distractors: int
    n_accepted: int
    n_correct: int
    n_wrong_identity: int
    n_rejected_mated: int
    n_accepted_distractors: int
    n_enrolled: int

    def to_dict(self) -> dict:
        return json_safe(asdict(self))


def _div(a, b) -> float:
    return float(a) / float(b) if b else math.nan


def open_set(embeddings, identities, split: Split, threshold: float) -> OpenSetResult:
    """Open-set identification at a cosine ``threshold`` (module docstring for definitions)."""
    ids = np.asarray(identities)
    S = identity_scores(embeddings, ids, split)
    best = S.argmax(axis=1)
    best_score = S[np.arange(S.shape[0]), best]
    accepted = best_score >= threshold
    predicted = split.enrolled[best]
    true = ids[split.probes]
    mated = split.mated
    correct = accepted & mated & (predicted == true)
    n_mated = int(mated.sum())
    n_dis = int((~mated).sum())
    n_correct = int(correct.sum())
    acc_dis = int((accepted & ~mated).sum())
    rank1 = float(((predicted == true) & mated).sum()) / n_mated if n_mated else math.nan
    return OpenSetResult(
        threshold=float(threshold),
        precision=_div(n_correct, int(accepted.sum())),
        recall=_div(n_correct, n_mated),
        accuracy=_div(n_correct + (n_dis - acc_dis), S.shape[0]),
        fpir=_div(acc_dis, n_dis),
        fnir=1.0 - _div(n_correct, n_mated) if n_mated else math.nan,
        rank1=rank1,
        n_probes=int(S.shape[0]),
        n_mated=n_mated,
        n_distractors=n_dis,
        n_accepted=int(accepted.sum()),
        n_correct=n_correct,
        n_wrong_identity=int((accepted & mated & (predicted != true)).sum()),
        n_rejected_mated=int((~accepted & mated).sum()),
        n_accepted_distractors=acc_dis,
        n_enrolled=split.n_enrolled,
    )


_METRICS = ("precision", "recall", "accuracy", "fpir", "fnir", "rank1")


@dataclass(frozen=True)
class IdentificationResult:
    """Open-set metrics averaged over repeated seeded splits.

    Attributes
    ----------
    mean, std : dict
        Per metric (precision, recall, accuracy, fpir, fnir, rank1), over the repeats
        (``nanmean`` / ``nanstd``; FPIR is NaN without distractors).
    runs : list of OpenSetResult
    cmc : ndarray
        Mean closed-set CMC.
    n_enrolled : int
    mated_ranks : list of (rows, ranks)
        Per repeat, the mated probes' rows and the rank of their true identity (closed set):
        what :meth:`rank1_by_identity` counts.
    """

    threshold: float
    k: int
    mean: dict
    std: dict
    runs: list
    cmc: np.ndarray
    n_enrolled: int
    mated_ranks: list = field(default_factory=list, repr=False)

    def rank1_by_identity(self, identities) -> pd.DataFrame:
        """Closed-set rank-1 of each identity's mated probes, over every repeat.

        Returns
        -------
        pandas.DataFrame
            Indexed by identity (those with at least one mated probe): ``searches`` (probe
            searches over the repeats) and ``rank1`` (the fraction whose best match was their own
            identity).
        """
        ids = np.asarray(identities)
        rows = [r for r, _ in self.mated_ranks]
        ranks = [k for _, k in self.mated_ranks]
        if not rows:
            return pd.DataFrame({"searches": [], "rank1": []}, index=pd.Index([], name="identity"))
        df = pd.DataFrame({"identity": ids[np.concatenate(rows)], "hit": np.concatenate(ranks) == 1})
        out = df.groupby("identity", sort=False).hit.agg(["size", "mean"])
        return out.rename(columns={"size": "searches", "mean": "rank1"})

    @property
    def repeats(self) -> int:
        return len(self.runs)

    def to_dict(self) -> dict:
        return json_safe({"threshold": self.threshold, "gallery_size": self.k, "repeats": self.repeats,
                          "enrolled": self.n_enrolled, "mean": self.mean, "std": self.std, "cmc": self.cmc,
                          "probes": self.runs[0].n_probes if self.runs else 0,
                          "distractor_probes": self.runs[0].n_distractors if self.runs else 0})

    def table_row(self) -> dict:
        """This result as a row of :func:`identification_table`."""
        return {**{m: self.mean[m] for m in ("precision", "recall", "accuracy", "rank1", "fpir", "fnir")},
                "enrolled": self.n_enrolled, "probes": self.runs[0].n_probes,
                "distractor_probes": self.runs[0].n_distractors, "threshold": self.threshold,
                "gallery_size": self.k, "repeats": self.repeats}


def evaluate_identification(embeddings, identities, *, threshold: float, k: int = 1, repeats: int = 5, seed: int = 0,
                            few: str = "distractors", distractor_fraction: float = 0.0) -> IdentificationResult:
    """Open-set metrics over ``repeats`` gallery/probe splits (seeds ``seed .. seed+repeats-1``),
    averaged."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    runs, cmcs, mated_ranks = [], [], []
    n_enrolled = 0
    for r in range(repeats):
        split = gallery_probe_split(identities, k=k, seed=seed + r, few=few, distractor_fraction=distractor_fraction)
        runs.append(open_set(embeddings, identities, split, threshold))
        if split.mated.any():
            closed = closed_set(embeddings, identities, split)
            cmcs.append(closed.cmc)
            mated_ranks.append((split.probes[split.mated], closed.ranks))
        n_enrolled = split.n_enrolled
    mean, std = {}, {}
    for m in _METRICS:
        v = np.array([getattr(run, m) for run in runs], dtype=np.float64)
        ok = np.isfinite(v)
        mean[m] = float(v[ok].mean()) if ok.any() else math.nan
        std[m] = float(v[ok].std()) if ok.any() else math.nan
    cmc = np.mean(cmcs, axis=0) if cmcs else np.zeros(0)
    return IdentificationResult(float(threshold), k, mean, std, runs, cmc, n_enrolled, mated_ranks)


def identification_table(sets: Mapping[str, object], *, threshold: Optional[float] = None, k: int = 1,
                         repeats: int = 5, seed: int = 0, few: str = "distractors",
                         distractor_fraction: float = 0.0) -> pd.DataFrame:
    """The reference's 1:N table, one row per named set.

    Parameters
    ----------
    sets : mapping
        Set name -> an :class:`IdentificationResult` already computed with
        :func:`evaluate_identification` (used as it is: nothing is recomputed), or an
        ``(embeddings, identities)`` tuple to evaluate here with the options below. The name is
        used as given; build it with the number of enrolled identities (e.g.
        ``f"two_id(1:{result.n_enrolled})"``).
    threshold, k, repeats, seed, few, distractor_fraction :
        See :func:`evaluate_identification`; only used for ``(embeddings, identities)`` sets
        (``threshold`` is then required).

    Returns
    -------
    pandas.DataFrame
        Index: set name. Columns ``precision``, ``recall``, ``accuracy`` (means over repeats),
        then ``rank1``, ``fpir``, ``fnir``, ``enrolled``, ``probes``, ``distractor_probes``,
        ``threshold``, ``gallery_size``, ``repeats`` (those of each set's evaluation).
    """
    rows, names = [], []
    for name, item in sets.items():
        if isinstance(item, IdentificationResult):
            r = item
        else:
            if threshold is None:
                raise ValueError(f"set {name!r} is (embeddings, identities): pass threshold= to evaluate it")
            emb, ids = item
            r = evaluate_identification(emb, ids, threshold=threshold, k=k, repeats=repeats, seed=seed, few=few,
                                        distractor_fraction=distractor_fraction)
        rows.append(r.table_row())
        names.append(name)
    return pd.DataFrame(rows, index=pd.Index(names, name="set"))


def format_reference(table: pd.DataFrame, *, labels: bool = True, digits: int = 4) -> str:
    """The table in the reference's text form, one line per set::

        X4_Face(1:20)  precision 0.9983  recall 0.9978  accuracy 0.9981

    With ``labels=False``: ``X4_Face(1:20) 0.9983 0.9978 0.9981``. NaN prints as ``nan``.
    """
    lines = []
    for name, row in table.iterrows():
        vals = [(m, row[m]) for m in ("precision", "recall", "accuracy")]
        if labels:
            lines.append(f"{name}  " + "  ".join(f"{m} {v:.{digits}f}" for m, v in vals))
        else:
            lines.append(f"{name} " + " ".join(f"{v:.{digits}f}" for _, v in vals))
    return "\n".join(lines)
