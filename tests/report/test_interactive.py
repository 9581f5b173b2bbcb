"""The report's interactive views (facelab.report.interactive) on the session's real two-ID report:
they show the report's own numbers, sit in their sections, and the static page stays possible."""

from __future__ import annotations

import numpy as np
import pytest

from facelab import verification as V
from facelab.report import html as H
from facelab.report.interactive import add_interactive, bokeh_head, interactive_views, report_explorer


@pytest.fixture(scope="module")
def views(two_id_data):
    return {v.name: v for v in interactive_views(two_id_data)}


def test_explorer_reuses_the_reports_chips_map_pairs_and_threshold(two_id_data):
    m = two_id_data.model
    ex = report_explorer(two_id_data)
    d = ex.data
    n = len(m.embeddings)
    assert len(d.image_ids) == n and d.n_thumbnails == n  # every face has its pipeline chip
    assert np.allclose(d.coords, m.projection.coords[:, :2]) and d.method.startswith("UMAP")
    # It opens at the model's threshold, on the slider's grid (where its counts and lines are exact).
    assert d.threshold == d.pairs.grid_threshold(m.threshold) == pytest.approx(m.threshold, abs=0.0005)
    # The slider counts the report's pairs: at each grid threshold, the same errors as confusion_at.
    p = d.pairs
    assert (p.n_genuine, p.n_impostor) == (int(m.pairs.same.sum()), int((~m.pairs.same).sum()))
    for t in (m.threshold, m.verification.eer_threshold, 0.3):
        k = p.index(t)
        c = V.confusion_at(m.scores, m.pairs.same, p.thresholds[k])
        assert p.far[k] == pytest.approx(c.far) and p.frr[k] == pytest.approx(c.frr)
    # Names shown are the dataset's display names, not folder ids.
    assert set(d.names) == {two_id_data.dataset.label(i) for i in set(d.identities)}


def test_curves_and_tables_hold_the_reports_values(two_id_data, views):
    m = two_id_data.model
    roc = views["roc-det"].model.children[0]
    src = roc.renderers[0].data_source.data
    r = V.roc(m.scores, m.pairs.same)
    keep = r.fpr > 0
    assert np.allclose(src["x"], r.fpr[keep]) and np.allclose(src["y"], r.tpr[keep])
    assert any("cosine threshold" in str(getattr(t, "tooltips", "")) for t in roc.tools)
    tt = views["thresholds"].model
    assert tt.sortable and list(tt.source.data["operating point"]) == list(m.verification.threshold_table().index)
    assert np.allclose(tt.source.data["cosine"], m.verification.threshold_table()["cosine"], equal_nan=True)
    sk = views["skipped"].model
    assert sk.sortable and list(sk.source.data["image or file"]) == list(map(str, m.skipped.image))
    assert [v.section for v in views.values()] == ["embedding-space", "verification", "verification", "skipped"]


def test_views_go_on_top_of_their_sections_and_static_stays_possible(two_id_data, tmp_path):
    figures = {}
    static = [s(two_id_data, figures) for s in H.SECTIONS]
    out, head, tail = add_interactive(two_id_data, static)
    assert [s.id for s in out] == [s.id for s in static]  # the nav is unchanged
    by_id = {s.id: s for s in out}
    ver = by_id["verification"].body
    assert ver.index("interactive-roc-det") < ver.index("interactive-thresholds") < ver.index("<table")
    assert by_id["embedding-space"].body.startswith('<div class="facelab-interactive" id="interactive-explorer">')
    assert head.startswith("<script>") and "src=" not in head.split("<style>")[0][:200]
    assert tail.startswith("<script") and "mathjax" not in head.lower()[:5000]
    # The page's sections decide: without "skipped", no skipped table; with none of them, no script.
    out2, _, tail2 = add_interactive(two_id_data, [s for s in static if s.id != "skipped"])
    assert [s.id for s in out2] == [s.id for s in static if s.id != "skipped"] and "facelab-skipped" not in tail2
    assert add_interactive(two_id_data, static[:1]) == (static[:1], "", "")

    page = H.render_page(two_id_data, figures)
    assert page.count(bokeh_head()[:200]) == 1  # BokehJS once, in the head
    assert page.index("BEGIN bokeh.min.js") < page.index("</head>")
    plain = H.render_page(two_id_data, figures, interactive=False)
    assert "<script" not in plain and "facelab-interactive" not in plain
