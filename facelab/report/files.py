"""The report's files, from a :class:`~facelab.report.compute.ReportData`::

    metrics.json          dataset, model, verification, identification, provenance
    pair_scores.csv       every pair: image ids, identities, cosine, squared distance, score
    comparison_<a>_vs_<b>.csv  (several models) the pairs both models scored, each model's cosine
    distractor_curve.csv  (with distractors) rank-1, FNIR, FPIR per distractor count, per model
    face_embeddings.json  the reference format {image_id: [floats]}
    images.csv            every input image with its status and reason
    skipped.csv           every image or file that was not used, with its reason
    figures/<name>.png    every figure of the page

Each writer takes the folder to write into (the staging folder of
:func:`facelab.report.write_report`) and computes nothing new.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facelab.core.jsonsafe import json_safe

__all__ = ["WrittenFigure", "report_metrics", "model_metrics", "write_metrics", "write_tables", "write_figures",
           "comparison_file"]


def model_metrics(data, model) -> dict:
    """The ``model``, ``verification`` and ``identification`` blocks of one model."""
    from facelab.identification.evaluate import format_reference

    m = model
    cal, idr, op = m.calibration, m.identification, m.operating_point
    return {
        "model": {"name": m.name, "weights": m.weights, "embedding_size": int(m.embeddings.shape[1]),
                  "detector": m.detector, "alignment": m.alignment, "calibration": cal.to_dict()},
        "verification": {**m.verification.to_dict(),
                         "operating_point": {"score_threshold": cal.threshold, "distance": cal.distance_threshold,
                                             "cosine": m.threshold, **op.to_dict()},
                         "max_impostors": data.settings.max_impostors},
        "identification": {"set": m.identification_set, "rank1": idr.mean["rank1"],
                           "precision": idr.mean["precision"], "recall": idr.mean["recall"],
                           "accuracy": idr.mean["accuracy"], **idr.to_dict(),
                           "reference_format": format_reference(m.identification_table, labels=False)},
    }


def report_metrics(data) -> dict:
    """The content of ``metrics.json`` (JSON-safe: NaN as null).

    The top-level blocks describe ``data.models[0]``; a report of several models adds a
    ``models`` block (name -> :func:`model_metrics` with its licence, embedded faces and skipped
    count) and ``comparison`` (one :meth:`~facelab.report.compute.ModelComparison.to_dict` per
    model after the first) beside them. With distractors, a ``distractors`` block
    (:meth:`~facelab.report.distractors.ReportDistractors.to_dict`: the file, each model's curve,
    the models it does not fit and why). ``dataset_health``: the audit of the first model's
    embeddings (:func:`facelab.report.health.health_metrics`).
    """
    ds, m = data.dataset, data.model
    metrics = {
        "dataset": {
            "path": str(ds.root), "images": ds.n_images, "identities": ds.n_identities,
            "embedded": int(len(m.result.embedded)), "identities_embedded": m.n_identities, "names": ds.names,
            "skipped": [{"image": str(r.image), "reason": str(r.reason)} for r in m.skipped.itertuples()],
        },
        **model_metrics(data, m),
        "provenance": m.provenance,
    }
    if len(data.models) > 1:
        from facelab.report.compute import model_licence

        metrics["models"] = {
            x.name: {**model_metrics(data, x), "licence": model_licence(x.name),
                     "embedded": int(len(x.result.embedded)), "skipped": int(len(x.skipped))}
            for x in data.models
        }
        metrics["comparison"] = [c.to_dict() for c in data.comparisons]
    if data.distractors is not None:
        metrics["distractors"] = data.distractors.to_dict()
    if data.health is not None:
        from facelab.report.health import health_metrics

        metrics["dataset_health"] = health_metrics(data)
    return json_safe(metrics)


def write_metrics(data, folder) -> dict:
    """Write ``metrics.json``; returns what was written."""
    metrics = report_metrics(data)
    (Path(folder) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def write_tables(data, folder) -> None:
    """``pair_scores.csv``, ``face_embeddings.json``, ``images.csv``, ``skipped.csv`` (and the
    comparison and distractor CSVs when there are)."""
    from facelab.core.calibration import cosine_to_distance
    from facelab.embedders.files import write_embeddings

    folder = Path(folder)
    m = data.model
    ids = np.asarray(m.result.ids)
    id1, id2 = m.pairs.identities(m.identities)
    pd.DataFrame({
        "image_id1": ids[m.pairs.i], "image_id2": ids[m.pairs.j], "identity1": id1, "identity2": id2,
        "same": m.pairs.same, "cosine": m.scores, "distance": cosine_to_distance(m.scores),
        "score": m.calibration.score_for_cosine(m.scores),
    }).to_csv(folder / "pair_scores.csv", index=False, float_format="%.6f")
    write_embeddings(folder / "face_embeddings.json", list(ids), m.embeddings)
    m.result.table.drop(columns=["box", "landmarks"]).to_csv(folder / "images.csv", index=False)
    m.skipped.to_csv(folder / "skipped.csv", index=False)
    for c in data.comparisons:
        id1, id2 = c.pairs.identities(c.identities)
        pd.DataFrame({
            "image_id1": c.image_ids[c.pairs.i], "image_id2": c.image_ids[c.pairs.j], "identity1": id1,
            "identity2": id2, "same": c.pairs.same, f"cosine_{c.a}": c.scores_a, f"cosine_{c.b}": c.scores_b,
        }).to_csv(folder / comparison_file(c), index=False, float_format="%.9f")
    if data.distractors is not None:
        from facelab.report.distractors import CSV_NAME

        data.distractors.table().to_csv(folder / CSV_NAME, index=False, float_format="%.6f")


def comparison_file(c) -> str:
    """``comparison_<a>_vs_<b>.csv``: the paired pair scores of a comparison."""
    return f"comparison_{c.a}_vs_{c.b}.csv"


@dataclass(frozen=True)
class WrittenFigure:
    """A figure as written: ``figures/<name>.png`` (``path``, relative to the report) and its bytes."""

    name: str
    path: str
    png: bytes
    caption: str
    section: str
    half: bool = False


def figure_png(fig, *, dpi: int = 110) -> bytes:
    """A figure as PNG bytes (``bbox_inches="tight"``, as on the page)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def write_figures(data, folder) -> dict:
    """Draw every figure of :func:`facelab.report.figures.report_figures` into ``figures/``.

    Returns
    -------
    dict
        name -> :class:`WrittenFigure`, in page order.
    """
    from facelab.report.figures import report_figures

    out = Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for spec in report_figures(data):
        png = figure_png(spec.draw(data), dpi=spec.dpi)
        rel = f"figures/{spec.name}.png"
        (Path(folder) / rel).write_bytes(png)
        written[spec.name] = WrittenFigure(spec.name, rel, png, spec.caption, spec.section, spec.half)
    return written
