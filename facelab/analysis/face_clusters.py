"""An embedding run's faces, clustered and scored: what ``facelab cluster`` and notebook 10 use.

:func:`cluster_result` clusters the faces of an :class:`~facelab.engine.result.EmbeddingResult`
(:func:`facelab.analysis.clustering.cluster_faces`) and, where labels exist, scores them
(:mod:`facelab.analysis.cluster_scores`): a :class:`FaceClusters`, whose :meth:`~FaceClusters.table`
is ``clusters.csv`` and :meth:`~FaceClusters.metrics` ``metrics.json``. :func:`gallery_rows` picks the
faces a gallery shows; :func:`threshold_sweep` scores the threshold algorithms over a range of
thresholds (pairwise against BCubed F, notebook 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from facelab.analysis.cluster_scores import ClusterScores, cluster_identities, score_clusters
from facelab.analysis.clustering import DEFAULT_K, Clustering, cluster_faces, knn_graph
from facelab.core.calibration import Calibration
from facelab.core.errors import EvaluationError

__all__ = ["FaceClusters", "cluster_result", "CLUSTER_COLUMNS", "gallery_rows", "threshold_sweep"]



#: Columns of ``clusters.csv`` (:meth:`FaceClusters.table`); ``identity`` only where labels exist.
CLUSTER_COLUMNS = ["face_id", "image", "face", "path", "x0", "y0", "x1", "y1", "cluster", "confidence"]


@dataclass
class FaceClusters:
    """The faces of an embedding run, clustered (what ``facelab cluster`` writes).

    Attributes
    ----------
    faces : pandas.DataFrame
        One row per embedded face, in embedding order: ``face_id`` (the embeddings file's key),
        ``image_id``, ``face`` (every-face mode's number, else empty), ``path``, ``box``,
        ``identity`` (the label it is scored against; ``""`` for none), ``cluster`` (-1:
        unclustered), ``confidence``, ``detection_score``, ``residual``.
    clustering : Clustering
    scores : ClusterScores or None
        Against the labels, where some faces have one (only those are scored).
    identities : pandas.DataFrame or None
        :func:`cluster_identities` of the labelled faces.
    embeddings : (N, D) array
    calibration : Calibration
    model : str
    settings : dict
        The embedding run's (:attr:`facelab.engine.result.EmbeddingResult.settings`).
    skipped : pandas.DataFrame
        Photos and files without a face: ``image``, ``reason``.
    n_photos : int
        Photos read (with or without a face).
    labelled : bool
        Whether labels came with the faces (a folder per identity, or given).
    notes : list of str
        What a reader of the scores must know (e.g. a single identity).
    names : dict
        Display names of identities (e.g. a two-ID set's ``ids.json``: folder -> person).
    """

    faces: pd.DataFrame
    clustering: Clustering
    scores: Optional[ClusterScores]
    identities: Optional[pd.DataFrame]
    embeddings: np.ndarray
    calibration: Calibration
    model: str
    settings: dict
    skipped: pd.DataFrame
    n_photos: int
    labelled: bool
    notes: list = field(default_factory=list)
    names: dict = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """``clusters.csv``: :data:`CLUSTER_COLUMNS` (``image`` is the image id; the box in image
        pixels), plus ``identity`` where labels exist; in embedding order."""
        f = self.faces
        box = np.array([b if b is not None else [np.nan] * 4 for b in f.box], dtype=float).reshape(-1, 4)
        out = pd.DataFrame({"face_id": f.face_id, "image": f.image_id, "face": f.face, "path": f.path,
                            "x0": box[:, 0], "y0": box[:, 1], "x1": box[:, 2], "y1": box[:, 3],
                            "cluster": f.cluster, "confidence": f.confidence}, columns=CLUSTER_COLUMNS)
        if self.labelled:
            out["identity"] = f.identity.to_numpy()
        return out

    def metrics(self) -> dict:
        """``metrics.json``: the clustering, its scores (None without labels), counts, notes."""
        from facelab.core.jsonsafe import json_safe

        return json_safe({
            "model": self.model, "n_photos": self.n_photos, "n_faces": len(self.faces),
            "n_skipped": len(self.skipped), "labelled": self.labelled,
            "n_scored": int((self.faces.identity != "").sum()) if self.labelled else 0,
            "clustering": self.clustering.to_dict(),
            "scores": None if self.scores is None else self.scores.to_dict(),
            "notes": list(self.notes),
            "calibration": self.calibration.to_dict(),
            "embedding_settings": {k: v for k, v in self.settings.items() if k != "embedder_description"},
        })

    def summary(self) -> str:
        s = f"{len(self.faces)} faces from {self.n_photos} photos: {self.clustering.summary()}"
        if self.scores is not None:
            s += f"\n{self.scores.describe()}"
        return s


def cluster_result(result, *, labels=None, names: Optional[dict] = None, **cluster_kwargs) -> FaceClusters:
    """Cluster the faces of an :class:`~facelab.engine.result.EmbeddingResult`, and score them where
    labels exist.

    Parameters
    ----------
    result : EmbeddingResult
    labels : sequence of str or "identity", optional
        ``"identity"``: the result's identities (a folder per identity). In every-face mode a
        photo's label goes to its face 0 (the largest) only; its other faces are clustered but not
        scored, as the label names one person. A sequence: one label per embedded face, in
        embedding order (``""`` for none; e.g. :func:`facelab.data.photo_folder.label_faces`).
        None: no scores.
    names : dict, optional
        Display names of the labels (kept for the page).
    **cluster_kwargs
        To :func:`cluster_faces` (``algorithm``, ``threshold``, ``min_size``, ``k``, ...); the
        calibration is the result's.

    Raises
    ------
    facelab.core.errors.EvaluationError
        Fewer than two faces (the message says how many photos were read and why the others
        gave none).
    """
    rows = result.embedded.reset_index(drop=True)
    n = len(rows)
    skipped = result.skipped
    if n < 2:
        n_photos = result.table.image_id.nunique()
        why = "; ".join(f"{r.image}: {r.reason}" for r in skipped.head(3).itertuples())
        raise EvaluationError(f"clustering needs at least 2 faces; {n_photos} photos gave {n}"
                              + (f" ({len(skipped)} without one: {why}{' ...' if len(skipped) > 3 else ''})"
                                 if len(skipped) else ""))
    labelled = labels is not None
    if isinstance(labels, str):
        if labels != "identity":
            raise EvaluationError(f"labels must be 'identity' or one label per face, got {labels!r}")
        face0 = rows.face.isna() | (rows.face == 0)
        truth = np.where(face0.to_numpy(bool), rows.identity.astype(str).to_numpy(), "")
    elif labels is not None:
        truth = np.asarray([str(v) for v in labels])
        if truth.shape != (n,):
            raise EvaluationError(f"{truth.size} labels for {n} faces")
    else:
        truth = np.full(n, "", dtype=object)
    clustering = cluster_faces(result.embeddings, calibration=result.calibration, **cluster_kwargs)
    scores = idents = None
    notes = []
    scored = truth != ""
    if clustering.algorithm == "hdbscan" and clustering.n_clusters == 0:
        notes.append("HDBSCAN found no cluster: it needs at least two groups of faces (it never makes one cluster of "
                     "everything), so one person's photos come out unclustered; try chinese_whispers or agglomerative")
    if labelled and scored.sum() >= 1:
        scores = score_clusters(truth[scored], clustering.labels[scored])
        idents = cluster_identities(truth[scored], clustering.labels[scored])
        if scores.n_identities == 1:
            notes.append("one identity: every pair of faces is the same person, so precision is 1 whatever the "
                         "clusters; read recall and the number of clusters (1 is right)")
        if scored.sum() < n:
            notes.append(f"{int(n - scored.sum())} of {n} faces have no label and are not scored")
    faces = pd.DataFrame({
        "face_id": result.ids, "image_id": rows.image_id.astype(str), "face": rows.face, "path": rows.path,
        "box": rows.box, "identity": truth, "cluster": clustering.labels, "confidence": clustering.confidence,
        "detection_score": [np.nan if f is None else float(f.score) for f in result.embedded_faces],
        "residual": rows.residual.to_numpy(float),
    })
    return FaceClusters(faces=faces, clustering=clustering, scores=scores, identities=idents,
                        embeddings=result.embeddings, calibration=result.calibration, model=result.model,
                        settings=dict(result.settings), skipped=skipped, n_photos=int(result.table.image_id.nunique()),
                        labelled=labelled, notes=notes, names=dict(names or {}))


def gallery_rows(clusters: FaceClusters, *, max_clusters: int = 60, per_cluster: int = 24,
                 max_unclustered: int = 120) -> dict:
    """``{cluster: rows shown}`` for a gallery: the ``max_clusters`` largest clusters, each by up to
    ``per_cluster`` faces spread evenly from most to least confident (all when fewer, most confident
    first), and ``-1``: up to ``max_unclustered`` unclustered faces (evenly spread, in embedding order)."""
    c = clusters.clustering
    conf = np.nan_to_num(clusters.faces.confidence.to_numpy(float), nan=-1.0)
    out = {}
    for k in range(min(c.n_clusters, int(max_clusters))):
        rows = c.members(k)
        rows = rows[np.argsort(-conf[rows], kind="stable")]
        if rows.size > per_cluster:
            rows = rows[np.unique(np.linspace(0, rows.size - 1, int(per_cluster)).round().astype(int))]
        out[k] = rows
    alone = c.members(-1)
    if alone.size > max_unclustered:
        alone = alone[np.unique(np.linspace(0, alone.size - 1, int(max_unclustered)).round().astype(int))]
    out[-1] = alone
    return out


def threshold_sweep(embeddings, identities, *, calibration: Calibration, thresholds, algorithm: str = "agglomerative",
                    min_size: int = 2, k: int = DEFAULT_K) -> pd.DataFrame:
    """Clusters scored at each of ``thresholds`` (cosine), one k-NN graph for all.

    Returns a table with ``threshold``, ``n_clusters``, ``n_unclustered`` and the
    :class:`~facelab.analysis.cluster_scores.ClusterScores` fields (pairwise and BCubed precision,
    recall, F, NMI). ``identities``: one label per face (``""``: not scored).
    """
    if algorithm == "hdbscan":
        raise EvaluationError("HDBSCAN has no threshold to sweep")
    e = np.asarray(embeddings)
    truth = np.asarray([str(v) for v in identities])
    if truth.shape != (e.shape[0],):
        raise EvaluationError(f"{truth.size} identities for {e.shape[0]} faces")
    nn = knn_graph(e, k=min(int(k), e.shape[0] - 1))
    scored = truth != ""
    rows = []
    for t in thresholds:
        c = cluster_faces(e, calibration=calibration, algorithm=algorithm, threshold=float(t), min_size=min_size,
                          neighbours=nn)
        s = score_clusters(truth[scored], c.labels[scored]).to_dict()
        rows.append({"threshold": float(t), **s, "n_clusters": c.n_clusters, "n_unclustered": c.n_unclustered})
    return pd.DataFrame(rows)
