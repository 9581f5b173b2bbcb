"""The outputs of ``facelab cluster``: ``clusters.csv``, ``metrics.json`` and one offline HTML page.

:func:`write_clusters` writes a :class:`~facelab.analysis.face_clusters.FaceClusters` into a folder,
atomically (it appears whole or not at all):

================  ===========================================================================
file              what it holds
================  ===========================================================================
``clusters.csv``  one row per face: face id, image, face number, path, box, cluster (-1:
                  unclustered), confidence (and identity, where labels exist)
``metrics.json``  the clustering (algorithm, threshold, counts, seconds) and, with labels,
                  pairwise / BCubed precision, recall, F, NMI, clusters against identities
``skipped.csv``   every photo or file without a face, with its reason
``index.html``    the page (:func:`render_cluster_page`)
================  ===========================================================================

The page opens from disk with no network request: a gallery per cluster, largest first (up to
``max_clusters`` clusters of up to ``per_cluster`` faces each -- a larger cluster is shown by an even
spread of its faces from most to least confident, and the page says how many of how many), the
faces left unclustered (up to ``max_unclustered``), with labels the clusters that mix people and
the people split over clusters, and the embedding explorer
(:func:`facelab.plotting.explorer.explore_embeddings`) coloured by cluster. Thumbnails are JPEG
``data:`` URIs cut from the photos around each face's box; BokehJS is inlined once.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.plotting.clusters import face_thumbnails
from facelab.plotting.thumbnails import jpeg_data_uri
from facelab.report.page import render_shell

__all__ = ["render_cluster_page", "write_clusters", "MAX_CLUSTERS", "PER_CLUSTER", "MAX_UNCLUSTERED"]

#: Clusters shown in the gallery (largest first); every cluster is in ``clusters.csv``.
MAX_CLUSTERS = 60
#: Faces shown per cluster (an even spread by confidence when the cluster is larger).
PER_CLUSTER = 24
#: Unclustered faces shown.
MAX_UNCLUSTERED = 120
#: Thumbnail size in the gallery, pixels.
THUMB = 72
#: Faces of the explorer that carry a thumbnail.
EXPLORER_THUMBNAILS = 2000
UNCLUSTERED = "unclustered"


def _esc(x) -> str:
    return html.escape(str(x))


def _fmt(x, digits: int = 4) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _face_html(faces: pd.DataFrame, r: int, uri: str, majority: Optional[str], names: dict) -> str:
    f = faces.iloc[r]
    label = f.identity if isinstance(f.identity, str) else ""
    tip = f"{f.face_id}" + (f" · {names.get(label, label)}" if label else "") + f" · confidence {_fmt(f.confidence, 3)}"
    odd = " odd" if majority is not None and label and label != majority else ""
    return (f'<figure class="face{odd}" title="{_esc(tip)}"><img src="{uri}" width="{THUMB}" height="{THUMB}" '
            f'alt="{_esc(f.face_id)}"><figcaption>{_esc(f.face_id)}</figcaption></figure>')


def _gallery(clusters, shown: dict, uris: dict) -> tuple[str, str]:
    """The clusters' and the unclustered faces' HTML."""
    faces, c = clusters.faces, clusters.clustering
    idents = clusters.identities.set_index("cluster") if clusters.identities is not None else None
    blocks = []
    for k, rows in shown.items():
        if k < 0:
            continue
        size = int(c.sizes[k])
        majority = None
        who = ""
        if idents is not None and k in idents.index:
            r = idents.loc[k]
            majority = str(r.identity)
            who = (f" · mostly <b>{_esc(clusters.names.get(majority, majority))}</b> ({r.share:.0%} of its labelled faces"
                   f"{f', {int(r.identities)} people' if r.identities > 1 else ''})")
        more = f"showing {rows.size} of {size}, spread from most to least confident" if rows.size < size else f"{size} faces"
        conf = np.nanmean(faces.confidence.to_numpy(float)[c.members(k)])
        blocks.append(f'<div class="cluster" id="cluster-{k}"><h3>Cluster {k} — {size} faces{who}</h3>'
                      f'<p class="note">{more}; mean confidence {_fmt(conf, 3)}</p><div class="faces">'
                      + "".join(_face_html(faces, r, uris[r], majority, clusters.names) for r in rows) + "</div></div>")
    if c.n_clusters > len(blocks):
        blocks.append(f'<p class="note">The {len(blocks)} largest of {c.n_clusters} clusters are shown; every face '
                      "is in clusters.csv.</p>")
    alone = shown.get(-1, np.zeros(0, int))
    n_alone = c.n_unclustered
    if n_alone:
        head = (f'<p class="note">{n_alone} faces are in no cluster of at least {c.min_size} faces'
                + (f"; {alone.size} of them shown, evenly spread" if alone.size < n_alone else "") + ".</p>")
        loose = head + '<div class="faces">' + "".join(_face_html(faces, r, uris[r], None, clusters.names) for r in alone) + "</div>"
    else:
        loose = '<p class="note">Every face is in a cluster.</p>'
    return "\n".join(blocks), loose


def _explorer_view(clusters, *, max_thumbnails: int = EXPLORER_THUMBNAILS, method: str = "umap"):
    """The explorer, coloured by cluster, with thumbnails for up to ``max_thumbnails`` faces."""
    from facelab.plotting.explorer import explore_embeddings

    f = clusters.faces
    n = len(f)
    cluster = np.where(f.cluster >= 0, "cluster " + f.cluster.astype(str), "")
    if clusters.labelled:
        # Faces without a label get one of their own: no pair of them counts as the same person.
        ids = np.where(f.identity != "", f.identity, "unlabelled " + f.face_id)
        names = {i: "no label" if i.startswith("unlabelled ") else clusters.names.get(i, i) for i in ids}
    else:
        # Without names, a cluster stands for a person: the slider then shows which pairs a threshold
        # would join across clusters, and split within one.
        ids = np.where(f.cluster >= 0, cluster, "alone " + f.face_id)
        names = {i: UNCLUSTERED for i in ids if i.startswith("alone ")}
    rng = np.random.default_rng(0)
    rows = np.arange(n) if n <= max_thumbnails else np.sort(rng.choice(n, size=max_thumbnails, replace=False))
    thumbs = face_thumbnails(f, rows, 64)
    ex = explore_embeddings(clusters.embeddings, ids, image_ids=list(f.face_id),
                            thumbnails=[thumbs.get(i) for i in range(n)], detection_scores=f.detection_score,
                            residuals=f.residual, names=names, max_thumbnails=n, method=method,
                            threshold=clusters.clustering.threshold, categories={"cluster": cluster}, colour="cluster",
                            title=f"{n} faces, {clusters.clustering.n_clusters} clusters", width=640, height=520)
    return ex


def _tables(clusters) -> str:
    """With labels: the clusters that hold several people, and the people spread over several clusters."""
    if clusters.identities is None or clusters.identities.empty:
        return ""
    name = clusters.names.get
    t = clusters.identities.assign(identity=lambda d: [name(i, i) for i in d.identity])
    mixed = t[t.identities > 1].head(30).rename(columns={"identity": "mostly", "share": "share of it",
                                                          "identities": "people", "split": "clusters of that person"})
    f = clusters.faces[clusters.faces.identity != ""]
    per = f.groupby("identity").cluster.agg(faces="size", clusters=lambda c: c[c >= 0].nunique(),
                                             unclustered=lambda c: int((c < 0).sum()))
    split = per[per.clusters > 1].sort_values(["clusters", "faces"], ascending=False).head(30).reset_index()
    split["identity"] = [name(i, i) for i in split.identity]
    out = [f'<h3>Clusters holding several people ({int((t.identities > 1).sum())})</h3>']
    out.append(mixed.to_html(index=False, float_format="{:.3f}".format, classes="tbl", border=0) if len(mixed)
               else '<p class="note">None: every cluster holds one person.</p>')
    out.append(f"<h3>People spread over several clusters ({int((per.clusters > 1).sum())})</h3>")
    out.append(split.to_html(index=False, classes="tbl", border=0) if len(split)
               else '<p class="note">None: every person is in one cluster (or unclustered).</p>')
    return "".join(out)


def render_cluster_page(clusters, *, title: Optional[str] = None, max_clusters: int = MAX_CLUSTERS,
                        per_cluster: int = PER_CLUSTER, max_unclustered: int = MAX_UNCLUSTERED,
                        explorer: bool = True, explorer_method: str = "umap") -> str:
    """The self-contained page of a :class:`~facelab.analysis.face_clusters.FaceClusters` (see the
    module docstring); ``explorer=False`` leaves the Bokeh explorer out (a lighter page)."""
    from facelab.analysis.face_clusters import gallery_rows

    c, s = clusters.clustering, clusters.scores
    shown = gallery_rows(clusters, max_clusters=max_clusters, per_cluster=per_cluster,
                         max_unclustered=max_unclustered)
    thumbs = face_thumbnails(clusters.faces, np.concatenate([r for r in shown.values()] + [np.zeros(0, int)]), THUMB)
    uris = {r: jpeg_data_uri(a) for r, a in thumbs.items()}
    gallery, loose = _gallery(clusters, shown, uris)
    kpis = [("faces", f"{len(clusters.faces):,}"), ("photos", f"{clusters.n_photos:,}"),
            ("clusters", f"{c.n_clusters:,}"), ("unclustered", f"{c.n_unclustered:,}")]
    if s is not None:
        kpis += [("BCubed F", _fmt(s.bcubed_f)), ("pairwise F", _fmt(s.pairwise_f)), ("NMI", _fmt(s.nmi)),
                 ("identities", f"{s.n_identities:,}")]
    how = (f"{c.algorithm}, cosine threshold {c.threshold:.4f}" if c.threshold is not None else c.algorithm) + \
        f", k = {c.k}, clusters of at least {c.min_size} faces"
    summary = ['<div class="kpis">' + "".join(f'<div class="kpi"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>'
                                              for k, v in kpis) + "</div>",
               f'<p>Model <b>{_esc(clusters.model)}</b> ({_esc(clusters.calibration.describe())}); {_esc(how)}. '
               "A face's confidence is the model's calibrated same-person score with the rest of its cluster.</p>"]
    if s is not None:
        summary.append(f'<p>{_esc(s.describe())}. Unclustered faces count as clusters of one.</p>')
    summary += [f'<p class="warn">{_esc(n)}</p>' for n in clusters.notes]
    sections = [("summary", "Summary", "".join(summary)), ("clusters", "Clusters, largest first", gallery),
                ("unclustered", "Unclustered faces", loose)]
    tables = _tables(clusters)
    if tables:
        sections.append(("identities", "Clusters against identities", tables))
    head = tail = ""
    if explorer:
        from facelab.report.interactive import InteractiveView, bokeh_head, render_views

        ex = _explorer_view(clusters, method=explorer_method)
        view = InteractiveView("explorer", "explorer", "Explorer", (
            "<b>Explorer</b>: every face on a map of the embedding space, coloured by cluster (grey: unclustered; "
            "colour by identity to compare"
            + (" with the labels" if clusters.labelled else ": without labels, a cluster stands for a person") +
            "). Hover a face for its thumbnail; click one for its nearest neighbours; the threshold slider counts "
            "the pairs a threshold would put on the wrong side."), ex.build())
        divs, tail = render_views([view])
        head = bokeh_head()
        sections.append(("explorer", "Explorer", divs["explorer"]))
    if len(clusters.skipped):
        sk = clusters.skipped.head(200)
        more = f" (the first 200 of {len(clusters.skipped)}; all in skipped.csv)" if len(clusters.skipped) > 200 else ""
        sections.append(("skipped", "Photos without a face", f'<p class="note">{len(clusters.skipped)} photos or files '
                         f"gave no face{more}.</p>" + sk.to_html(index=False, classes="tbl", border=0)))
    title = title or f"facelab cluster — {len(clusters.faces):,} faces, {c.n_clusters:,} clusters"
    return render_shell(title=title, subtitle=how, sections=sections, css=_CSS, head=head, tail=tail, width=1180,
                        intro='<p class="note">Faces with a red frame are not the person most of their cluster is '
                              '(where labels exist).</p>\n')


def write_clusters(clusters, out, **page_kwargs) -> Path:
    """Write ``clusters.csv``, ``metrics.json``, ``skipped.csv`` and ``index.html`` into the folder
    ``out``, atomically (a folder already there is replaced whole). Returns ``out``.

    ``page_kwargs`` go to :func:`render_cluster_page`; ``metrics.json`` gets the page's own
    ``seconds`` beside the clustering's.
    """
    import time

    from facelab.core.atomic import staged_directory

    out = Path(out)
    t0 = time.perf_counter()
    page = render_cluster_page(clusters, **page_kwargs)
    seconds = time.perf_counter() - t0
    clusters.clustering.seconds["page"] = seconds
    metrics = clusters.metrics()
    with staged_directory(out) as tmp:
        clusters.table().to_csv(tmp / "clusters.csv", index=False, float_format="%.6g")
        clusters.skipped.to_csv(tmp / "skipped.csv", index=False)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
        (tmp / "index.html").write_text(page, encoding="utf-8")
    return out


_CSS = """\
h3 { font-size: 15px; margin: 14px 0 2px; }
.note { font-size: 13px; color: #5a6572; margin: 2px 0 6px; }
.faces { display: flex; flex-wrap: wrap; gap: 6px; }
figure.face { margin: 0; width: 76px; text-align: center; }
figure.face img { border: 2px solid #dde3ea; border-radius: 4px; display: block; margin: 0 auto; }
figure.face.odd img { border-color: #d62728; }
figure.face figcaption { font-size: 9px; color: #5a6572; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.cluster { border-top: 1px solid #eef1f5; padding: 4px 0 8px; }
.kpi { min-width: 110px; }
"""
