"""The report's files, from a :class:`~facelab.report.compute.ReportData`::

    metrics.json          dataset, model, verification, identification, provenance
    pair_scores.csv       every pair: image ids, identities, cosine, squared distance, score
    comparison_<a>_vs_<b>.csv  (several models) the pairs both models scored, each model's cosine
    distractor_curve.csv  (with distractors) rank-1, FNIR, FPIR per distractor count, per model
    face_embeddings.json  the reference format {image_id: [floats]}
    images.csv            every input image with its status and reason
    skipped.csv           every image or file that was not used, with its reason
    identities.csv        every identity: photos, faces found, rank-1, hardest pairs (each model)
    faces.csv             every image's face, each model: box, five landmarks, detection score
    misjudged_pairs.csv   every evaluated pair on the wrong side of its model's threshold
    figures/<name>.png|jpg  every figure of the page (JPEG for photographs, PNG for plots)

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
from facelab.report.paths import FACES_CSV, IDENTITIES_CSV, MISJUDGED_CSV, comparison_file

__all__ = ["WrittenFigure", "report_metrics", "model_metrics", "write_metrics", "write_tables", "write_figures",
           "encode_figure", "write_long_csv", "CSS_DPI", "PIXEL_RATIO"]


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

    The top-level blocks describe ``data.models[0]`` (its ``provenance`` with the report's
    ``timings``: seconds per stage, :attr:`~facelab.report.compute.ReportData.timings`); a report of several models adds a
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
        "provenance": {**m.provenance, "timings": dict(data.timings)},
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
    """``pair_scores.csv``, ``face_embeddings.json``, ``images.csv``, ``skipped.csv``,
    ``identities.csv``, ``faces.csv``, ``misjudged_pairs.csv`` (and the comparison and distractor
    CSVs when there are)."""
    from facelab.core.calibration import cosine_to_distance
    from facelab.embedders.files import write_embeddings
    from facelab.report.identities import identity_table

    folder = Path(folder)
    m = data.model
    ids = np.asarray(m.result.ids)
    id1, id2 = m.pairs.identities(m.identities)
    pd.DataFrame({
        "image_id1": ids[m.pairs.i], "image_id2": ids[m.pairs.j], "identity1": id1, "identity2": id2,
        "same": m.pairs.same, "cosine": m.scores, "distance": cosine_to_distance(m.scores),
        "score": m.calibration.score_for_cosine(m.scores),
    }).pipe(write_long_csv, folder / "pair_scores.csv", digits=6)
    write_embeddings(folder / "face_embeddings.json", list(ids), m.embeddings)
    m.result.table.drop(columns=["box", "landmarks"]).to_csv(folder / "images.csv", index=False)
    m.skipped.to_csv(folder / "skipped.csv", index=False)
    identity_table(data).to_csv(folder / IDENTITIES_CSV, index=False, float_format="%.6f")
    pd.concat([faces_frame(x) for x in data.models], ignore_index=True).to_csv(folder / FACES_CSV, index=False,
                                                                                float_format="%.3f")
    pd.concat([misjudged_frame(x) for x in data.models], ignore_index=True).to_csv(folder / MISJUDGED_CSV,
                                                                                    index=False, float_format="%.6f")
    for c in data.comparisons:
        id1, id2 = c.pairs.identities(c.identities)
        pd.DataFrame({
            "image_id1": c.image_ids[c.pairs.i], "image_id2": c.image_ids[c.pairs.j], "identity1": id1,
            "identity2": id2, "same": c.pairs.same, f"cosine_{c.a}": c.scores_a, f"cosine_{c.b}": c.scores_b,
        }).pipe(write_long_csv, folder / comparison_file(c), digits=9)
    if data.distractors is not None:
        from facelab.report.distractors import CSV_NAME

        data.distractors.table().to_csv(folder / CSV_NAME, index=False, float_format="%.6f")


def write_long_csv(df: pd.DataFrame, path, *, digits: int) -> None:
    """A table of hundreds of thousands of rows (every pair) as CSV, floats rounded to ``digits``:
    written by pyarrow's CSV writer, eight times as fast as pandas' with a float format (text
    values quoted; booleans ``True`` / ``False`` as pandas writes them)."""
    import pyarrow as pa
    from pyarrow import csv

    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = out[c].round(digits)
        elif out[c].dtype.kind == "b":
            out[c] = np.where(out[c].to_numpy(), "True", "False")
    csv.write_csv(pa.Table.from_pandas(out, preserve_index=False), str(path),
                  csv.WriteOptions(quoting_style="needed"))


def faces_frame(model) -> pd.DataFrame:
    """Every image of a model's run and its chosen face: detection score, box and five landmarks
    (empty where no face was used), for ``faces.csv``."""
    from facelab.stages.faces import Keypoint

    m = model
    tab = m.result.table
    cols = {"model": m.name, "detector": m.detector, "image_id": tab.image_id.astype(str).to_numpy(),
            "identity": tab.identity.astype(str).to_numpy(), "status": tab.status.astype(str).to_numpy()}
    faces = list(m.result.faces) if m.result.faces is not None else [None] * len(tab)
    box = np.full((len(tab), 4), np.nan)
    pts = np.full((len(tab), 5, 2), np.nan)
    score = np.full(len(tab), np.nan)
    for k, f in enumerate(faces):
        if f is not None:
            box[k], pts[k], score[k] = np.asarray(f.box, float)[:4], np.asarray(f.landmarks, float), f.score
    out = pd.DataFrame(cols)
    out["score"] = score
    for c, name in enumerate(("x0", "y0", "x1", "y1")):
        out[f"box_{name}"] = box[:, c]
    for kp in Keypoint:
        label = kp.name.lower()
        out[f"{label}_x"], out[f"{label}_y"] = pts[:, int(kp), 0], pts[:, int(kp), 1]
    return out


def misjudged_frame(model) -> pd.DataFrame:
    """A model's evaluated pairs on the wrong side of its threshold, hardest first (the failure
    gallery shows the first of them), for ``misjudged_pairs.csv``."""
    m = model
    w = m.misjudged
    ids = np.asarray(m.result.ids).astype(str)
    idn = m.identities.astype(str)
    i, j = m.pairs.i[w.pair.to_numpy()], m.pairs.j[w.pair.to_numpy()]
    return pd.DataFrame({"model": m.name, "kind": w.kind.to_numpy(), "image_id1": ids[i], "image_id2": ids[j],
                         "identity1": idn[i], "identity2": idn[j], "cosine": w.score.to_numpy(),
                         "margin": w.margin.to_numpy(), "threshold": m.threshold})


#: CSS pixels per inch of a figure's size (the browser's 96), and image pixels per CSS pixel: a
#: figure is encoded at twice the size it is shown at (sharp text on high-density screens) and
#: the page shows it at its designed size in inches.
CSS_DPI = 96
PIXEL_RATIO = 2
#: JPEG quality of the photographic figures (faces, galleries, the map with thumbnails).
JPEG_QUALITY = 85


@dataclass(frozen=True)
class WrittenFigure:
    """A figure as written: ``figures/<name>.<png|jpg>`` (``path``, relative to the report), its
    bytes and type, and the size the page shows it at (CSS px; the image has :data:`PIXEL_RATIO`
    times as many pixels)."""

    name: str
    path: str
    data: bytes
    caption: str
    section: str
    half: bool = False
    mime: str = "image/png"
    width: int = 0
    height: int = 0


def encode_figure(fig, *, photo: bool = False) -> tuple[bytes, str, int, int]:
    """``(bytes, mime, width, height)``: a figure encoded at :data:`PIXEL_RATIO` x its size in
    CSS pixels (``bbox_inches="tight"``), as JPEG (``photo``) or as a PNG of at most 256 colours
    (plots: lines and text on white lose nothing and shrink by half or more); ``width`` and
    ``height`` are the CSS size the page shows it at."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=CSS_DPI * PIXEL_RATIO, bbox_inches="tight", facecolor="white")
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    if photo:
        img.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        mime = "image/jpeg"
    else:
        img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, format="PNG", optimize=True)
        mime = "image/png"
    w, h = img.size
    return out.getvalue(), mime, max(1, round(w / PIXEL_RATIO)), max(1, round(h / PIXEL_RATIO))


def write_figures(data, folder, *, clock=None) -> dict:
    """Draw every figure of :func:`facelab.report.figures.report_figures` into ``figures/``.

    ``clock`` (a :class:`facelab.report.stages.ReportClock`) times each figure.

    Returns
    -------
    dict
        name -> :class:`WrittenFigure`, in page order.
    """
    from facelab.report.figures import report_figures
    from facelab.report.stages import ReportClock

    clock = clock if clock is not None else ReportClock(progress=False)
    out = Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for spec in report_figures(data):
        with clock.stage(f"figure: {spec.name}"):
            blob, mime, w, h = encode_figure(spec.draw(data), photo=spec.photo)
            rel = f"figures/{spec.name}.{'jpg' if mime == 'image/jpeg' else 'png'}"
            (Path(folder) / rel).write_bytes(blob)
        written[spec.name] = WrittenFigure(spec.name, rel, blob, spec.caption, spec.section, spec.half, mime, w, h)
    return written
