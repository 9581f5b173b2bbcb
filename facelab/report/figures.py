"""The report's figures, drawn from a :class:`~facelab.report.compute.ReportData`.

Each function returns a :class:`matplotlib.figure.Figure` made without pyplot: drawing a report
neither switches the backend nor leaves figures in pyplot's state (so a notebook that calls it
keeps its inline figures, and shows only what it asks for with ``display(fig)``).

:func:`report_figures` lists every figure of the page, in order, with its file name and caption.

Sizes are designed for the page (:data:`facelab.report.files.CSS_DPI` CSS pixels per inch): a
full-width figure is at most :data:`FULL_WIDTH` inches, a half-width one about 5, and none grows
with the number of identities -- the face galleries draw a fixed sample
(:data:`facelab.report.compute.MAX_SAMPLE_IDENTITIES` identities) and the map puts thumbnails on an
evenly spread :data:`MAX_MAP_THUMBNAILS` of its points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from facelab.report.compute import SAMPLES_PER_IDENTITY
from facelab.report.paths import FACES_CSV, MISJUDGED_CSV, comparison_file

__all__ = [
    "ReportFigure", "report_figures", "landmarks", "aligned", "roc", "det", "scores", "threshold_sweep", "cmc",
    "embedding_map", "failures", "roc_overlay", "det_overlay", "cmc_overlay", "disagreements", "distractor_curve",
]


#: Width (inches) of a full-width figure: the page's text column at 96 CSS px per inch.
FULL_WIDTH = 10.2
#: Landmark photos per row.
LANDMARK_COLUMNS = 6
#: Faces drawn on the static map (an evenly spread subset beyond); the explorer shows every face.
MAX_MAP_THUMBNAILS = 150


def _figure(figsize, *, layout: Optional[str] = "constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout=layout)


def _axes(figsize=(5, 4.2)):
    return _figure(figsize).subplots()


def landmarks(data, model=None):
    """Sample faces on their photos, with the box and five landmarks the pipeline found
    (:meth:`~facelab.report.compute.ModelReport.landmark_samples`: at most a dozen photos, six a row).

    Only these few photos are read (to draw on); the faces are the pipeline's typed ones.
    """
    from facelab.data.imageio import load_image
    from facelab.plotting.faces import LandmarksDisplay

    m = model or data.model
    sample = m.landmark_samples()
    cols = min(LANDMARK_COLUMNS, max(1, len(sample)))
    rows = max(1, math.ceil(len(sample) / cols))
    side = FULL_WIDTH / LANDMARK_COLUMNS
    fig = _figure((side * cols, (side + 0.35) * rows), layout=None)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(sample):]:
        ax.set_axis_off()
    for ax, r, face in zip(axes, sample.itertuples(), m.sample_faces(sample)):
        LandmarksDisplay(load_image(r.path), [face], chosen=0,
                         title=f"{data.dataset.label(r.identity)}\n{Path(r.path).name}").plot(ax=ax, show_68=False)
        ax.title.set_fontsize(8)
    fig.tight_layout()
    return fig


def aligned(data, model=None):
    """The sample faces as the pipeline aligned them (its chips): a block per sampled identity,
    three blocks a row past four identities."""
    from facelab.plotting.faces import AlignedGridDisplay

    m = model or data.model
    chips: dict = {}
    for r, chip in zip(m.samples.itertuples(), m.sample_chips()):
        chips.setdefault(data.dataset.label(r.identity), []).append(chip)
    per_row = max(len(v) for v in chips.values())
    blocks = 1 if len(chips) <= 4 else 3
    scale = 1.1  # AlignedGridDisplay.plot's default
    rows = math.ceil(len(chips) / blocks)
    fig = _figure(((per_row * blocks + 0.25 * (blocks - 1)) * scale,
                   rows * (scale + (0.25 if blocks > 1 else 0)) + 0.3), layout=None)
    return AlignedGridDisplay.from_images(chips).plot(fig, per_row=per_row, scale=scale,
                                                      blocks_per_row=blocks).figure_


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


def embedding_map(data, model=None, *, size=(7, 5.8)):
    """The UMAP, coloured by identity, faces (their aligned chips) on an evenly spread
    :data:`MAX_MAP_THUMBNAILS` of the points when ``settings.thumbnails`` (on every point of a
    smaller set), lines joining the hardest misjudged pairs."""
    from facelab.plotting.embedding_space import EmbeddingMapDisplay
    from facelab.plotting.thumbnails import spread_subset

    m = model or data.model
    thumbs = None
    if data.settings.thumbnails:
        n = len(m.result.chips)
        keep = set(range(n)) if n <= MAX_MAP_THUMBNAILS else set(spread_subset(m.identities, MAX_MAP_THUMBNAILS).tolist())
        thumbs = [chip if k in keep else None for k, chip in enumerate(m.result.chips)]
    return EmbeddingMapDisplay.from_projection(
        m.projection, m.identities, images=thumbs, pairs=m.map_pairs, names=data.dataset.names,
        thumbnails=data.settings.thumbnails, point_size=30 if len(m.identities) <= 2000 else 8,
        ax=_axes(size)).figure_


def map_thumbnails(model, settings) -> int:
    """How many points of the static map carry their face."""
    return min(len(model.embeddings), MAX_MAP_THUMBNAILS) if settings.thumbnails else 0


def distractor_curve(data, model=None):
    """Rank-1, FNIR and FPIR against the distractors in the gallery; None when the report has no
    distractor curve for the model."""
    from facelab.plotting.search import DistractorCurveDisplay

    m = model or data.model
    d = data.distractors.for_model(m.name) if data.distractors is not None else None
    if d is None:
        return None
    return DistractorCurveDisplay.from_result(d.curve, name=m.name, ax=_axes((5.5, 4.2))).figure_


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
    # FailureGalleryDisplay.plot's proportions, at the page's width.
    col = FULL_WIDTH / ncols
    fig = _figure((FULL_WIDTH, col * 0.83 * rows + 0.8))
    return FailureGalleryDisplay.from_pairs(_PairSide(chips, m.pairs.i), _PairSide(chips, m.pairs.j), m.scores,
                                            m.pairs.same, m.threshold, n=n, figure=fig).figure_


def roc_overlay(data, model=None):
    """Every model's ROC on one axes (a line each)."""
    from facelab.plotting.verification import RocDisplay

    ax = _axes((5.5, 4.6))
    for m in data.models:
        RocDisplay.from_predictions(m.scores, m.pairs.same, name=m.name, ax=ax)
    return ax.figure


def det_overlay(data, model=None):
    """Every model's DET on one axes (a line each)."""
    from facelab.plotting.verification import DetDisplay

    ax = _axes((5.5, 4.6))
    for m in data.models:
        DetDisplay.from_predictions(m.scores, m.pairs.same, name=m.name, ax=ax)
    return ax.figure


def cmc_overlay(data, model=None):
    """Every model's CMC on one axes (models without a curve left out)."""
    from facelab.plotting.embedding_space import CmcDisplay

    ax = _axes((5, 3.8))
    for m in data.models:
        if len(m.identification.cmc):
            CmcDisplay.from_result(m.identification, name=m.name, ax=ax)
    return ax.figure


def disagreements(data, comparison, *, n: int = 6):
    """The pairs where two models disagree at their own operating thresholds: each model's
    aligned chips of the pair, side by side, with its score and whether it is right.

    The chips are each model's own (``result.chips``): nothing is reloaded or re-aligned.
    """
    import pandas as pd

    c = comparison
    a, b = (next(m for m in data.models if m.name == name) for name in (c.a, c.b))
    # Both kinds when there are: up to half where only a is right, the rest where only b is.
    dis = c.disagreements
    only_a, only_b = dis[dis.right == c.a], dis[dis.right == c.b]
    k_a = min(len(only_a), max(n // 2, n - len(only_b)))
    rows = pd.concat([only_a.head(k_a), only_b.head(n - k_a)])
    fig = _figure((8.4, 2.1 * max(1, len(rows)) + 0.3))
    axes = fig.subplots(max(1, len(rows)), 4, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for r, row in zip(axes, rows.itertuples()):
        i, j = int(c.pairs.i[row.pair]), int(c.pairs.j[row.pair])
        truth = "same person" if row.same else "different people"
        for k, (m, rws, score, thr) in enumerate(((a, c.rows_a, row.score_a, c.threshold_a),
                                                  (b, c.rows_b, row.score_b, c.threshold_b))):
            ok = row.right == m.name
            for side, img in enumerate((i, j)):
                ax = r[2 * k + side]
                ax.imshow(m.result.chips[int(rws[img])])
                if side == 0:
                    ax.set_title(f"{m.name}: cos {score:.3f} ({'≥' if score >= thr else '<'} {thr:.3f})\n"
                                 f"{'right' if ok else 'wrong'} — {truth}", fontsize=7, loc="left",
                                 color="#1a7f37" if ok else "#b42318")
    return fig


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the page: ``figures/<name>.<png|jpg>``, its caption and how it is laid out
    (``half``: two a row; ``photo``: faces or photographs, written as JPEG, not PNG)."""

    name: str
    caption: str
    draw: Callable
    section: str
    half: bool = False
    photo: bool = False


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))


def _for_model(fn, name):
    """``fn(data, model=<the model called name>)``: a per-model figure of a several-model report."""
    def draw(data):
        return fn(data, next(m for m in data.models if m.name == name))
    return draw


def _half_map(data, model=None):
    return embedding_map(data, model, size=(5, 4.4))


def _landmarks_caption(data, m) -> str:
    ds, sample = data.dataset, m.landmark_samples()
    n_ids = len(m.sample_identities)
    if len(sample) == len(m.samples):
        which = (f"up to {SAMPLES_PER_IDENTITY} photos of each of its {n_ids} identities" if n_ids == ds.n_identities
                 else f"up to {SAMPLES_PER_IDENTITY} photos of each of {n_ids} identities")
    else:
        which = f"one photo of each of {n_ids} identities"
    spread = "" if n_ids == ds.n_identities else f", evenly spaced in the sorted list of {ds.n_identities:,}"
    return (f"Detected faces with their five landmarks: {len(sample)} of the {ds.n_images:,} photos ({which}"
            f"{spread}). Every face's box, landmarks and detection score: {FACES_CSV}.")


def _aligned_caption(m) -> str:
    return (f"The same identities' faces aligned with the '{m.alignment}' preset ({len(m.samples)} faces, up to "
            f"{SAMPLES_PER_IDENTITY} of each of {len(m.sample_identities)} identities).")


def _map_caption(data, m, prefix: str = "") -> str:
    n, k = len(m.embeddings), map_thumbnails(m, data.settings)
    faces = ("" if not k else "; faces on every point" if k == n else
             f"; faces on {k} of the {n:,} points, spread evenly over the identities (the explorer above shows "
             "every face)")
    return f"{prefix}UMAP of the embeddings{faces}."


def _failures_caption(m, prefix: str = "", n: int = 6) -> str:
    n_fa = int((m.misjudged.kind == "false accept").sum())
    n_fr = len(m.misjudged) - n_fa
    return (f"{prefix}The hardest {min(n, n_fa)} of {n_fa:,} false accepts and {min(n, n_fr)} of {n_fr:,} false "
            f"rejects at the threshold; every one of them: {MISJUDGED_CSV}.")


def _multi_figures(data) -> list:
    figs = []
    for m in data.models:
        s = _slug(m.name)
        figs += [
            ReportFigure(f"landmarks_{s}", f"{m.name} ({m.detector} detector): " + _landmarks_caption(data, m),
                         _for_model(landmarks, m.name), "faces", photo=True),
            ReportFigure(f"aligned_{s}", f"{m.name}: " + _aligned_caption(m), _for_model(aligned, m.name), "faces",
                         photo=True),
        ]
    figs += [
        ReportFigure("roc", "ROC of every model (log FAR axis).", roc_overlay, "verification", half=True),
        ReportFigure("det", "DET of every model (normal-deviate axes).", det_overlay, "verification", half=True),
    ]
    for m in data.models:
        s = _slug(m.name)
        figs += [
            ReportFigure(f"scores_{s}", f"{m.name}: genuine vs impostor cosine similarity, with its threshold.",
                         _for_model(scores, m.name), "verification", half=True),
            ReportFigure(f"threshold_sweep_{s}", f"{m.name}: FAR, FRR and accuracy as the threshold moves.",
                         _for_model(threshold_sweep, m.name), "verification", half=True),
        ]
    if any(len(m.identification.cmc) for m in data.models):
        figs.append(ReportFigure("cmc", "Cumulative match characteristic of every model.", cmc_overlay,
                                 "identification"))
    for m in data.models:
        figs.append(ReportFigure(f"umap_{_slug(m.name)}", _map_caption(data, m, f"{m.name}: "),
                                 _for_model(_half_map, m.name), "embedding-space", half=True,
                                 photo=data.settings.thumbnails))
    if data.distractors is not None:
        for d in data.distractors.models:
            figs.append(ReportFigure(f"distractors_{_slug(d.model)}", f"{d.model}: rank-1, FNIR and FPIR as "
                                     "distractors join the gallery.", _for_model(distractor_curve, d.model),
                                     "distractors", half=True))
    for m in data.models:
        if len(m.misjudged):
            figs.append(ReportFigure(f"failures_{_slug(m.name)}", _failures_caption(m, f"{m.name}: "),
                                     _for_model(failures, m.name), "failures", photo=True))
    for c in data.comparisons:
        if len(c.disagreements):
            figs.append(ReportFigure(
                f"disagreements_{_slug(c.a)}_vs_{_slug(c.b)}",
                f"Pairs where {c.a} and {c.b} disagree at their own thresholds, least certain first: each "
                f"model's own aligned chips (all {len(c.disagreements):,} of them: {comparison_file(c)}).",
                (lambda cmp: lambda data: disagreements(data, cmp))(c), "comparison", photo=True))
    return figs


def report_figures(data) -> list:
    """Every figure of the page for ``data``, in page order (those with nothing to show left out)."""
    if len(data.models) > 1:
        return _multi_figures(data)
    m = data.model
    figs = [
        ReportFigure("landmarks", _landmarks_caption(data, m), landmarks, "faces", photo=True),
        ReportFigure("aligned", _aligned_caption(m), aligned, "faces", photo=True),
        ReportFigure("roc", "ROC (log FAR axis).", roc, "verification", half=True),
        ReportFigure("det", "DET (normal-deviate axes).", det, "verification", half=True),
        ReportFigure("scores", "Genuine vs impostor cosine similarity, with the model's threshold.", scores,
                     "verification", half=True),
        ReportFigure("threshold_sweep", "FAR, FRR and accuracy as the threshold moves.", threshold_sweep,
                     "verification", half=True),
    ]
    if len(m.identification.cmc):
        figs.append(ReportFigure("cmc", "Cumulative match characteristic.", cmc, "identification"))
    if data.distractors is not None and data.distractors.for_model(m.name) is not None:
        figs.append(ReportFigure("distractors", "Rank-1, FNIR and FPIR as distractors join the gallery "
                                 "(symmetric log axis: 0 is the dataset's own gallery).", distractor_curve,
                                 "distractors"))
    figs.append(ReportFigure("umap", _map_caption(data, m), embedding_map, "embedding-space",
                             photo=data.settings.thumbnails))
    if len(m.misjudged):
        figs.append(ReportFigure("failures", _failures_caption(m), failures, "failures", photo=True))
    return figs
