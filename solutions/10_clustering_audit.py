"""Reference solutions for notebook 10: part 1, faces without names (every face of a photo folder, clustered,
``exercise_1`` ...); part 2, a dataset's suspicious labels (``audit_exercise_1`` ...)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from facelab.analysis.cluster_scores import bcubed_scores, score_clusters
from facelab.analysis.clustering import cluster_faces


def exercise_1(embeddings, identities, calibration, *, ks=(5, 10, 30, 100)) -> dict:
    """BCubed F of Chinese whispers at the calibrated threshold, for graphs of ``k`` neighbours.

    A face only votes with its ``k`` nearest neighbours: a small graph offers fewer wrong edges
    between people, so chains (and merged people) are rarer -- until ``k`` is smaller than a
    person's photos and people start to split.
    """
    out = {}
    for k in ks:
        k = min(int(k), len(embeddings) - 1)
        c = cluster_faces(embeddings, calibration=calibration, algorithm="chinese_whispers", k=k)
        out[k] = score_clusters(identities, c.labels).bcubed_f
    return out


def exercise_2(truth, pred) -> tuple[float, float]:
    """BCubed precision and recall from their definition, face by face (-1: a face alone)."""
    truth = np.asarray(truth)
    pred = np.asarray(pred).copy()
    alone = pred < 0
    pred[alone] = pred.max() + 1 + np.arange(alone.sum())  # each a cluster of its own
    precision = recall = 0.0
    for i in range(truth.size):
        same_cluster = pred == pred[i]
        same_person = truth == truth[i]
        both = (same_cluster & same_person).sum()
        precision += both / same_cluster.sum()
        recall += both / same_person.sum()
    n = truth.size
    mine = (precision / n, recall / n)
    theirs = bcubed_scores(truth, pred)[:2]
    assert np.allclose(mine, theirs), (mine, theirs)
    return mine


def exercise_3(photo_folder, *, model: str = "dlib") -> dict:
    """The composed folder with one face per photo (``largest``) against every face (``all``): how
    many of the faces pasted into group photos are embedded (and so can be clustered) at all."""
    from facelab.data.datasets import read_photo_folder
    from facelab.data.photo_folder import label_faces
    from facelab.engine.pipeline import embed_images

    images = read_photo_folder(photo_folder.photos).images
    truth = photo_folder.truth
    pasted = int(truth.image_id.str.startswith("group_").sum())
    out = {"pasted": pasted}
    for policy in ("largest", "all"):
        res = embed_images(images, model=model, policy=policy, progress=False)
        named = np.asarray(label_faces(res.embedded, truth))
        groups = res.embedded.image_id.str.startswith("group_").to_numpy()
        out[policy] = int(((named != "") & groups).sum())
    return out


# Part 2: a dataset's suspicious labels


def _audit(root, model):
    from facelab.analysis.audit import audit_result
    from facelab.data.datasets import read_identity_folders
    from facelab.engine.pipeline import embed_images
    from facelab.models.weights import default_detector

    ds = read_identity_folders(root)
    res = embed_images(ds.images, model=model, detector=default_detector(model), policy="central", progress=False)
    return audit_result(res, names=ds.names), res


def audit_exercise_1(dataset, stranger, *, identity=None, model: str = "dlib") -> dict:
    """A stranger's photo dropped into one identity: its rank, kind, and own score against the threshold."""
    import shutil

    from facelab.data.datasets import read_identity_folders

    work = Path(tempfile.mkdtemp(prefix="facelab-audit-ex2-")) / "set"
    shutil.copytree(dataset, work)
    ident = identity or read_identity_folders(work).identities[0]
    shutil.copyfile(stranger, work / ident / "stranger.jpg")
    audit, _ = _audit(work, model)
    row = audit.candidates[audit.candidates.image_id == f"{ident}/stranger"]
    face = audit.faces[audit.faces.image_id == f"{ident}/stranger"].iloc[0]
    return {"rank": int(row["rank"].iloc[0]) if len(row) else None, "kind": row.kind.iloc[0] if len(row) else "",
            "own": float(face.own), "threshold": audit.settings.threshold}


def audit_exercise_2(audit, planted) -> float:
    """Share of moved photos whose nearest face belongs to the identity they came from."""
    from facelab.core.vectors import nearest_neighbours

    rows = {i: r for r, i in enumerate(audit.faces.image_id)}
    moved = [(rows[m.image_id], m.true_identity) for m in planted.moved.itertuples() if m.image_id in rows]
    nn = nearest_neighbours(audit.embeddings, k=1, rows=[r for r, _ in moved])
    ids = audit.faces.identity.to_numpy()
    return float(np.mean([ids[nn.index[q, 0]] == true for q, (_, true) in enumerate(moved)]))
