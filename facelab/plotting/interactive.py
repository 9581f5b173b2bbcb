"""Interactive (Bokeh) figures: the embedding explorer, ROC / DET with hover values, sortable tables.

Each function returns Bokeh models; :func:`standalone_html` makes one offline page of them
(BokehJS inlined with :data:`bokeh.resources.INLINE`, images as ``data:`` URIs: it opens from disk
with no network). In JupyterLab, display them with ``jupyter_bokeh.BokehModel(model)`` (or
:class:`facelab.plotting.explorer.Explorer`, which does it for you).

The numbers come from :mod:`facelab.verification` (the explorer's from
:mod:`facelab.verification.pair_summary`); the only JavaScript is a few small ``CustomJS`` callbacks
that look up precomputed values and copy rows between data sources.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from facelab.verification.pair_summary import GRID_STEP, grid_positions

__all__ = [
    "COLOR_MODES",
    "MAX_LINES",
    "MISJUDGED_COLOR",
    "OTHER_COLOR",
    "data_table",
    "det_figure",
    "explorer_layout",
    "load_bokehjs",
    "notebook_widget",
    "roc_figure",
    "standalone_html",
]

MISJUDGED_COLOR = "#d62728"
OTHER_COLOR = "#c7c7c7"
FALSE_ACCEPT_COLOR = "#d62728"
FALSE_REJECT_COLOR = "#ff7f0e"
NAN_COLOR = "#eeeeee"
#: Select label -> data-source colour column.
COLOR_MODES = {"identity": "color_identity", "detection score": "color_det", "alignment residual": "color_res",
               "in a misjudged pair": "color_mis"}
MAX_LISTED = 500  # rows a lasso lists in the table (the count says how many were selected)
#: Misjudged pairs the explorer draws as lines when it opens, the hardest first: on a set of a few
#: hundred faces there are hundreds, and that many lines hide the map. The page's "lines drawn"
#: box asks for more.
MAX_LINES = 10


def standalone_html(models, *, title: str = "facelab") -> str:
    """One self-contained HTML page of Bokeh models (BokehJS inlined; no network request)."""
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    return file_html(models, INLINE, title=title)


def _thumb_formatter(height: int = 32):
    from bokeh.models import HTMLTemplateFormatter

    return HTMLTemplateFormatter(template=f'<img src="<%= value %>" style="height:{height}px;width:{height}px">')


def data_table(df: pd.DataFrame, *, formatters: Mapping | None = None, width: int = 700, height: int = 260,
               digits: int = 4, titles: Mapping[str, str] | None = None, **kwargs):
    """A sortable :class:`bokeh.models.DataTable` of a DataFrame (click a header to sort).

    Float columns are shown with ``digits`` decimals; ``formatters`` maps column -> Bokeh
    ``CellFormatter`` (e.g. an ``HTMLTemplateFormatter`` for ``data:`` image columns).
    """
    from bokeh.models import (
        ColumnDataSource,
        DataTable,
        NumberFormatter,
        StringFormatter,
        TableColumn,
    )

    df = df.reset_index(drop=True)
    src = ColumnDataSource({str(c): (df[c].to_numpy() if df[c].dtype.kind in "fiub" else df[c].astype(str).tolist())
                            for c in df.columns})
    cols = []
    for c in df.columns:
        c = str(c)
        fmt = (formatters or {}).get(c)
        if fmt is None:
            fmt = NumberFormatter(format="0." + "0" * digits) if df[c].dtype.kind == "f" else StringFormatter()
        cols.append(TableColumn(field=c, title=(titles or {}).get(c, c), formatter=fmt))
    return DataTable(source=src, columns=cols, width=width, height=height, sortable=True, index_position=None,
                     **kwargs)


def _curve_figure(x, y, thr, *, title, x_label, y_label, name, log_x, log_y, width, height, hover_names):
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    src = ColumnDataSource({"x": x, "y": y, "threshold": thr})
    fig = figure(width=width, height=height, title=title, x_axis_label=x_label, y_axis_label=y_label,
                 x_axis_type="log" if log_x else "linear", y_axis_type="log" if log_y else "linear",
                 tools="pan,wheel_zoom,box_zoom,reset,save")
    line = fig.line("x", "y", source=src, line_width=2, legend_label=name)
    fig.add_tools(HoverTool(renderers=[line], mode="vline" if not log_x else "mouse", line_policy="nearest",
                            tooltips=[("cosine threshold", "@threshold{0.0000}"), (hover_names[0], "@x{0.0000}"),
                                      (hover_names[1], "@y{0.0000}")]))
    fig.legend.location = "bottom_right"
    return fig


def roc_figure(scores, same, *, name: str = "ROC", log_far: bool = True, width: int = 460, height: int = 380):
    """ROC (TAR against FAR) with a hover showing threshold, FAR and TAR at each point.

    On a log FAR axis, points with FAR = 0 cannot be drawn and are left out.
    """
    from facelab import verification as V

    r = V.roc(scores, same)
    thr = np.where(np.isfinite(r.thresholds), r.thresholds, np.nan)
    keep = r.fpr > 0 if log_far else np.ones(r.fpr.size, bool)
    return _curve_figure(r.fpr[keep], r.tpr[keep], thr[keep], title=f"ROC (AUC {r.auc:.4f})",
                         x_label="false accept rate (FAR)", y_label="true accept rate (TAR)", name=name,
                         log_x=log_far, log_y=False, width=width, height=height, hover_names=("FAR", "TAR"))


def det_figure(scores, same, *, name: str = "DET", width: int = 460, height: int = 380):
    """DET (FRR against FAR, both log) with hover values; points where either rate is 0 are left out."""
    from facelab import verification as V

    d = V.det(scores, same)
    keep = (d.fpr > 0) & (d.fnr > 0)
    return _curve_figure(d.fpr[keep], d.fnr[keep], d.thresholds[keep], title="DET", x_label="false accept rate (FAR)",
                         y_label="false reject rate (FRR)", name=name, log_x=True, log_y=True, width=width,
                         height=height, hover_names=("FAR", "FRR"))


def _continuous_colors(values: np.ndarray, palette) -> tuple[list, float, float]:
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return [NAN_COLOR] * v.size, 0.0, 1.0
    lo, hi = float(v[ok].min()), float(v[ok].max())
    span = hi - lo or 1.0
    k = np.clip(((np.where(ok, v, lo) - lo) / span * (len(palette) - 1)).round().astype(int), 0, len(palette) - 1)
    return [palette[i] if good else NAN_COLOR for i, good in zip(k, ok)], lo, hi


def _identity_colors(identities: np.ndarray, *, blank: str | None = None) -> tuple[list, dict]:
    """A categorical colour per value (``blank``: the colour of ``""``, a face in no category)."""
    from bokeh.palettes import Category10_10, Category20_20

    uniq = sorted(set(identities.tolist()) - ({""} if blank else set()))
    pal = Category10_10 if len(uniq) <= 10 else Category20_20
    cmap = {u: pal[n % len(pal)] for n, u in enumerate(uniq)}
    if blank:
        cmap[""] = blank
    return [cmap[i] for i in identities], cmap


def _swatches(cmap: Mapping, label, *, limit: int = 20) -> str:
    """A legend: a coloured square and a label per entry (the first ``limit``)."""
    items = "".join(f'<span style="white-space:nowrap;margin-right:8px"><span style="display:inline-block;'
                    f'width:10px;height:10px;background:{c};margin-right:3px"></span>{_esc(label(u))}</span> '
                    for u, c in list(cmap.items())[:limit])
    more = f" and {len(cmap) - limit} more (colours repeat)" if len(cmap) > limit else ""
    return f'<div style="font-size:12px;max-width:300px">{items}{more}</div>'



def _fmt_readout(p, t: float, drawn: int) -> str:
    # Same text as the slider's CustomJS writes (kept in step by the browser test), at the grid
    # threshold the counts are exact at.
    k = p.index(t)
    t = float(p.thresholds[k])
    nfa, nfr = int(p.n_false_accept[k]), int(p.n_false_reject[k])
    far, frr = nfa / max(p.n_impostor, 1), nfr / max(p.n_genuine, 1)
    acc = 1 - (nfa + nfr) / max(p.n_impostor + p.n_genuine, 1)
    return (f"<b>same person when cosine &ge; {t:.3f}</b><br>FAR {far:.4f} ({nfa} of {p.n_impostor} impostor pairs)"
            f"<br>FRR {frr:.4f} ({nfr} of {p.n_genuine} genuine pairs)<br>accuracy {acc:.4f}"
            f"<br>lines: {drawn} of {nfa + nfr} misjudged pairs (hardest first)")


_READOUT_JS = """
// One threshold for everything: the grid point k of the slider's value (the counts are exact
// there); a pair or face is judged by its precomputed grid position, as in Python.
const k = Math.max(0, Math.min(nfa_all.length - 1, Math.round((slider.value + 1) / step)));
const t = Math.round((-1 + k * step) * 1e6) / 1e6;
const nfa = nfa_all[k], nfr = nfr_all[k];
const far = nfa / Math.max(n_imp, 1), frr = nfr / Math.max(n_gen, 1);
const acc = 1 - (nfa + nfr) / Math.max(n_imp + n_gen, 1);
const c = cand.data;
const d = src.data;
const wrong = [];
for (let r = 0; r < c.score.length; r++) {
  if (c.same[r] == 1 ? c.pos[r] < k : c.pos[r] >= k) wrong.push(r);
}
const margin = (r) => c.same[r] == 1 ? t - c.score[r] : c.score[r] - t;
wrong.sort((a, b) => (margin(b) - margin(a)) || (a - b));  // hardest first, ties in list order
const n_lines = Math.max(0, Math.floor(Number(lines.value) || 0));
const seg = {x0: [], y0: [], x1: [], y1: [], color: [], dash: []};
for (const r of wrong.slice(0, n_lines)) {
  const same = c.same[r] == 1;
  seg.x0.push(c.x0[r]); seg.y0.push(c.y0[r]); seg.x1.push(c.x1[r]); seg.y1.push(c.y1[r]);
  seg.color.push(same ? fr_color : fa_color); seg.dash.push(same ? 'dashed' : 'solid');
}
const fl = {kind: [], score: [], a_thumb: [], b_thumb: [], a_id: [], b_id: [], a_name: [], b_name: []};
for (const r of wrong.slice(0, max_failures)) {
  const a = c.a[r], b = c.b[r];
  fl.kind.push(c.same[r] == 1 ? 'false reject' : 'false accept'); fl.score.push(c.score[r]);
  fl.a_thumb.push(d.thumb[a]); fl.b_thumb.push(d.thumb[b]);
  fl.a_id.push(d.image_id[a]); fl.b_id.push(d.image_id[b]); fl.a_name.push(d.name[a]); fl.b_name.push(d.name[b]);
}
segs.data = seg;
fails.data = fl;
const mis = Array.from(d.color_mis);
for (let i = 0; i < mis.length; i++) {
  mis[i] = (d.pos_imp[i] >= k || d.pos_gen[i] < k) ? mis_color : other_color;
}
d.color_mis = mis;
if (mode.value == 'in a misjudged pair') { d.color = mis.slice(); }
src.change.emit();
readout.text = '<b>same person when cosine &ge; ' + t.toFixed(3) + '</b>'
  + '<br>FAR ' + far.toFixed(4) + ' (' + nfa + ' of ' + n_imp + ' impostor pairs)'
  + '<br>FRR ' + frr.toFixed(4) + ' (' + nfr + ' of ' + n_gen + ' genuine pairs)'
  + '<br>accuracy ' + acc.toFixed(4)
  + '<br>lines: ' + seg.x0.length + ' of ' + (nfa + nfr) + ' misjudged pairs (hardest first)';
"""

_COLOR_JS = """
const d = src.data;
d.color = Array.from(d[columns[labels.indexOf(select.value)]]);
src.change.emit();
bar_det.visible = select.value == 'detection score';
bar_res.visible = select.value == 'alignment residual';
legend.visible = select.value == 'identity';
for (let c = 0; c < cat_labels.length; c++) cat_legends[c].visible = select.value == cat_labels[c];
"""

_SELECT_JS = """
const idx = src.selected.indices;
const d = src.data;
const sel = {thumb: [], image_id: [], name: [], det: [], res: []};
for (const i of idx.slice(0, max_listed)) {
  sel.thumb.push(d.thumb[i]); sel.image_id.push(d.image_id[i]); sel.name.push(d.name[i]);
  sel.det.push(d.det[i]); sel.res.push(d.res[i]);
}
seltab.data = sel;
seldiv.text = '<b>Selection</b>: ' + idx.length + ' faces'
  + (idx.length > max_listed ? ' (the first ' + max_listed + ' listed)' : '')
  + (idx.length ? '' : ' (lasso or box-select on the map)');
const nn = {x: [], y: [], rank: [], thumb: [], image_id: [], name: [], cosine: [], same: []};
const link = {x0: [], y0: [], x1: [], y1: []};
if (idx.length == 1) {
  const i = idx[0];
  for (let r = 0; r < k; r++) {
    const j = d['nn' + r][i];
    nn.x.push(d.x[j]); nn.y.push(d.y[j]); nn.rank.push(r + 1); nn.thumb.push(d.thumb[j]);
    nn.image_id.push(d.image_id[j]); nn.name.push(d.name[j]); nn.cosine.push(d['nc' + r][i]);
    nn.same.push(d.identity[j] == d.identity[i] ? 'same person' : 'DIFFERENT person');
    link.x0.push(d.x[i]); link.y0.push(d.y[i]); link.x1.push(d.x[j]); link.y1.push(d.y[j]);
  }
  nndiv.text = '<b>' + k + ' nearest neighbours of ' + d.image_id[i] + '</b> (' + d.name[i]
    + ') in embedding space, circled on the map';
} else {
  nndiv.text = '<b>Nearest neighbours</b>: click a face on the map';
}
nnsrc.data = nn;
links.data = link;
"""


def explorer_layout(data, *, width: int = 720, height: int = 560, point_size: float = 8, max_failures: int = 40,
                    max_lines: int = MAX_LINES):
    """The explorer page of an :class:`facelab.plotting.explorer.ExplorerData` (see :func:`facelab.plotting.explorer.explore`).

    Map (hover: thumbnail, image id, identity, detection score, residual; click: nearest
    neighbours circled and listed; lasso / box: the selection table), a colour Select, the
    threshold Slider with its FAR/FRR readout, the hardest misjudged pairs drawn as lines
    (``max_lines`` when the page opens; the "lines drawn" box changes it), and the failure list.
    The slider, readout, lines and colours use one threshold: the grid point of the slider.
    """
    from bokeh.layouts import column, row
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        CustomJS,
        DataTable,
        Div,
        HoverTool,
        LinearColorMapper,
        NumberFormatter,
        Select,
        Slider,
        Spinner,
        StringFormatter,
        TableColumn,
    )
    from bokeh.palettes import Cividis256, Viridis256
    from bokeh.plotting import figure

    n = len(data.image_ids)
    p = data.pairs
    t0 = p.grid_threshold(data.threshold)  # the one threshold of the page (counts are exact on the grid)
    xy = np.asarray(data.coords, dtype=float)
    ident_colors, cmap = _identity_colors(data.identities)
    det_colors, det_lo, det_hi = _continuous_colors(data.detection_scores, Viridis256)
    res_colors, res_lo, res_hi = _continuous_colors(data.residuals, Cividis256)
    mis = p.misjudged_faces(t0)
    mis_colors = np.where(mis, MISJUDGED_COLOR, OTHER_COLOR).tolist()
    cols = {
        "x": xy[:, 0], "y": xy[:, 1], "image_id": data.image_ids.tolist(), "identity": data.identities.tolist(),
        "name": data.names.tolist(), "thumb": list(data.thumbs), "det": np.asarray(data.detection_scores, float),
        "res": np.asarray(data.residuals, float), "color_identity": ident_colors,
        "color_det": det_colors, "color_res": res_colors, "color_mis": mis_colors,
        # grid positions of each face's hardest impostor / genuine score (-1 / grid size: none)
        "pos_imp": grid_positions(p.max_impostor).astype(np.int32),
        "pos_gen": grid_positions(p.min_genuine).astype(np.int32),
    }
    # Extra colour modes (an audit's flags, clusters): a colour column each, and the value for the hover.
    modes = dict(COLOR_MODES)
    cat_maps = []
    categories = data.categories
    for c, (label, values) in enumerate(categories.items()):
        colors, cat_map = _identity_colors(np.asarray(values, dtype=object).astype(str), blank=NAN_COLOR)
        modes[label] = f"color_cat{c}"
        cols[f"color_cat{c}"] = colors
        cols[f"cat{c}"] = [v or "none" for v in np.asarray(values, dtype=object).astype(str)]
        cat_maps.append(cat_map)
    start = data.colour
    cols["color"] = list(cols[modes[start]])
    k = data.neighbours.index.shape[1]
    for r in range(k):
        cols[f"nn{r}"] = data.neighbours.index[:, r].astype(np.int32)
        cols[f"nc{r}"] = data.neighbours.cosine[:, r]
    src = ColumnDataSource(cols)

    h = p.hardest
    hi_, hj = h["i"].to_numpy(), h["j"].to_numpy()
    cand = ColumnDataSource({
        "score": h["score"].to_numpy(), "same": h["same"].to_numpy().astype(np.int8),
        "pos": grid_positions(h["score"].to_numpy()).astype(np.int32),
        "x0": xy[hi_, 0], "y0": xy[hi_, 1], "x1": xy[hj, 0], "y1": xy[hj, 1],
        "a": hi_.astype(np.int32), "b": hj.astype(np.int32),  # rows of src: thumbnails are not repeated
    })
    max_lines = int(min(max(max_lines, 0), len(h)))
    drawn = p.misjudged_pairs(t0, limit=max_lines)  # hardest first, judged as the counts are
    li, lj, lsame = drawn["i"].to_numpy(), drawn["j"].to_numpy(), drawn["same"].to_numpy(bool)
    segs = ColumnDataSource({"x0": xy[li, 0], "y0": xy[li, 1], "x1": xy[lj, 0], "y1": xy[lj, 1],
                             "color": np.where(lsame, FALSE_REJECT_COLOR, FALSE_ACCEPT_COLOR).tolist(),
                             "dash": np.where(lsame, "dashed", "solid").tolist()})
    worst = p.misjudged_pairs(t0, limit=max_failures)
    fi, fj, fsame = worst["i"].to_numpy(), worst["j"].to_numpy(), worst["same"].to_numpy(bool)
    fails = ColumnDataSource({
        "kind": np.where(fsame, "false reject", "false accept").tolist(), "score": worst["score"].to_numpy(),
        "a_thumb": [data.thumbs[i] for i in fi], "b_thumb": [data.thumbs[j] for j in fj],
        "a_id": data.image_ids[fi].tolist(), "b_id": data.image_ids[fj].tolist(),
        "a_name": data.names[fi].tolist(), "b_name": data.names[fj].tolist()})

    fig = figure(width=width, height=height, title=f"{data.title} -- {data.method}",
                 tools="pan,wheel_zoom,box_zoom,lasso_select,box_select,tap,reset,save",
                 active_scroll="wheel_zoom", match_aspect=False, name="facelab-map")
    fig.xaxis.visible = fig.yaxis.visible = False
    fig.grid.visible = False
    fig.segment("x0", "y0", "x1", "y1", source=segs, line_color="color", line_dash="dash", line_width=1.2,
                line_alpha=0.7, name="facelab-lines")
    pts = fig.scatter("x", "y", source=src, name="facelab-points", size=point_size, fill_color="color", line_color="white",
                      line_width=0.5, fill_alpha=0.9, nonselection_fill_alpha=0.25, nonselection_line_alpha=0.25,
                      selection_line_color="black", selection_line_width=1.5)
    nnsrc = ColumnDataSource({k_: [] for k_ in ("x", "y", "rank", "thumb", "image_id", "name", "cosine", "same")})
    links = ColumnDataSource({k_: [] for k_ in ("x0", "y0", "x1", "y1")})
    fig.segment("x0", "y0", "x1", "y1", source=links, line_color="black", line_width=1, line_alpha=0.6)
    fig.scatter("x", "y", source=nnsrc, size=point_size + 8, fill_alpha=0, line_color="black", line_width=2)
    size = int(data.thumb_size)
    fig.add_tools(HoverTool(renderers=[pts], tooltips=f"""
<div style="display:flex;gap:6px;align-items:flex-start;max-width:260px">
  <img class="facelab-thumb" src="@thumb" width="{size}" height="{size}" alt="">
  <div style="font-size:12px;line-height:1.3">
    <div><b>@image_id</b></div><div>@name</div>
    <div>detection score: @det{{0.000}}</div><div>alignment residual: @res{{0.00}} px</div>
    {"".join(f"<div>{_esc(label)}: @cat{c}</div>" for c, label in enumerate(categories))}
  </div>
</div>"""))
    det_bar = ColorBar(color_mapper=LinearColorMapper(palette=Viridis256, low=det_lo, high=det_hi),
                       title="detection score", visible=False, width=10)
    res_bar = ColorBar(color_mapper=LinearColorMapper(palette=Cividis256, low=res_lo, high=res_hi),
                       title="alignment residual (px)", visible=False, width=10)
    fig.add_layout(det_bar, "right")
    fig.add_layout(res_bar, "right")

    legend = Div(text=_swatches(cmap, lambda u: data.names[data.identities == u][0]), width=300,
                 visible=start == "identity")
    cat_legends = [Div(text=_swatches(m, lambda u: u or "none"), width=300, visible=start == label,
                       name=f"facelab-legend-{c}") for c, (label, m) in enumerate(zip(categories, cat_maps))]

    select = Select(title="colour by", value=start, options=list(modes), width=220, name="facelab-colour")
    select.js_on_change("value", CustomJS(args=dict(src=src, select=select, labels=list(modes),
                                                    columns=list(modes.values()), bar_det=det_bar,
                                                    bar_res=res_bar, legend=legend, cat_labels=list(categories),
                                                    cat_legends=cat_legends), code=_COLOR_JS))
    # The slider's range: the scores' (on the grid), stretched to hold the starting threshold.
    lo = max(-1.0, min(np.floor(p.score_min / GRID_STEP) * GRID_STEP, t0))
    hi = min(1.0, max(np.ceil(p.score_max / GRID_STEP) * GRID_STEP, t0))
    if hi <= lo:
        hi = min(1.0, lo + GRID_STEP)
    slider = Slider(title="threshold (cosine)", start=round(lo, 6), end=round(hi, 6), step=GRID_STEP,
                    value=t0, format="0.000", width=300, name="facelab-threshold")
    lines = Spinner(title="lines drawn (hardest misjudged pairs)", low=0, high=len(h), step=1, value=max_lines,
                    width=220, name="facelab-lines-drawn")
    readout = Div(text=_fmt_readout(p, t0, len(drawn)), width=300, name="facelab-readout")
    redraw = CustomJS(args=dict(
        slider=slider, lines=lines, step=GRID_STEP, nfa_all=p.n_false_accept.astype(np.int64).tolist(),
        nfr_all=p.n_false_reject.astype(np.int64).tolist(), n_imp=p.n_impostor, n_gen=p.n_genuine, cand=cand,
        segs=segs, fails=fails, src=src, mode=select, readout=readout, mis_color=MISJUDGED_COLOR,
        other_color=OTHER_COLOR, fa_color=FALSE_ACCEPT_COLOR, fr_color=FALSE_REJECT_COLOR, max_failures=max_failures),
        code=_READOUT_JS)
    slider.js_on_change("value", redraw)
    lines.js_on_change("value", redraw)

    thumb_fmt = _thumb_formatter(min(size, 40))
    num4 = NumberFormatter(format="0.0000")
    nn_table = DataTable(source=nnsrc, columns=[
        TableColumn(field="rank", title="#", width=30), TableColumn(field="thumb", title="face", formatter=thumb_fmt,
                                                                     width=50, sortable=False),
        TableColumn(field="image_id", title="image"), TableColumn(field="name", title="identity"),
        TableColumn(field="cosine", title="cosine", formatter=num4, width=70),
        TableColumn(field="same", title="same person?", formatter=StringFormatter())],
        width=560, height=min(60 + 44 * k, 300), row_height=44, index_position=None, sortable=True)
    nndiv = Div(text="<b>Nearest neighbours</b>: click a face on the map", width=560)
    seltab_src = ColumnDataSource({k_: [] for k_ in ("thumb", "image_id", "name", "det", "res")})
    sel_table = DataTable(source=seltab_src, columns=[
        TableColumn(field="thumb", title="face", formatter=thumb_fmt, width=50, sortable=False),
        TableColumn(field="image_id", title="image"), TableColumn(field="name", title="identity"),
        TableColumn(field="det", title="detection score", formatter=NumberFormatter(format="0.000"), width=90),
        TableColumn(field="res", title="residual (px)", formatter=NumberFormatter(format="0.00"), width=80)],
        width=560, height=300, row_height=44, index_position=None, sortable=True)
    seldiv = Div(text="<b>Selection</b>: 0 faces (lasso or box-select on the map)", width=560)
    src.selected.js_on_change("indices", CustomJS(args=dict(
        src=src, seltab=seltab_src, seldiv=seldiv, nnsrc=nnsrc, links=links, nndiv=nndiv, k=k,
        max_listed=MAX_LISTED), code=_SELECT_JS))
    fail_table = DataTable(source=fails, columns=[
        TableColumn(field="kind", title="mistake", width=90), TableColumn(field="score", title="cosine",
                                                                          formatter=num4, width=70),
        TableColumn(field="a_thumb", title="face 1", formatter=thumb_fmt, width=50, sortable=False),
        TableColumn(field="a_id", title="image 1"), TableColumn(field="a_name", title="identity 1"),
        TableColumn(field="b_thumb", title="face 2", formatter=thumb_fmt, width=50, sortable=False),
        TableColumn(field="b_id", title="image 2"), TableColumn(field="b_name", title="identity 2")],
        width=width + 320, height=300, row_height=44, index_position=None, sortable=True)
    note = Div(text=(f'<div style="font-size:12px;color:#555;max-width:300px">{n} faces; thumbnails for '
                     f'{data.n_thumbnails} ({size} px). Hover a face for its details; click one for its nearest '
                     f'neighbours; lasso or box-select (toolbar) to list faces. Lines: the hardest misjudged pairs at '
                     f'the threshold, false accepts solid red, false rejects dashed orange; "lines drawn" '
                     f'shows more (up to {len(h)}).</div>'), width=300)
    controls = column(select, slider, readout, lines, legend, *cat_legends, note, width=320)
    fail_div = Div(text=f"<b>Failures at this threshold</b>: the {max_failures} hardest pairs on the wrong side "
                        "(click a header to sort)", width=width + 320)
    return column(row(fig, controls), row(column(nndiv, nn_table), column(seldiv, sel_table)), fail_div, fail_table)


def _esc(s) -> str:
    import html

    return html.escape(str(s))


_BOKEHJS_LOADED = False


def load_bokehjs(*, force: bool = False) -> None:
    """Load BokehJS into the notebook page, once per kernel (``output_notebook`` with the
    inlined resources: no network). ``jupyter_bokeh``'s widget view needs it in the page."""
    global _BOKEHJS_LOADED
    if _BOKEHJS_LOADED and not force:
        return
    from bokeh.io import output_notebook
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)
    _BOKEHJS_LOADED = True


def notebook_widget(model):
    """A Bokeh model as a ``jupyter_bokeh.BokehModel`` ipywidget, for JupyterLab 4.

    Works offline: BokehJS is put in the page once per kernel by :func:`load_bokehjs` (an output
    of the same cell, executed by the ``jupyter_bokeh`` lab extension), then the widget renders
    the model and its ``CustomJS`` callbacks run in the page as in the standalone file. After a
    page reload, rerun the cell (widget views are not saved in the notebook).
    """
    from jupyter_bokeh import BokehModel

    load_bokehjs()
    return BokehModel(model, combine_events=True)
