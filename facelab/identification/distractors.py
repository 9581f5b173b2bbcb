"""1:N identification as the gallery fills with distractors (the MegaFace-style curve).

Enrolled people have gallery images; *distractors* are images of people who are not enrolled,
added to the gallery as entries of nobody. A probe's best match is searched over the gallery and
the first ``n`` distractors (a seeded order, so each set contains the smaller ones), with
:mod:`facelab.identification.search` (exact by default, approximate past a size, its recall measured). For each
``n`` (0, 10, 100, ..., all given):

* ``rank1``: mated probes whose best match is an image of their own identity (no threshold);
* ``fnir``: mated probes not identified -- best match not their own, or below the threshold;
* ``fpir``: non-mated probes (people not enrolled, among the probes) whose best match -- anyone's
  gallery image or a distractor -- scores at least the threshold.

Definitions and the threshold follow :mod:`facelab.identification.evaluate` (cosine, accept when
``score >= t``; ties between a mate and a distractor count against the probe). With no
distractors the row equals :func:`facelab.identification.evaluate.open_set` on the same split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["DistractorCurve", "distractor_curve", "distractor_curve_for_split", "load_distractors", "format_curve"]


@dataclass(frozen=True)
class DistractorCurve:
    """Identification metrics against the number of distractors.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per distractor count: ``n_distractors``, ``gallery_size`` (enrolled images +
        distractors), ``rank1``, ``fnir``, ``fpir``, ``n_mated``, ``n_nonmated``, ``search`` (exact or the approximate index kind).
    threshold : float
        Cosine threshold of FNIR / FPIR.
    n_enrolled : int
        Enrolled identities.
    recall : facelab.identification.search.Recall or None
        Recall@1 of the approximate index against exact search (None when every search was exact).
    """

    table: pd.DataFrame
    threshold: float
    n_enrolled: int
    recall: Optional[object] = None


def distractor_counts(n: int, *, base: int = 10) -> list[int]:
    """``[0, 10, 100, ..., n]``: powers of ``base`` below ``n``, then ``n`` itself."""
    counts, c = [0], base
    while c < n:
        counts.append(c)
        c *= base
    if n > 0:
        counts.append(int(n))
    return counts


def distractor_curve(gallery, gallery_labels, probes, probe_labels, distractors, *, threshold: float,
                     counts: Optional[Sequence[int]] = None, seed: int = 0, index: str = "auto",
                     approx_threshold: Optional[int] = None, **index_options) -> DistractorCurve:
    """Rank-1, FNIR and FPIR as distractors are added to the gallery.

    Parameters
    ----------
    gallery : (G, D) array
        Enrolment images.
    gallery_labels : sequence of G identities
    probes : (P, D) array
        Searched images; those whose identity is not among ``gallery_labels`` are non-mated.
    probe_labels : sequence of P identities
    distractors : (M, D) array
        Images of people who are not enrolled.
    threshold : float
        Cosine threshold for the open-set rates.
    counts : sequence of int, optional
        Distractor counts (default :func:`distractor_counts`: 0, 10, 100, ..., M).
    seed : int
        Order in which distractors are taken.
    index, approx_threshold, **index_options
        Passed to :func:`facelab.identification.search.build_index` for the distractor set.

    Returns
    -------
    DistractorCurve
    """
    from facelab.identification.search import APPROX_THRESHOLD, build_index, exact_search

    g_lab = np.asarray(gallery_labels)
    p_lab = np.asarray(probe_labels)
    D = np.asarray(distractors, dtype=np.float32)
    if len(g_lab) != len(gallery) or len(p_lab) != len(probes):
        raise EvaluationError("labels and vectors disagree in number")
    if len(gallery) == 0 or len(probes) == 0:
        raise EvaluationError("need gallery and probe images")
    if D.ndim != 2 or (len(D) and D.shape[1] != np.asarray(gallery).shape[1]):
        raise EvaluationError(f"distractors must be (M, {np.asarray(gallery).shape[1]}), got shape {D.shape}")
    counts = distractor_counts(len(D)) if counts is None else sorted({int(c) for c in counts})
    if counts and (counts[0] < 0 or counts[-1] > len(D)):
        raise EvaluationError(f"distractor counts must be within 0..{len(D)}")
    approx_threshold = APPROX_THRESHOLD if approx_threshold is None else approx_threshold

    g_score, g_row = exact_search(gallery, probes, k=1)
    g_score, predicted = g_score[:, 0], g_lab[g_row[:, 0]]
    mated = np.isin(p_lab, g_lab)
    n_mated, n_non = int(mated.sum()), int((~mated).sum())
    order = np.random.default_rng(seed).permutation(len(D))
    rows, recall, idx = [], None, None
    for c in counts:
        if c == 0:
            d_score, kind = np.full(len(probes), -np.inf, np.float32), "exact"
        else:
            idx = build_index(D[order[:c]], kind=index, approx_threshold=approx_threshold, **index_options)
            d_score, kind = idx.search(probes, k=1)[0][:, 0], idx.kind
        gallery_wins = g_score > d_score  # a tie with a distractor counts against the probe
        best = np.maximum(g_score, d_score)
        right = gallery_wins & (predicted == p_lab) & mated
        rows.append({
            "n_distractors": int(c),
            "gallery_size": int(len(gallery) + c),
            "rank1": float(right.sum() / n_mated) if n_mated else math.nan,
            "fnir": float(1.0 - (right & (best >= threshold)).sum() / n_mated) if n_mated else math.nan,
            "fpir": float((best[~mated] >= threshold).sum() / n_non) if n_non else math.nan,
            "n_mated": n_mated,
            "n_nonmated": n_non,
            "search": kind,
        })
    if idx is not None and idx.kind != "exact":
        recall = idx.measure_recall(probes, k=1)
    return DistractorCurve(table=pd.DataFrame(rows), threshold=float(threshold), n_enrolled=int(np.unique(g_lab).size),
                           recall=recall)


def distractor_curve_for_split(embeddings, identities, split, distractors, *, threshold: float, **kwargs) -> DistractorCurve:
    """:func:`distractor_curve` on a :class:`facelab.identification.evaluate.Split` of a labelled set."""
    e = np.asarray(embeddings)
    ids = np.asarray(identities)
    return distractor_curve(e[split.gallery], ids[split.gallery], e[split.probes], ids[split.probes], distractors,
                            threshold=threshold, **kwargs)


def load_distractors(path, *, settings_key: Optional[str] = None) -> tuple[list[str], np.ndarray]:
    """Distractor embeddings from a JSON / ``.npz`` embeddings file or a Parquet store folder.

    ``settings_key`` (a store only): the rows embedded with these settings
    (:func:`facelab.engine.settings.settings_key`), for a store that holds several.
    """
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        from facelab.engine.store import EmbeddingStore

        ids, vecs, _ = EmbeddingStore(p).embeddings(settings_key=settings_key)
        if len(ids) == 0:
            raise EvaluationError(f"{p}: the store holds no embeddings"
                                  + (f" with settings {settings_key}" if settings_key else ""))
        return ids, vecs
    from facelab.embedders.files import read_embeddings

    return read_embeddings(p)


def format_curve(curve: DistractorCurve) -> str:
    """The curve as a text table (and the approximate index's recall, when one was used)."""
    t = curve.table
    lines = [f"distractors (MegaFace-style), threshold cosine {curve.threshold:.4f}, {curve.n_enrolled} enrolled identities:",
             f"  {'distractors':>11} {'gallery':>9} {'rank-1':>7} {'FNIR':>7} {'FPIR':>7}  search"]

    def f(v):
        return "    n/a" if not math.isfinite(v) else f"{v:7.4f}"

    for r in t.itertuples(index=False):
        lines.append(f"  {r.n_distractors:>11,} {r.gallery_size:>9,} {f(r.rank1)} {f(r.fnir)} {f(r.fpir)}  {r.search}")
    if curve.recall is not None:
        lines.append(f"  approximate index: {curve.recall.describe()}")
    return "\n".join(lines)


def distractor_report(embeddings, identities, path, *, threshold: float, k: int = 1, seed: int = 0,
                      distractor_fraction: float = 0.0, **kwargs) -> tuple[DistractorCurve, str]:
    """The curve for ``facelab identify --distractors PATH``: the command's first seeded split.

    Returns the curve and its text table (:func:`format_curve`).
    """
    from facelab.identification.evaluate import gallery_probe_split

    ids, vecs = load_distractors(path)
    split = gallery_probe_split(identities, k=k, seed=seed, distractor_fraction=distractor_fraction)
    curve = distractor_curve_for_split(embeddings, identities, split, vecs, threshold=threshold, seed=seed, **kwargs)
    return curve, f"{format_curve(curve)}\n  ({len(ids)} distractor images from {path})"
