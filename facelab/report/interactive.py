"""The report's interactive views (Bokeh), beside its static PNG figures.

Each view is a Bokeh model built from the :class:`~facelab.report.compute.ReportData` -- nothing
is recomputed that the report already has, and nothing is read from disk:

============  =================  ==========================================================
section       view               what it does in the page
============  =================  ==========================================================
embedding     the explorer       :func:`facelab.plotting.explorer.explore` of the first model on the
-space                           report's own UMAP, pairs and threshold: hover a face for its
                                 chip, id, identity, detection score and residual; click for
                                 its nearest neighbours; lasso / box-select to list faces;
                                 colour by identity / detection score / residual / misjudged;
                                 a threshold slider with the FAR/FRR readout, the misjudged
                                 pairs as lines and the failure list
verification  ROC and DET        hover: the cosine threshold, FAR and TAR (FRR) of each point
verification  threshold table    a sortable DataTable of the operating points
skipped       skipped images     a sortable DataTable (image or file, reason)
============  =================  ==========================================================

:func:`add_interactive` puts each view at the top of its section (above the static figure,
which stays for print: ``@media print`` hides the interactive views), all in one Bokeh document
(:func:`bokeh.embed.components`: one script), with BokehJS inlined once in the page's head
(:func:`bokeh_head`). The page stays one file that opens from disk with no network request.

Size: BokehJS is about 2.1 MB inlined (MathJax, which the report never uses, is left out);
the explorer adds its thumbnails (64 px PNGs up to 1,000 faces, 32 px beyond, at most 2,000 of
them: see :mod:`facelab.plotting.explorer`) and its precomputed threshold grid.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["InteractiveView", "add_interactive", "bokeh_head", "interactive_views", "render_views"]

#: BokehJS bundles inlined in the page (MathJax left out: 1.8 MB the report never uses).
BOKEH_COMPONENTS = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables")

_CSS = """<style>
.facelab-interactive { margin: 8px 0 18px; overflow-x: auto; }
.facelab-interactive .note { font-size: 13px; color: #5a6572; margin: 4px 0; }
@media print { .facelab-interactive { display: none; } }
</style>"""


@dataclass(frozen=True)
class InteractiveView:
    """One interactive view: a Bokeh model placed at the top of the section ``section``."""

    name: str
    section: str
    title: str
    intro: str
    model: object


def report_explorer(data, model=None, **kwargs):
    """The :class:`facelab.plotting.explorer.Explorer` of one model of a report (default the first).

    It reuses what the report computed: the pipeline's chips as thumbnails, the report's UMAP
    coordinates, its pairs and their scores (so the slider's FAR/FRR are those of the verification
    section) and the model's threshold as the slider's start. Keywords go to
    :func:`facelab.plotting.explorer.explore`.
    """
    from facelab.plotting.explorer import explore

    m = data.model if model is None else model
    kw = dict(names=data.dataset.names, coords=np.asarray(m.projection.coords)[:, :2], pairs=m.pairs,
              pair_scores=m.scores, threshold=m.threshold, width=640, height=520)
    if data.health is not None and m is data.model:  # the audit is of the first model's faces
        kw["categories"] = {"audit flag": data.health.flags()}
    kw.update(kwargs)
    ex = explore(m.result, **kw)
    ex.data.method = m.projection.describe()
    return ex


def _threshold_frame(rep) -> pd.DataFrame:
    tt = rep.threshold_table().reset_index()
    return tt.drop(columns=[c for c in ("CI",) if c in tt.columns])


def interactive_views(data, *, model=None) -> list:
    """The interactive views of one model of the report (default the first), in page order."""
    from facelab.plotting.interactive import data_table, det_figure, roc_figure

    m = data.model if model is None else model
    ex = report_explorer(data, m)
    roc = roc_figure(m.scores, m.pairs.same, name=m.name, width=470, height=380)
    roc.name = "facelab-roc"
    det = det_figure(m.scores, m.pairs.same, name=m.name, width=470, height=380)
    det.name = "facelab-det"
    from bokeh.layouts import row

    curves = row(roc, det)
    tt = data_table(_threshold_frame(m.verification), width=960, height=40 + 28 * (len(m.verification.tar_at_far) + 2),
                    name="facelab-thresholds")
    sk = m.skipped.rename(columns={"image": "image or file"})
    skipped = data_table(sk, width=960, height=min(400, 60 + 26 * len(sk)), digits=4, name="facelab-skipped")
    n = len(m.embeddings)
    return [
        InteractiveView("explorer", "embedding-space", "Embedding explorer", (
            f"<b>Explorer</b> ({n} faces): hover a face for its aligned chip, image, identity, detection score "
            "and alignment residual; click one for its nearest neighbours in embedding space; lasso or "
            "box-select (toolbar) to list faces; colour by identity, detection score, residual or 'in a misjudged "
            "pair'; move the threshold to see FAR/FRR on this report's pairs, the hardest misjudged pairs as "
            "lines (false accepts solid red, false rejects dashed orange; 'lines drawn' shows more) and the "
            "failures. The static map below is for print."), ex.build()),
        InteractiveView("roc-det", "verification", "ROC and DET",
                        "<b>ROC and DET</b>: hover a curve for the cosine threshold and the rates there.", curves),
        InteractiveView("thresholds", "verification", "Thresholds",
                        "<b>Operating points</b> (click a header to sort); the static table is below.", tt),
        InteractiveView("skipped", "skipped", "Skipped images",
                        "<b>Skipped images</b> (click a header to sort).", skipped),
    ]


def bokeh_head() -> str:
    """BokehJS, inlined (``<script>`` blocks without ``src``), and the views' CSS: once per page."""
    from bokeh.resources import Resources

    return Resources(mode="inline", components=list(BOKEH_COMPONENTS)).render_js() + _CSS


def render_views(views: Sequence[InteractiveView]) -> tuple[dict, str]:
    """``({name: html}, script)``: each view's ``<div>`` (with its intro) and the one script that
    draws all of them (:func:`bokeh.embed.components`, one document)."""
    from bokeh.embed import components

    script, divs = components({v.name: v.model for v in views})
    return ({v.name: (f'<div class="facelab-interactive" id="interactive-{html.escape(v.name)}">'
                      f'<p class="note">{v.intro}</p>{divs[v.name]}</div>') for v in views}, script)


def add_interactive(data, sections: list, *, views: Sequence[InteractiveView] | None = None) -> tuple:
    """``(sections, head, tail)``: ``sections`` with each view at the top of its section, the
    ``<head>`` addition (BokehJS) and the script to put at the end of ``<body>``.

    The page's sections decide: a view whose section the page does not have is left out (a page
    made of chosen sections gets only their views), and with no view left the page gets no script.
    """
    views = interactive_views(data) if views is None else list(views)
    present = {s.id for s in sections}
    views = [v for v in views if v.section in present]
    if not views:
        return list(sections), "", ""
    divs, script = render_views(views)
    blocks: dict = {}
    for v in views:  # views of one section stay in their order, above the section's own content
        blocks[v.section] = blocks.get(v.section, "") + divs[v.name]
    out = [s._replace(body=blocks[s.id] + s.body) if s.id in blocks else s for s in sections]
    return out, bokeh_head(), script
