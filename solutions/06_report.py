"""Reference solutions for notebook 06 (the report)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from facelab import build_report, embed_folder
from facelab import verification as V
from facelab.core.calibration import distance_to_cosine


def exercise_1(dataset, out, *, model: str = "dlib") -> dict:
    """Build the report and check its AUC against one recomputed from the embeddings."""
    res = build_report(dataset, model=model, out=out, n_boot=50, progress=False, thumbnails=False)
    metrics = json.loads((Path(res.out_dir) / "metrics.json").read_text())
    # The same pipeline as the report's (detector and multi-face policy from its provenance).
    settings = metrics["provenance"]["settings"]
    emb = embed_folder(dataset, model=model, detector=settings["detector"], policy=settings["policy"], progress=False)
    pairs = V.make_pairs(emb.identities)
    auc = V.roc(V.pair_scores(emb.embeddings, pairs), pairs.same).auc
    return {"report_auc": metrics["verification"]["auc"], "recomputed_auc": float(auc), "index": res.index}


def exercise_2(calibration) -> dict:
    """The model's operating point on the three scales."""
    d = calibration.distance_threshold
    return {"squared distance": float(d), "cosine": float(distance_to_cosine(d)), "score": float(calibration.threshold)}


def exercise_3(dataset, work) -> list:
    """Add a file that is not an image to a copy of the set: it is listed as skipped, with its reason."""
    work = Path(work)
    copy = work / "copy"
    shutil.copytree(dataset, copy)
    first = min(p for p in copy.iterdir() if p.is_dir())
    (first / "notes.txt").write_text("not a face\n")
    res = embed_folder(copy, progress=False)
    return [tuple(r) for r in res.skipped.itertuples(index=False)]
