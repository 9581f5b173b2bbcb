"""``build_report`` = :func:`~facelab.report.compute.compute_report`, then :func:`write_report`."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from facelab.core.atomic import staged_directory
from facelab.report import files, html
from facelab.report.compute import compute_report

__all__ = ["ReportResult", "build_report", "write_report"]


@dataclass
class ReportResult:
    """Where the report went and what it measured (the content of ``metrics.json``)."""

    out_dir: Path
    metrics: dict

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def default_report_dir(dataset_root, model: str) -> Path:
    """``reports/<dataset>-<model>-<date>/`` in the checkout."""
    from facelab.data.datasets import repo_root

    name = Path(dataset_root).resolve().name
    safe_model = Path(str(model)).stem.replace(os.sep, "_")
    return repo_root() / "reports" / f"{name}-{safe_model}-{_dt.date.today().isoformat()}"


def write_report(data, out, *, interactive: bool = True) -> ReportResult:
    """Write the files, figures and page of ``data`` into ``out``, atomically.

    The folder is built beside ``out`` and moved into place at the end (replacing an existing
    ``out``), so an interrupted run leaves no half report behind. ``interactive=False``: a static
    page (no script), see :mod:`facelab.report.interactive`.
    """
    out = Path(out)
    with staged_directory(out) as staging:
        metrics = files.write_metrics(data, staging)
        files.write_tables(data, staging)
        figures = files.write_figures(data, staging)
        (staging / "index.html").write_text(html.render_page(data, figures, interactive=interactive), encoding="utf-8")
    return ReportResult(out, metrics)


def build_report(
    dataset=None,
    *,
    model: str = "dlib",
    models: Optional[Sequence[str]] = None,
    weights=None,
    detector: Optional[str] = None,
    policy: str = "central",
    out=None,
    max_impostors: Optional[int] = 200_000,
    n_boot: int = 500,
    gallery_size: int = 1,
    repeats: int = 5,
    thumbnails: bool = True,
    progress: bool = True,
    argv: Optional[Sequence[str]] = None,
    device: str = "auto",
    scheduler=None,
    interactive: bool = True,
    distractors=None,
) -> ReportResult:
    """Run the whole pipeline on a folder-per-identity dataset and write the report.

    Parameters
    ----------
    dataset : path-like, optional
        ``<dataset>/<identity>/<images>``; default the two-ID set (built from LFW if missing).
    model, weights, detector :
        See :func:`facelab.engine.pipeline.embed_images`; ``detector=None`` (default): the model's own
        (:func:`facelab.models.weights.default_detector`: YuNet; without its file dlib for dlib, MTCNN for EdgeFace).
    models : sequence of str, optional
        Several models side by side on the same images (``model`` is then ignored).
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
    progress : bool
        Progress bars.
    argv : sequence of str, optional
        The command recorded in the provenance (default: this process's).
    policy : {"largest", "central"}
        Which face of a photo with several is the photo's (default "central", as ``facelab lfw``:
        with MTCNN, "largest" picked a bystander in one two-ID photo).
    device, scheduler :
        Where the embedding runs: see :func:`facelab.engine.pipeline.embed_images`.
    interactive : bool
        Bokeh views (explorer, ROC/DET, sortable tables) beside the static figures; False: static only.
    distractors : path-like, optional
        Embeddings of people who are not enrolled (``.json`` / ``.npz`` or a Parquet store folder, as
        ``facelab identify --distractors``), made with the report's model: adds the distractor curve
        (rank-1, FNIR, FPIR as 10, 100, ... of them join the gallery; see
        :mod:`facelab.report.distractors`).

    Raises
    ------
    EvaluationError
        When the dataset cannot be evaluated (one identity, no genuine pair, too few faces).
    facelab.report.distractors.DistractorMismatchError
        Distractors made by another model, or holding images of the dataset.
    """
    data = compute_report(dataset, model=model, models=models, weights=weights, detector=detector, policy=policy,
                          max_impostors=max_impostors,
                          n_boot=n_boot, gallery_size=gallery_size, repeats=repeats, thumbnails=thumbnails,
                          progress=progress, argv=argv, device=device, scheduler=scheduler, distractors=distractors)
    label = "-vs-".join(Path(str(m)).stem for m in models) if models and len(models) > 1 else (
        models[0] if models else model)
    out = Path(out) if out is not None else default_report_dir(data.dataset.root, label)
    return write_report(data, out, interactive=interactive)
