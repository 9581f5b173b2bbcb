"""Bokeh figures: ROC / DET hover data equal facelab.verification's curves, sortable tables, the
explorer layout's linked parts, offline standalone pages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from facelab import verification as V
from facelab.plotting.explorer import explore_embeddings
from facelab.plotting.interactive import (
    data_table,
    det_figure,
    roc_figure,
    standalone_html,
)


def _scores(seed=0):
    rng = np.random.default_rng(seed)
    same = np.r_[np.ones(200, bool), np.zeros(800, bool)]
    return np.where(same, rng.normal(0.7, 0.1, 1000), rng.normal(0.2, 0.15, 1000)), same


def _hover_source(fig):
    from bokeh.models import HoverTool

    hover = [t for t in fig.tools if isinstance(t, HoverTool)][0]
    return hover.renderers[0].data_source.data, dict(hover.tooltips)


def test_roc_figure_hover_values_are_the_roc():
    s, y = _scores()
    fig = roc_figure(s, y, name="m")
    data, tips = _hover_source(fig)
    r = V.roc(s, y)
    keep = r.fpr > 0
    assert np.allclose(data["x"], r.fpr[keep]) and np.allclose(data["y"], r.tpr[keep])
    assert np.allclose(data["threshold"], r.thresholds[keep])
    assert set(tips) == {"cosine threshold", "FAR", "TAR"}
    assert f"{r.auc:.4f}" in fig.title.text


def test_det_figure_hover_values_are_the_det():
    s, y = _scores(1)
    data, tips = _hover_source(det_figure(s, y))
    d = V.det(s, y)
    keep = (d.fpr > 0) & (d.fnr > 0)
    assert np.allclose(data["x"], d.fpr[keep]) and np.allclose(data["y"], d.fnr[keep])
    assert "FRR" in tips


def test_data_table_is_sortable_with_formatted_floats():
    from bokeh.models import NumberFormatter

    df = pd.DataFrame({"name": ["a", "b"], "far": [0.1234567, 0.5], "n": [3, 4]})
    t = data_table(df, digits=3)
    assert t.sortable and [c.field for c in t.columns] == ["name", "far", "n"]
    assert isinstance(t.columns[1].formatter, NumberFormatter) and t.columns[1].formatter.format == "0.000"
    assert list(t.source.data["far"]) == [0.1234567, 0.5]


def test_standalone_page_is_offline(tmp_path):
    s, y = _scores()
    html = standalone_html(roc_figure(s, y), title="roc")
    assert "<title>roc</title>" in html
    assert not re.search(r"""<(script|link)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", html)


def test_explorer_layout_links_slider_select_and_selection():
    from bokeh.models import CustomJS, Div, Select, Slider

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 3, 30)
    emb = rng.normal(size=(3, 8))[codes] + 0.7 * rng.normal(size=(30, 8))
    ex = explore_embeddings(emb, codes.astype(str), method="pca", threshold=0.4)
    lay = ex.build()
    slider = lay.select_one({"name": "facelab-threshold"})
    readout = lay.select_one({"name": "facelab-readout"})
    assert isinstance(slider, Slider) and slider.value == pytest.approx(0.4)
    assert isinstance(readout, Div)
    p = ex.data.pairs
    k = p.index(0.4)
    assert f"FAR {p.far[k]:.4f} ({p.n_false_accept[k]} of {p.n_impostor}" in readout.text
    assert isinstance(slider.js_property_callbacks["change:value"][0], CustomJS)
    select = [m for m in lay.select({"type": Select})][0]
    assert select.options == ["identity", "detection score", "alignment residual", "in a misjudged pair"]
    pts = lay.select_one({"name": "facelab-points"})
    src = pts.data_source
    assert "change:indices" in src.selected.js_property_callbacks
    # initial "misjudged" colours agree with the pair summary
    mis = (p.max_impostor >= 0.4) | (p.min_genuine < 0.4)
    assert [c == "#d62728" for c in src.data["color_mis"]] == mis.tolist()
    assert np.array_equal(src.data["nn0"], ex.data.neighbours.index[:, 0])


def _layout_parts(ex):
    from bokeh.models import GlyphRenderer, Segment

    lay = ex.build()
    slider = lay.select_one({"name": "facelab-threshold"})
    readout = lay.select_one({"name": "facelab-readout"})
    lines = [r for r in lay.select({"type": GlyphRenderer})
             if isinstance(r.glyph, Segment) and "color" in r.data_source.data]
    assert len(lines) == 1
    return lay, slider, readout, lines[0].data_source.data


def _off_grid_case():
    """60 faces of 6 people; pairs whose scores sit between a model threshold (0.2376, off the
    0.001 grid) and the grid point the slider snaps it to (0.238)."""
    rng = np.random.default_rng(3)
    n = 60
    ids = np.repeat([f"p{k}" for k in range(6)], 10)
    emb = rng.normal(size=(n, 16))
    i, j = np.triu_indices(n, 1)
    same = ids[i] == ids[j]
    scores = np.where(same, rng.normal(0.55, 0.2, i.size), rng.normal(0.05, 0.12, i.size)).clip(-1, 1)
    between = rng.choice(i.size, 40, replace=False)  # genuine and impostor pairs between 0.2376 and 0.238
    scores[between] = rng.uniform(0.2377, 0.2379, between.size)
    return emb, ids, (i, j), scores, same


def test_lines_and_their_count_use_one_threshold_and_start_with_the_hardest_few():
    emb, ids, pairs, scores, same = _off_grid_case()
    ex = explore_embeddings(emb, ids, pairs=pairs, pair_scores=scores, threshold=0.2376, method="pca")
    _, slider, readout, segs = _layout_parts(ex)
    t = float(slider.value)
    shown = float(re.search(r"cosine &ge; ([0-9.\-]+)", readout.text).group(1))
    assert shown == pytest.approx(t, abs=5e-4)
    wrong = (same & (scores < t)) | (~same & (scores >= t))
    drawn, counted = map(int, re.search(r"lines: (\d+) of (\d+) misjudged", readout.text).groups())
    assert counted == int(wrong.sum()) > 10  # the count is at the slider's threshold
    assert drawn == len(segs["x0"]) == 10  # the hardest few by default, not every misjudged pair
    # every line drawn is a pair misjudged at that same threshold
    xy = ex.data.coords
    ends = {(tuple(xy[a]), tuple(xy[b])) for a, b, w in zip(*pairs, wrong) if w}
    for x0, y0, x1, y1 in zip(segs["x0"], segs["y0"], segs["x1"], segs["y1"]):
        assert ((x0, y0), (x1, y1)) in ends


def test_lines_drawn_control_and_the_hardest_first():
    from bokeh.models import Spinner

    from facelab.plotting.interactive import MAX_LINES

    emb, ids, pairs, scores, same = _off_grid_case()
    ex = explore_embeddings(emb, ids, pairs=pairs, pair_scores=scores, threshold=0.2376, method="pca")
    lay, slider, readout, segs = _layout_parts(ex)
    spin = lay.select_one({"name": "facelab-lines-drawn"})
    assert isinstance(spin, Spinner) and spin.value == MAX_LINES == 10
    assert spin.high == len(ex.data.pairs.hardest)  # every kept candidate can be asked for
    assert spin.js_property_callbacks["change:value"][0] is slider.js_property_callbacks["change:value"][0]
    # the lines drawn are the hardest: the farthest on the wrong side of the threshold
    t = float(slider.value)
    wrong = (same & (scores < t)) | (~same & (scores >= t))
    margin = np.where(same, t - scores, scores - t)[wrong]
    drawn = ex.data.pairs.misjudged_pairs(t, limit=10)
    np.testing.assert_allclose(np.sort(drawn.margin.to_numpy())[::-1], np.sort(margin)[::-1][:10])
    # asked for more at build time: more lines, never more than the misjudged pairs
    ex_all = explore_embeddings(emb, ids, pairs=pairs, pair_scores=scores, threshold=0.2376, method="pca",
                                max_lines=10_000)
    _, _, readout_all, segs_all = _layout_parts(ex_all)
    assert len(segs_all["x0"]) == int(wrong.sum())
    assert f"lines: {int(wrong.sum())} of {int(wrong.sum())} misjudged" in readout_all.text


def test_category_colour_modes():
    """Extra colour modes (an audit's flags): a menu entry, a legend and a hover line each; "" is grey."""
    from bokeh.models import Div, HoverTool

    from facelab.core.errors import EvaluationError
    from facelab.plotting.interactive import NAN_COLOR

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 3, 30)
    emb = rng.normal(size=(3, 8))[codes] + 0.7 * rng.normal(size=(30, 8))
    flags = np.where(np.arange(30) % 7 == 0, "mislabel", "")
    flags[5] = "outlier"
    ex = explore_embeddings(emb, codes.astype(str), method="pca", categories={"audit flag": flags}, colour="audit flag")
    lay = ex.build()
    select = lay.select_one({"name": "facelab-colour"})
    assert select.options[-1] == "audit flag" and select.value == "audit flag"
    src = lay.select_one({"name": "facelab-points"}).data_source.data
    assert src["color"] == src["color_cat0"]  # the page opens in that mode
    colours = dict(zip(flags, src["color_cat0"]))
    assert colours[""] == NAN_COLOR and len({colours["mislabel"], colours["outlier"], NAN_COLOR}) == 3
    assert src["cat0"][5] == "outlier" and src["cat0"][1] == "none"
    legend = lay.select_one({"name": "facelab-legend-0"})
    assert isinstance(legend, Div) and legend.visible and "mislabel" in legend.text and "outlier" in legend.text
    hover = [t for t in lay.select({"type": HoverTool}) if "@cat0" in str(t.tooltips)]
    assert hover and "audit flag: @cat0" in hover[0].tooltips
    # The identity legend is hidden while another mode is shown; the select callback switches them.
    cb = select.js_property_callbacks["change:value"][0]
    assert cb.args["cat_labels"] == ["audit flag"] and cb.args["cat_legends"] == [legend]
    with pytest.raises(EvaluationError, match="expected 30 values"):
        explore_embeddings(emb, codes.astype(str), method="pca", categories={"x": flags[:3]})
    with pytest.raises(EvaluationError, match="colour must be"):
        explore_embeddings(emb, codes.astype(str), method="pca", colour="cluster")
