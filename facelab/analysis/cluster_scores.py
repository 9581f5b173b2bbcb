"""How good clusters are, where the faces' identities are known: plain functions of two label arrays.

Each unclustered face (label -1) counts as a cluster of its own: a face left alone claims no one.

* **pairwise** precision / recall / F (:func:`pairwise_scores`): over pairs of faces -- of the
  pairs put in one cluster, the share of the same person; of the same-person pairs, the share put
  together (:func:`sklearn.metrics.cluster.pair_confusion_matrix`). Pairs grow with the square of
  a cluster's size, so one person with 500 photos decides them.
* **BCubed** precision / recall / F (:func:`bcubed_scores`): per face, then averaged -- the share
  of its cluster that is its person, and the share of its person that is in its cluster (from
  :func:`sklearn.metrics.cluster.contingency_matrix`). Every face weighs the same.
* **NMI** (:func:`sklearn.metrics.normalized_mutual_info_score`, arithmetic normalisation).

:func:`score_clusters` gives all of them with the counts (:class:`ClusterScores`);
:func:`cluster_identities` lists each cluster against the identities in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["ClusterScores", "pairwise_scores", "bcubed_scores", "score_clusters", "cluster_identities"]


@dataclass(frozen=True)
class ClusterScores:
    """Clusters against identities (unclustered faces count as clusters of one).

    Attributes
    ----------
    pairwise_precision, pairwise_recall, pairwise_f : float
        Over pairs of faces: of the pairs put in one cluster, the share of the same person; of the
        same-person pairs, the share put together. NaN where there is no such pair.
    bcubed_precision, bcubed_recall, bcubed_f : float
        Per face, averaged: the share of its cluster that is its person; of its person, the share
        in its cluster.
    nmi : float
        Normalised mutual information (arithmetic mean normalisation, scikit-learn's default).
    n_faces, n_identities, n_clusters, n_unclustered : int
        ``n_clusters`` counts clusters of at least the minimum size (not the unclustered faces).
    """

    pairwise_precision: float
    pairwise_recall: float
    pairwise_f: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f: float
    nmi: float
    n_faces: int
    n_identities: int
    n_clusters: int
    n_unclustered: int

    def to_dict(self) -> dict:
        from dataclasses import asdict

        from facelab.core.jsonsafe import json_safe

        return json_safe(asdict(self))

    def describe(self) -> str:
        return (f"BCubed F {self.bcubed_f:.4f} (P {self.bcubed_precision:.4f}, R {self.bcubed_recall:.4f}); "
                f"pairwise F {self.pairwise_f:.4f} (P {self.pairwise_precision:.4f}, R {self.pairwise_recall:.4f}); "
                f"NMI {self.nmi:.4f}; {self.n_clusters} clusters (+{self.n_unclustered} unclustered) for "
                f"{self.n_identities} identities")


def _singletons(labels) -> np.ndarray:
    """Labels with every -1 replaced by a label of its own."""
    labels = np.asarray(labels, dtype=np.int64).copy()
    noise = labels < 0
    base = int(labels.max()) + 1 if labels.size and not noise.all() else 0
    labels[noise] = base + np.arange(int(noise.sum()))
    return labels


def _f(p: float, r: float) -> float:
    if not (np.isfinite(p) and np.isfinite(r)):
        return float("nan")
    return 0.0 if p + r == 0 else float(2 * p * r / (p + r))


def _check(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(labels_true)
    p = np.asarray(labels_pred)
    if t.shape != p.shape or t.ndim != 1:
        raise EvaluationError(f"{t.size} identities but {p.size} cluster labels")
    if t.size == 0:
        raise EvaluationError("no faces to score")
    return t, _singletons(p)


def pairwise_scores(labels_true, labels_pred) -> tuple[float, float, float]:
    """Pairwise ``(precision, recall, F)`` (cluster label -1: a face alone)."""
    from sklearn.metrics.cluster import pair_confusion_matrix

    t, p = _check(labels_true, labels_pred)
    (_, fp), (fn, tp) = pair_confusion_matrix(t, p).astype(np.float64)
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    return float(prec), float(rec), _f(prec, rec)


def bcubed_scores(labels_true, labels_pred) -> tuple[float, float, float]:
    """BCubed ``(precision, recall, F)`` (cluster label -1: a face alone)."""
    from sklearn.metrics.cluster import contingency_matrix

    t, p = _check(labels_true, labels_pred)
    m = contingency_matrix(t, p, sparse=True).tocoo()
    n_ij = m.data.astype(np.float64)
    true_size = np.asarray(m.sum(axis=1)).ravel()[m.row]
    pred_size = np.asarray(m.sum(axis=0)).ravel()[m.col]
    # Each of the n_ij faces of identity i in cluster j has precision n_ij / |cluster| and recall n_ij / |identity|.
    prec = float((n_ij * n_ij / pred_size).sum() / t.size)
    rec = float((n_ij * n_ij / true_size).sum() / t.size)
    return prec, rec, _f(prec, rec)


def score_clusters(labels_true, labels_pred) -> ClusterScores:
    """:class:`ClusterScores` of cluster labels (-1: unclustered) against identities."""
    from sklearn.metrics import normalized_mutual_info_score

    t, p = _check(labels_true, labels_pred)
    raw = np.asarray(labels_pred)
    pp, pr, pf = pairwise_scores(t, raw)
    bp, br, bf = bcubed_scores(t, raw)
    return ClusterScores(pairwise_precision=pp, pairwise_recall=pr, pairwise_f=pf, bcubed_precision=bp,
                         bcubed_recall=br, bcubed_f=bf, nmi=float(normalized_mutual_info_score(t, p)),
                         n_faces=int(t.size), n_identities=int(np.unique(t).size),
                         n_clusters=int(np.unique(raw[raw >= 0]).size), n_unclustered=int((raw < 0).sum()))


def cluster_identities(labels_true, labels_pred) -> pd.DataFrame:
    """Each cluster against the identities: ``cluster``, ``size``, ``identity`` (the most frequent),
    ``share`` (its part of the cluster), ``identities`` (how many people the cluster holds) and
    ``split`` (in how many clusters that person's clustered faces lie); largest cluster first."""
    t, _ = _check(labels_true, labels_pred)
    raw = np.asarray(labels_pred)
    df = pd.DataFrame({"identity": t.astype(str), "cluster": raw})
    df = df[df.cluster >= 0]
    if df.empty:
        return pd.DataFrame(columns=["cluster", "size", "identity", "share", "identities", "split"])
    counts = df.groupby(["cluster", "identity"]).size().rename("n").reset_index()
    top = counts.sort_values(["cluster", "n", "identity"], ascending=[True, False, True]).drop_duplicates("cluster")
    size = df.groupby("cluster").size()
    n_ids = counts.groupby("cluster").size()
    split = df.groupby("identity").cluster.nunique()
    out = pd.DataFrame({"cluster": top.cluster.to_numpy(), "size": size.loc[top.cluster].to_numpy(),
                        "identity": top.identity.to_numpy(), "share": top.n.to_numpy() / size.loc[top.cluster].to_numpy(),
                        "identities": n_ids.loc[top.cluster].to_numpy(), "split": split.loc[top.identity].to_numpy()})
    return out.sort_values(["size", "cluster"], ascending=[False, True], ignore_index=True)


