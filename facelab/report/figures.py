"""The report's figures, drawn from a :class:`~facelab.report.compute.ReportData`.

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot: drawing a report
neither switches the backend nor leaves figures in pyplot's state (so a notebook that calls it
keeps its inline figures, and shows only what it asks for with ``display(fig)``).

:func:`report_figures` lists every figure of the page, in order, with its file name and caption.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

__all__ = [
    "ReportFigure", "report_figures", "landmarks", "aligned", "roc", "det", "scores", "threshold_sweep", "cmc",
    "embedding_map", "failures",
]


def _figure(figsize, *, layout: Optional[str] = "constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout=layout)


def _axes(figsize=(5, 4.2)):
    return _figure(figsize).subplots()


def landmarks(data, model=None):
    """A few faces per identity on their photos, with the box and five landmarks the pipeline found.

    Only these few photos are read (to draw on); the faces are the pipeline's typed ones.
    """
    from facelab.imageio import load_image
    from facelab.plotting.faces import LandmarksDisplay

    m = model or data.model
    sample = m.samples
    fig = _figure((2.3 * len(sample), 2.6), layout=None)
    axes = fig.subplots(1, len(sample), squeeze=False)[0]
    for ax, r, face in zip(axes, sample.itertuples(), m.sample_faces()):
        LandmarksDisplay(load_image(r.path), [face], chosen=0,
                         title=f"{data.dataset.label(r.identity)}\n{Path(r.path).name}").plot(ax=ax, show_68=False)
        ax.title.set_fontsize(8)
    fig.tight_layout()
    return fig


def aligned(data, model=None):
    """The same sample faces as the pipeline aligned them (its chips)."""
    from facelab.plotting.faces import AlignedGridDisplay

    m = model or data.model
    chips: dict = {}
    for r, chip in zip(m.samples.itertuples(), m.sample_chips()):
        chips.setdefault(data.dataset.label(r.identity), []).append(chip)
    per_row = max(len(v) for v in chips.values())
    scale = 1.1  # AlignedGridDisplay.plot's default
    fig = _figure((per_row * scale, len(chips) * scale + 0.3), layout=None)
    return AlignedGridDisplay.from_images(chips).plot(fig, per_row=per_row, scale=scale).figure_


def roc(data, model=None):
    from facelab.plotting.verification import RocDisplay

    m = model or data.model
    return RocDisplay.from_predictions(m.scores, m.pairs.same, name=m.name, ax=_axes()).figure_


def det(data, model=None):
    from facelab.plotting.verification import DetDisplay

    m = model or data.model
    return DetDisplay.from_predictions(m.scores, m.pairs.same, name=m.name, ax=_axes()).figure_


def scores(data, model=None):
    from facelab.plotting.verification import ScoreDistributionDisplay

    m = model or data.model
    return ScoreDistributionDisplay.from_predictions(m.scores, m.pairs.same, threshold=m.threshold,
                                                     ax=_axes()).figure_


def threshold_sweep(data, model=None):
    from facelab.plotting.verification import ThresholdSweepDisplay

    m = model or data.model
    return ThresholdSweepDisplay.from_predictions(m.scores, m.pairs.same, ax=_axes()).figure_


def cmc(data, model=None):
    """None when no probe has a mate in the gallery (no curve to draw)."""
    from facelab.plotting.embedding_space import CmcDisplay

    m = model or data.model
    if not len(m.identification.cmc):
        return None
    return CmcDisplay.from_result(m.identification, name=m.name, ax=_axes((5, 3.8))).figure_


def embedding_map(data, model=None):
    """The UMAP, coloured by identity, each face (its aligned chip) on its point when
    ``settings.thumbnails``, lines joining the hardest misjudged pairs."""
    from facelab.plotting.embedding_space import EmbeddingMapDisplay

    m = model or data.model
    thumbs = list(m.result.chips) if data.settings.thumbnails else None
    return EmbeddingMapDisplay.from_projection(
        m.projection, m.identities, images=thumbs, pairs=m.map_pairs, names=data.dataset.names,
        thumbnails=data.settings.thumbnails, ax=_axes((6, 5))).figure_


class _PairSide:
    """``chips[rows[k]]`` on demand: the failure gallery reads only the few pairs it shows."""

    def __init__(self, chips, rows):
        self.chips, self.rows = chips, rows

    def __getitem__(self, k):
        return self.chips[int(self.rows[k])]

    def __len__(self):
        return len(self.rows)


def failures(data, model=None, *, n: int = 6):
    """The hardest false accepts and false rejects at the model's threshold, as aligned chips;
    None when no pair is misjudged."""
    from facelab.plotting.verification import FailureGalleryDisplay

    m = model or data.model
    if not len(m.misjudged):
        return None
    chips = m.result.chips
    # FailureGalleryDisplay.plot's own size for this many pairs of each kind.
    ncols = min(n, 6)
    rows = sum(max(1, math.ceil(min(n, int((m.misjudged.kind == kind).sum())) / ncols))
               for kind in ("false accept", "false reject"))
    fig = _figure((2.4 * ncols, 2.0 * rows + 0.8))
    return FailureGalleryDisplay.from_pairs(_PairSide(chips, m.pairs.i), _PairSide(chips, m.pairs.j), m.scores,
                                            m.pairs.same, m.threshold, n=n, figure=fig).figure_


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the page: ``figures/<name>.png``, its caption and how it is laid out."""

    name: str
    caption: str
    draw: Callable
    section: str
    half: bool = False
    dpi: int = 110


def report_figures(data) -> list:
    """Every figure of the page for ``data``, in page order (those with nothing to show left out)."""
    m = data.model
    figs = [
        ReportFigure("landmarks", "Detected faces with their five landmarks (a sample per identity).", landmarks,
                     "faces"),
        ReportFigure("aligned", f"The same faces aligned with the '{m.alignment}' preset.", aligned, "faces"),
        ReportFigure("roc", "ROC (log FAR axis).", roc, "verification", half=True),
        ReportFigure("det", "DET (normal-deviate axes).", det, "verification", half=True),
        ReportFigure("scores", "Genuine vs impostor cosine similarity, with the model's threshold.", scores,
                     "verification", half=True),
        ReportFigure("threshold_sweep", "FAR, FRR and accuracy as the threshold moves.", threshold_sweep,
                     "verification", half=True),
    ]
    if len(m.identification.cmc):
        figs.append(ReportFigure("cmc", "Cumulative match characteristic.", cmc, "identification"))
    figs.append(ReportFigure("umap", "UMAP of the embeddings.", embedding_map, "embedding-space", dpi=100))
    if len(m.misjudged):
        figs.append(ReportFigure("failures", "The hardest false accepts and false rejects.", failures, "failures"))
    return figs
