"""The report page: one function per section, assembled by :func:`render_page`.

Each section function takes the :class:`~facelab.report.compute.ReportData` and the figures as
written (:func:`facelab.report.files.write_figures`) and returns a :class:`Section` -- its id,
title and HTML -- or None when the report has nothing for it (the distractor curve without
distractors). The page builds its navigation from those tuples (it never parses its own HTML).
Figures are inlined as data URIs (PNG plots, JPEG photographs) at the size they are shown, so
``index.html`` opens from disk on its own; each ``<img>`` names its file in ``data-file``.

To add a section: write ``fn(data, figures) -> Section | None`` and put it in :data:`SECTIONS` /
:data:`MULTI_SECTIONS` (or in :func:`page_sections`, for one that depends on the data).

Long lists (the identities, skipped images) are plain HTML tables in a scrolling box; with
``interactive`` a few lines of script (:data:`facelab.report.sortable.TABLE_JS`) make every ``table.sortable`` sortable by
a click on its header and searchable by the box above it. The full lists are also CSV files
beside the page.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from facelab.report.page import render_shell
from facelab.report.sortable import TABLE_JS, sortable_table

__all__ = ["Section", "SECTIONS", "render_page", "summary", "identities", "faces", "dataset_health", "verification",
           "identification", "distractors", "embedding_space", "failures", "skipped", "provenance", "comparison",
           "MULTI_SECTIONS", "page_sections"]


class Section(NamedTuple):
    """One section of the page: ``<section id=id><h2>title</h2>body</section>``."""

    id: str
    title: str
    body: str


# ------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def _table(df: pd.DataFrame, *, index: bool = True, float_format="{:.4f}".format, classes: str = "") -> str:
    # In a box of its own that scrolls sideways: a table wider than its section (long ids, many
    # columns) must not widen the page.
    table = df.to_html(index=index, float_format=float_format, na_rep="—", border=0, classes=f"tbl {classes}",
                       escape=True)
    return f'<div class="wide">{table}</div>'


def _fmt(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}f}"


def _kpis(items) -> str:
    return '<div class="kpis">' + "".join(
        f'<div class="kpi"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for k, v in items
    ) + "</div>"


def _figure(fig) -> str:
    """A written figure, inlined, shown at its size (``width``/``height``: CSS pixels)."""
    b64 = base64.b64encode(fig.data).decode()
    cap = f"<figcaption>{html.escape(fig.caption)}</figcaption>" if fig.caption else ""
    cls = ' class="half"' if fig.half else ""
    size = f' width="{fig.width}" height="{fig.height}"' if fig.width else ""
    return (f'<figure{cls}><img src="data:{fig.mime};base64,{b64}"{size} alt="{html.escape(fig.caption or fig.name)}" '
            f'data-file="{fig.path}">{cap}</figure>')


def _figures_of(figures: Mapping, section_id: str) -> str:
    return "".join(_figure(f) for f in figures.values() if f.section == section_id)


# Several models: each section shows a block per model, built by the one-model section itself.


def _slug(name) -> str:
    from facelab.report.figures import _slug as slug

    return slug(name)


def _one(data, m):
    """``data`` as a report of model ``m`` alone (for the one-model section functions)."""
    return dataclasses.replace(data, models=[m], comparisons=[])


def _model_figures(figures: Mapping, section_id: str, m) -> str:
    end = f"_{_slug(m.name)}"
    return "".join(_figure(f) for f in figures.values() if f.section == section_id and f.name.endswith(end))


def _shared_figures(figures: Mapping, section_id: str, data) -> str:
    ends = tuple(f"_{_slug(m.name)}" for m in data.models)
    return "".join(_figure(f) for f in figures.values() if f.section == section_id and not f.name.endswith(ends))


def _per_model(fn, data, figures: Mapping, section_id: str, *, intro: str = "") -> str:
    """A block per model: ``fn``'s body for that model alone, then that model's figures."""
    out = [intro, _shared_figures(figures, section_id, data)]
    for m in data.models:
        out.append(f"<h3>{html.escape(m.name)}</h3>" + _model_figures(figures, section_id, m)
                   + fn(_one(data, m), {}).body)
    return "".join(out)


def _tar(rep, far: float):
    for p in rep.tar_at_far:
        if math.isclose(p.far, far):
            return p.tar
    return None


# ------------------------------------------------------------------------------------------
# Sections
# ------------------------------------------------------------------------------------------


#: Identities named in the summary; more are listed in the Identities section only.
SUMMARY_NAMES = 6


def _dataset_line(ds) -> str:
    """The dataset: its folder and, for a handful of identities, who they are."""
    head = f"Dataset <code>{html.escape(str(ds.root))}</code>: "
    if ds.n_identities <= SUMMARY_NAMES:
        return head + ", ".join(f"<b>{html.escape(k)}</b> = {html.escape(ds.label(k))} "
                                f"({ds.images_per_identity[k]} images)" for k in ds.identities) + "."
    counts = np.asarray(list(ds.images_per_identity.values()))
    return head + (f"{ds.n_identities:,} identities, {int(counts.min())} to {int(counts.max())} photos each "
                   f"(median {float(np.median(counts)):g}); each with its faces found, rank-1 and hardest pairs under "
                   "<a href='#identities'>Identities</a>.")


def _multi_summary(data, figures: Mapping) -> Section:
    from facelab.report.compute import model_licence

    ds = data.dataset
    rows = []
    for m in data.models:
        rep, op, idr = m.verification, m.operating_point, m.identification
        rows.append({"model": m.name, "dim": int(m.embeddings.shape[1]), "detector": m.detector,
                     "alignment": str(m.alignment), "faces embedded": len(m.result.embedded),
                     "AUC": rep.auc, "EER": rep.eer, "TAR@FAR=1e-2": _tar(rep, 1e-2), "TAR@FAR=1e-3": _tar(rep, 1e-3),
                     "accuracy at its threshold": op.accuracy, "threshold (cos)": m.threshold,
                     "rank-1": idr.mean["rank1"]})
    lic = "".join(f"<li><b>{html.escape(m.name)}</b>: {html.escape(model_licence(m.name))}</li>" for m in data.models)
    body = "".join([
        _kpis([("images", f"{ds.n_images}"), ("identities", f"{ds.n_identities}"), ("models", f"{len(data.models)}")]),
        _p(_dataset_line(ds) + " Every model embeds the same images, each with its own detector and alignment; "
           "each decides at its own calibrated threshold."),
        _table(pd.DataFrame(rows), index=False),
        "<h3>Models and their licences</h3>",
        "<ul>" + lic + "</ul>",
        "".join(_p(f"<b>{html.escape(m.name)}</b>: {html.escape(m.calibration.describe())}.") for m in data.models),
    ])
    return Section("summary", "Summary", body)


def summary(data, figures: Mapping) -> Section:
    if len(data.models) > 1:
        return _multi_summary(data, figures)
    from facelab.report.compute import model_licence

    ds, m = data.dataset, data.model
    rep, op, idr = m.verification, m.operating_point, m.identification
    body = "".join([
        _kpis([
            ("images", f"{ds.n_images}"), ("identities", f"{ds.n_identities}"),
            ("faces embedded", f"{len(m.result.embedded)}"), ("skipped", f"{len(m.skipped)}"),
            ("AUC", _fmt(rep.auc)), ("EER", _fmt(rep.eer)),
            ("accuracy at the model threshold", _fmt(op.accuracy)),
            ("rank-1 (1:N)", _fmt(idr.mean["rank1"])),
        ]),
        _p(_dataset_line(ds)),
        _p(f"Model <b>{html.escape(m.name)}</b> ({m.embeddings.shape[1]}-d, L2-normalised), detector "
           f"<b>{html.escape(m.detector)}</b>, alignment <b>{html.escape(str(m.alignment))}</b>. "
           f"{html.escape(m.calibration.describe())}. Licence of its weights: "
           f"{html.escape(model_licence(m.name))}."),
    ])
    return Section("summary", "Summary", body)


#: Column titles of the identity table (:func:`facelab.report.identities.identity_table`).
IDENTITY_TITLES = {"identity": "folder", "name": "identity", "photos": "photos", "faces": "faces found",
                   "searches": "probe searches", "rank1": "rank-1", "genuine_min": "hardest genuine (cos)",
                   "genuine_pair": "its two photos", "closest_other": "most alike other identity",
                   "closest_cos": "cos", "closest_pair": "photos (its & theirs)"}


def identities(data, figures: Mapping) -> Section:
    """Every identity: photos, faces found, rank-1 and its hardest pairs, as a table to sort and search."""
    from facelab.report.identities import identity_table
    from facelab.report.paths import IDENTITIES_CSV

    tab = identity_table(data)
    if data.multi:  # one line per identity: the search counts are in the CSV
        tab = tab[[c for c in tab.columns if not c.endswith(": searches")]]
    titles = {c: (f"{c.split(': ', 1)[0]}: {IDENTITY_TITLES[c.split(': ', 1)[1]]}" if ": " in c
                  else IDENTITY_TITLES.get(c, c)) for c in tab.columns}
    st = data.settings
    intro = _p(
        f"{len(tab):,} identities. <b>rank-1</b>: the share of its probe searches (over the {st.repeats} seeded "
        f"gallery/probe splits of <a href='#identification'>Identification</a>, {st.gallery_size} image(s) "
        "enrolled) whose best match is its own identity; none for an identity with too few faces to probe. "
        "<b>hardest genuine</b>: its two least alike faces; <b>most alike other identity</b>: the closest face of "
        "anyone else, over every pair of the set. Click a header to sort; the box filters rows. "
        f"The same table: <code>{IDENTITIES_CSV}</code>.")
    return Section("identities", "Identities", intro + sortable_table(tab, table_id="identity-table", titles=titles,
                                                                      search="search identities or photos"))


def faces(data, figures: Mapping) -> Section:
    return Section("faces", "Faces", _figures_of(figures, "faces"))


def dataset_health(data, figures: Mapping):
    """Counts of suspected label errors, duplicates and outliers, the first candidates, and a
    pointer to ``facelab audit`` (None when the report has no audit: ``data.health``)."""
    from facelab.analysis.audit import SHORT
    from facelab.report.health import TOP

    a = data.health
    if a is None:
        return None
    c, s = a.counts(), a.settings
    body = [_kpis([("suspected label errors", f"{c['mislabel']}"),
                   ("duplicates across identities", f"{c['duplicate_across']}"),
                   ("duplicates within an identity", f"{c['duplicate_within']}"), ("outliers", f"{c['outlier']}")]),
            _p(f"An audit of the {len(a.faces)} faces <b>{html.escape(s.model)}</b> embedded, by the embeddings alone: "
               f"each face against the {s.k} nearest faces of its own identity and of every other. A suspected label "
               f"error is closer to another identity than to its own and to any other (by {s.margin:.4f} in cosine, "
               f"that identity passing the threshold {s.threshold:.4f}); near-duplicates have cosine &ge; "
               f"{s.duplicate_level:.4f}; an outlier's own identity stays below the threshold. Every label error "
               "caps the figures below: a photo of the wrong person makes genuine pairs no model can pass. These "
               "are candidates to look at, not verdicts.")]
    top = a.candidates.head(TOP)
    if len(top):
        t = top.assign(labelled=[a.label(i) for i in top.identity],
                       resembles=[a.label(i) if i else "" for i in top.other_identity])[
            ["rank", "kind", "image_id", "labelled", "resembles", "other_image", "score", "reason"]]
        body.append(_table(t.rename(columns={"image_id": "image", "other_image": "evidence"}), index=False))
        if len(a.candidates) > TOP:
            body.append(_p(f"The first {TOP} of {len(a.candidates)} candidates "
                           f"({', '.join(f'{n} {k}' for k, n in ((k, c[SHORT[k]]) for k in SHORT) if n)})."))
    else:
        body.append(_p("No candidate: no photo looks mislabelled, duplicated or out of place at these levels."))
    body.append(_p(f"For every candidate beside faces of its identity and of the one it resembles: "
                   f"<code>facelab audit {html.escape(str(data.dataset.root))}</code>."))
    return Section("dataset-health", "Dataset health", "".join(body))


def verification(data, figures: Mapping) -> Section:
    if len(data.models) > 1:
        return Section("verification", "Verification", _per_model(
            verification, data, figures, "verification",
            intro=_p("Each model on its own pairs (those of the faces it embedded); the paired comparison on "
                     "common pairs is in <a href='#comparison'>Models compared</a>.")))
    m, st = data.model, data.settings
    rep, op, cal, thr = m.verification, m.operating_point, m.calibration, m.threshold
    tt = rep.threshold_table()
    tt = tt.drop(columns=[c for c in ("CI low", "CI high") if c in tt.columns])
    tt["CI"] = [("—" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]") for ci in tt["CI"]]
    capped = st.max_impostors and rep.n_impostor >= st.max_impostors
    body = "".join([
        _p(f"{rep.n_genuine} genuine and {rep.n_impostor} impostor pairs"
           + (f" (impostors capped at a seeded sample of {st.max_impostors})" if capped else "")
           + ". Scores are cosine similarities of the embeddings; squared distance is <code>2 − 2·cos</code>; "
             "the score is the model's calibration of the distance."),
        _figures_of(figures, "verification"),
        "<h3>Thresholds</h3>",
        _p("Each operating point on the three scales a user meets. Confidence intervals: "
           f"{st.n_boot} bootstrap replicates resampling identities (not pairs), 95%."
           + (" <span class='warn'>With only two identities these intervals say little.</span>"
              if m.n_identities < 5 else "")),
        _table(tt),
        _p(f"At the model's own threshold (score ≥ {cal.threshold:.2f}, i.e. squared distance ≤ "
           f"{cal.distance_threshold:.4f}, cosine ≥ {thr:.4f}): FAR {_fmt(op.far)}, FRR {_fmt(op.frr)}, "
           f"precision {_fmt(op.precision)}, recall {_fmt(op.recall)}, accuracy {_fmt(op.accuracy)}."),
    ])
    return Section("verification", "Verification", body)


def identification(data, figures: Mapping) -> Section:
    from facelab.identification.evaluate import format_reference

    if len(data.models) > 1:
        return Section("identification", "Identification (1:N)",
                       _per_model(identification, data, figures, "identification"))
    m, st = data.model, data.settings
    body = "".join([
        _p(f"Gallery of {st.gallery_size} image(s) per identity, the rest as probes, {st.repeats} seeded splits "
           f"averaged; a probe whose best match is below the threshold (cosine {m.threshold:.4f}) is 'unknown'. "
           "Precision = correct identifications / probes accepted as someone; recall = correct identifications / "
           "probes of enrolled people; accuracy = (correct identifications + correctly rejected non-enrolled "
           "probes) / all probes."),
        f"<pre>{html.escape(format_reference(m.identification_table, labels=True))}</pre>",
        _table(m.identification_table),
        _figures_of(figures, "identification"),
    ])
    return Section("identification", "Identification (1:N)", body)


def distractors(data, figures: Mapping):
    """The MegaFace-style distractor curve (None when the report was given no distractors)."""
    from facelab.report.distractors import CSV_NAME

    dis = data.distractors
    if dis is None:
        return None
    f, st = dis.file, data.settings
    body = [_p(
        f"Identification at scale, MegaFace-style: the gallery of the enrolled people is searched together with "
        f"<i>distractors</i> &mdash; {f.n:,} embeddings of people who are not enrolled, from "
        f"<code>{html.escape(f.path)}</code> ({f.kind}, {f.dim}-d) &mdash; added 10, 100, ... at a time (a "
        "seeded order: each set holds the smaller ones). The more strangers in the gallery, the more often a "
        "probe's best match is one of them: rank-1 (mated probes whose best match is an image of their own "
        "identity, no threshold) falls, FNIR (mated probes not identified at the threshold) and FPIR "
        "(non-mated probes accepted as someone) rise. Gallery and probes are the first seeded split of the "
        f"identification section ({st.gallery_size} image(s) per identity enrolled, seed 0), so the row with 0 "
        "distractors is that split's open-set result. The table is also in "
        f"<code>{CSV_NAME}</code>.")]
    for d in dis.models:
        t = d.table.rename(columns={"n_distractors": "distractors", "gallery_size": "gallery", "rank1": "rank-1",
                                    "fnir": "FNIR", "fpir": "FPIR"})
        note = (" FPIR is not defined here: every probe's identity is enrolled (no non-mated probe)."
                if d.n_nonmated == 0 else "")
        rec = d.curve.recall
        figs = [fig for fig in figures.values() if fig.section == "distractors"
                and fig.name in ("distractors", f"distractors_{_slug(d.model)}")]
        body += [
            f"<h3>{html.escape(d.model)}</h3>" if data.multi else "",
            _p(f"<b>{html.escape(d.model)}</b>: {d.curve.n_enrolled} enrolled identities ({d.n_gallery} gallery "
               f"images), {d.n_probes} probes ({d.n_mated} mated, {d.n_nonmated} non-mated), {d.n_distractors:,} "
               f"distractors; threshold cosine {d.curve.threshold:.4f} (the model's operating point). The file "
               f"was matched to this model by {html.escape(d.checked)}.{note}"
               + (f" Approximate search past its size: {html.escape(rec.describe())}." if rec is not None else "")),
            _table(t[["distractors", "gallery", "rank-1", "FNIR", "FPIR", "search"]], index=False),
            "".join(_figure(fig) for fig in figs),
        ]
    if dis.not_computed:
        body.append(_p("No curve for: " + "; ".join(f"<b>{html.escape(n)}</b> ({html.escape(r)})"
                                                    for n, r in dis.not_computed) + "."))
    return Section("distractors", "Distractors (1:N at scale)", "".join(body))


def embedding_space(data, figures: Mapping) -> Section:
    if len(data.models) > 1:
        body = _p("Each model's embedding space, side by side: UMAP (random_state=0) of its embeddings, coloured "
                  "by identity; lines join its hardest pairs misjudged at its threshold.")
        return Section("embedding-space", "Embedding space", body + _figures_of(figures, "embedding-space"))
    m = data.model
    body = "".join([
        _p(f"UMAP (random_state=0) of the {len(m.embeddings)} embeddings, coloured by identity"
           + (", with each face on its point" if data.settings.thumbnails else "")
           + f"; lines join the {len(m.map_pairs)} hardest of the {m.n_map_pairs} pairs misjudged at the "
             "model's threshold."),
        _figures_of(figures, "embedding-space"),
    ])
    return Section("embedding-space", "Embedding space", body)


def failures(data, figures: Mapping) -> Section:
    if len(data.models) > 1:
        return Section("failures", "Failures", _per_model(failures, data, figures, "failures"))
    m = data.model
    if len(m.misjudged):
        n_fa = int((m.misjudged.kind == "false accept").sum())
        body = _p(f"{n_fa} false accepts and {len(m.misjudged) - n_fa} false rejects among the evaluated pairs at "
                  f"the model's threshold (cosine {m.threshold:.4f}); the hardest of each, as aligned faces.")
        body += _figures_of(figures, "failures")
    else:
        body = _p(f"No pair is misjudged at the model's threshold (cosine {m.threshold:.4f}).")
    return Section("failures", "Failures", body)


def skipped(data, figures: Mapping) -> Section:
    if len(data.models) > 1:
        return Section("skipped", "Skipped images", _per_model(skipped, data, figures, "skipped"))
    sk = data.model.skipped
    if len(sk):
        table = sortable_table(sk.rename(columns={"image": "image or file"}).astype(str),
                               table_id=f"skipped-{_slug(data.model.name)}", search="search images or reasons",
                               height=360)
    else:
        table = _p("Every image was used.")
    return Section("skipped", "Skipped images",
                   _p(f"{len(sk)} images or files were not used, each with its reason.") + table)


def provenance(data, figures: Mapping) -> Section:
    if len(data.models) > 1:
        return Section("provenance", "Provenance", _per_model(provenance, data, figures, "provenance"))
    prov = data.model.provenance
    rows = pd.DataFrame(
        [("model", prov["model"]), ("weights", prov["weights"] or "— (built in)"),
         ("weights SHA-256", prov["weights_sha256"] or "—"), ("dataset", prov["dataset"]),
         ("dataset SHA-256", prov["dataset_sha256"]), ("date", prov["date"]), ("command", prov["command"]),
         ("platform", prov["platform"])]
        + [(f"version: {k}", v or "not installed") for k, v in prov["versions"].items()],
        columns=["", "value"],
    )
    d = prov.get("distractors")
    if d:
        rows = pd.concat([rows, pd.DataFrame(
            [("distractors", d["path"]), ("distractors SHA-256", d["sha256"]),
             ("distractors held", f"{d['count']:,} embeddings, {d['dim']}-d, {d['format']}, {d['size_bytes']:,} bytes")],
            columns=["", "value"])], ignore_index=True)
    times = ""
    if data.timings:
        tt = pd.DataFrame({"stage": list(data.timings), "seconds": [float(v) for v in data.timings.values()]})
        times = ("<h3>Time per stage</h3>" + _p("Until the page was written; <code>metrics.json</code> "
                                                 "(<code>provenance.timings</code>) has every stage and the total.")
                 + sortable_table(tt, table_id="timings", digits=1, height=300))
    return Section("provenance", "Provenance", _table(rows, index=False) + times)


def comparison(data, figures: Mapping) -> Section:
    """Several models: paired statistics on the pairs every model scored, and where they disagree."""
    from facelab.report.paths import comparison_file

    st = data.settings
    body = []
    for c in data.comparisons:
        mc = c.mcnemar
        rows = [{"metric": d.metric, c.a: d.a, c.b: d.b, f"{c.a} − {c.b}": d.difference,
                 f"{int(d.level * 100)}% CI": ("—" if not math.isfinite(d.low) else f"[{d.low:+.4f}, {d.high:+.4f}]"),
                 "excludes 0": "yes" if d.excludes_zero else "no", "replicates": d.n_valid}
                for d in c.paired.values()]
        tbl = pd.DataFrame({"": [f"{c.b} right", f"{c.b} wrong"], f"{c.a} right": [mc.both_right, mc.a_only_right],
                            f"{c.a} wrong": [mc.b_only_right, mc.both_wrong]})
        body += [
            f"<h3>{html.escape(c.a)} vs {html.escape(c.b)}</h3>",
            _p(f"{len(c.scores_a)} pairs ({int(c.pairs.same.sum())} genuine) of the {len(c.image_ids)} images both "
               f"models embedded (scores in <code>{html.escape(comparison_file(c))}</code>). Paired bootstrap: "
               f"{st.n_boot} replicates, each resampling identities once and scoring both models on the same "
               "resample; the interval is that of the difference."
               + (" <span class='warn'>With few identities these intervals say little.</span>"
                  if len(set(c.identities.tolist())) < 5 else "")),
            _table(pd.DataFrame(rows), index=False),
            _p(f"McNemar's test, each model at its accuracy-best threshold on these pairs ({html.escape(c.a)} cosine "
               f"≥ {mc.threshold_a:.4f}: accuracy {mc.accuracy_a:.4f}; {html.escape(c.b)} ≥ {mc.threshold_b:.4f}: "
               f"accuracy {mc.accuracy_b:.4f}): {mc.n_discordant} discordant pairs ({mc.a_only_right} only "
               f"{html.escape(c.a)} right, {mc.b_only_right} only {html.escape(c.b)} right), exact p = "
               f"{mc.p_value:.4g} (χ² with continuity correction {mc.statistic:.3f}, p = {mc.p_value_chi2:.4g})."),
            _table(tbl, index=False),
        ]
        dis = c.disagreements
        body.append(_p(f"At their own operating thresholds ({html.escape(c.a)} cosine ≥ {c.threshold_a:.4f}, "
                       f"{html.escape(c.b)} ≥ {c.threshold_b:.4f}) the models disagree on {len(dis)} pairs: "
                       f"{int((dis.right == c.a).sum())} where only {html.escape(c.a)} is right, "
                       f"{int((dis.right == c.b).sum())} where only {html.escape(c.b)} is right."))
        name = f"disagreements_{_slug(c.a)}_vs_{_slug(c.b)}"
        if name in figures:
            body.append(_figure(figures[name]))
    return Section("comparison", "Models compared", "".join(body))


#: The page's sections, in order.
SECTIONS = (summary, identities, faces, dataset_health, verification, identification, embedding_space, failures,
            skipped, provenance)
#: With several models: the same, and the paired comparison after the failures.
MULTI_SECTIONS = (summary, identities, faces, dataset_health, verification, identification, embedding_space,
                  failures, comparison, skipped, provenance)


def page_sections(data) -> tuple:
    """The sections of ``data``'s page: :data:`SECTIONS` (:data:`MULTI_SECTIONS` for several
    models), with :func:`distractors` after the identification when the report has distractors.
    A section with nothing to show (:func:`dataset_health` without an audit) returns None and is
    left out of the page."""
    base = MULTI_SECTIONS if len(data.models) > 1 else SECTIONS
    if data.distractors is None:
        return base
    i = base.index(identification) + 1
    return base[:i] + (distractors,) + base[i:]


# ------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------


def render_page(data, figures: Mapping, *, sections=None, interactive: bool = True, clock=None) -> str:
    """The whole page: header, a nav link per section, the sections (with ``interactive``, the
    Bokeh views of :mod:`facelab.report.interactive` on top of theirs, BokehJS inlined, and the
    tables made sortable and searchable by :data:`~facelab.report.sortable.TABLE_JS`).

    ``sections`` default: :func:`page_sections` (:data:`SECTIONS`, or :data:`MULTI_SECTIONS` for
    several models; the distractor curve when the report has one). ``clock``: a
    :class:`facelab.report.stages.ReportClock` that times the interactive views.
    """
    from contextlib import nullcontext

    if sections is None:
        sections = page_sections(data)
    built = [b for b in (s(data, figures) for s in sections) if b is not None]  # None: nothing to show
    head = tail = ""
    if interactive:
        from facelab.report.interactive import add_interactive

        with clock.stage("interactive views") if clock is not None else nullcontext():
            built, head, tail = add_interactive(data, built)
        tail += f"<script>{TABLE_JS}</script>" if "sortable" in "".join(s.body for s in built) else ""
    m, ds = data.model, data.dataset
    title = f"facelab report — {ds.name} — {' vs '.join(x.name for x in data.models)}"
    subtitle = f"{ds.n_images} images, {ds.n_identities} identities · {m.provenance['date']}"
    return render_shell(title=title, subtitle=subtitle, sections=[(s.id, s.title, s.body) for s in built],
                        css=_CSS, head=head, tail=tail)


_CSS = """\
figure { margin: 12px 0; display: inline-block; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; height: auto; }
figure.half { width: 48%; margin-right: 1%; }
figcaption { font-size: 13px; color: #5a6572; }
pre { background: #f3f6f9; padding: 10px; border-radius: 6px; overflow-x: auto; font-size: 13px; }
.wide { overflow-x: auto; max-width: 100%; }
.scroll { overflow: auto; border: 1px solid #eef1f5; border-radius: 6px; margin: 6px 0 10px; }
.scroll table.tbl { margin: 0; }
.scroll thead th { position: sticky; top: 0; z-index: 1; }
table.sortable td.t { text-align: left; }
table.sortable td { white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th.asc::after { content: " ▲"; }
table.sortable th.desc::after { content: " ▼"; }
input.tbl-search { width: 320px; padding: 5px 8px; margin: 6px 0; border: 1px solid #c9d2dc; border-radius: 5px; }
"""
