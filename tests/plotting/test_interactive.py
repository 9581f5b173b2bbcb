"""Bokeh figures: ROC / DET hover data equal facelab.verification's curves, sortable tables, the
explorer layout's linked parts, offline standalone pages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from facelab import verification as V
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

    from facelab.plotting.explorer import explore_embeddings

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
