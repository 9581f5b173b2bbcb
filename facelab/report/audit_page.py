"""The outputs of ``facelab audit``: ``audit.csv`` and one offline HTML page (and a few tables).

:func:`write_audit` writes a :class:`~facelab.analysis.audit.DatasetAudit` into a folder,
atomically (it appears whole or not at all):

==================  ========================================================================
file                what it holds
==================  ========================================================================
``audit.csv``       every candidate, ranked: rank, image, identity, kind, score, reason, the
                    identity and face the evidence points to, and the similarities behind it
``duplicates.csv``  every near-duplicate pair (within and across identities)
``faces.csv``       every face's evidence: own / other / second similarity, its kind if any
``skipped.csv``     every photo or file that gave no face, with its reason
``other_faces.csv`` every face of the multi-face candidates' photos against their label
                    (:mod:`facelab.analysis.audit_faces`; written when any was checked)
``metrics.json``    counts, levels, the first candidates, seconds
``index.html``      the page (:func:`render_audit_page`)
==================  ========================================================================

The page opens from disk with no network request: the counts and the levels, then the first
``top`` candidates, each with its photo (the face used boxed in red), the face, faces of its
labelled identity and of the identity it resembles (:meth:`~facelab.analysis.audit.DatasetAudit.evidence`:
the faces the evidence rests on first, then a seeded sample), and its reason; then the embedding
explorer coloured by the audit's flags (:func:`facelab.plotting.explorer.explore_embeddings`,
``categories``). Thumbnails are JPEG ``data:`` URIs; BokehJS is inlined once.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from facelab.plotting.thumbnails import jpeg_data_uri
from facelab.report.page import render_shell

__all__ = ["render_audit_page", "write_audit", "candidates_table", "TOP", "PER_IDENTITY"]

#: Candidates shown on the page (every one is in ``audit.csv``).
TOP = 100
#: Faces shown per identity beside a candidate.
PER_IDENTITY = 4
#: Thumbnail size on the page, pixels.
THUMB = 88
#: Faces of the explorer that carry a thumbnail (the flagged ones first).
EXPLORER_THUMBNAILS = 2000
FLAG = "audit flag"


def _esc(x) -> str:
    return html.escape(str(x))


def candidates_table(audit) -> pd.DataFrame:
    """``audit.csv``: the ranked candidates with display names, without the internal row numbers."""
    c = audit.candidates.drop(columns=["row", "other_row"])
    c.insert(c.columns.get_loc("identity") + 1, "name", [audit.label(i) for i in c.identity])
    c.insert(c.columns.get_loc("other_identity") + 1, "other_name",
             [audit.label(i) if i else "" for i in c.other_identity])
    return c


def _img(uri: str, alt: str, *, cls: str = "", title: str = "") -> str:
    return (f'<img class="{cls}" src="{uri}" width="{THUMB}" height="{THUMB}" alt="{_esc(alt)}" '
            f'title="{_esc(title or alt)}">')


def _candidate_blocks(audit, ranks, per_identity: int) -> str:
    from facelab.plotting.audit import face_thumbnails, photo_thumbnail

    picked = {r: audit.evidence(r, per_identity=per_identity) for r in ranks}
    need = [int(audit.candidates.row.iloc[r - 1]) for r in ranks]
    for own, other in picked.values():
        need += own.tolist() + other.tolist()
    uris = {r: jpeg_data_uri(a) for r, a in face_thumbnails(audit.faces, need, size=THUMB).items()}
    faces = audit.faces
    out = []
    for rank in ranks:
        c = audit.candidates.iloc[rank - 1]
        f = faces.iloc[int(c.row)]
        own, other = picked[rank]
        photo = jpeg_data_uri(photo_thumbnail(f.path, f.box, size=THUMB))
        match = _matching_face(audit, c)
        group = "".join(_img(uris[int(r)], faces.image_id.iloc[int(r)]) for r in own)
        theirs = "".join(_img(uris[int(r)], faces.image_id.iloc[int(r)], cls="other") for r in other)
        kind = c.kind.replace(" ", "-")
        out.append(
            f'<div class="cand {kind}" id="rank-{rank}"><div class="head"><b>#{rank}</b> <span class="kind">'
            f'{_esc(c.kind)}</span> score {c.score:.4f} — <code>{_esc(c.image_id)}</code> labelled '
            f'<b>{_esc(audit.label(c.identity))}</b></div><div class="row">'
            f'<div class="blk"><div class="cap">photo · face</div>{_img(photo, "photo " + c.image_id)}'
            f'{_img(uris[int(c.row)], c.image_id, cls="me")}</div>'
            + (f'<div class="blk"><div class="cap match">face {int(c.face_match)} of the photo (matches its label)'
               f'</div>{_img(match, f"face {int(c.face_match)} of " + c.image_id, cls="match")}</div>'
               if match else "")
            + f'<div class="blk"><div class="cap">{_esc(audit.label(c.identity))} (its label)</div>'
            f'{group or "<span class=note>no other face</span>"}</div>'
            + (f'<div class="blk"><div class="cap other">{_esc(audit.label(c.other_identity))} (resembles)</div>'
               f'{theirs}</div>' if len(other) else "")
            + f'</div><p class="why">{_esc(c.reason)}</p></div>')
    return "\n".join(out)


def _matching_face(audit, c) -> str:
    """A wrong-face candidate's matching face (every-face mode's box, cut from its photo) as a data
    URI; ``""`` for any other row."""
    from facelab.plotting.audit import face_thumbnails

    if int(getattr(c, "face_match", -1)) < 0 or audit.other_faces.empty:
        return ""
    m = audit.other_faces
    m = m[(m.row == c.row) & (m.face == c.face_match)]
    if m.empty:
        return ""
    faces = pd.DataFrame({"path": [audit.faces.path.iloc[int(c.row)]], "box": [m.box.iloc[0]]})
    return jpeg_data_uri(face_thumbnails(faces, [0], size=THUMB)[0])


def _explorer_view(audit, *, method: str = "umap", max_thumbnails: int = EXPLORER_THUMBNAILS):
    """The explorer of the audited faces, coloured by the audit's flags (the flagged faces get
    thumbnails first, then an even spread of the others)."""
    from facelab.plotting.audit import face_thumbnails
    from facelab.plotting.explorer import explore_embeddings
    from facelab.plotting.thumbnails import spread_subset

    f = audit.faces
    n = len(f)
    flags = audit.flags()
    flagged = np.flatnonzero(flags != "")
    rest = np.setdiff1d(np.arange(n), flagged)
    room = max(0, max_thumbnails - flagged.size)
    extra = rest if rest.size <= room else rest[spread_subset(f.identity.to_numpy()[rest], room)]
    rows = np.concatenate([flagged[:max_thumbnails], extra])
    thumbs = face_thumbnails(f, rows, size=64)
    return explore_embeddings(audit.embeddings, f.identity.to_numpy(), image_ids=list(f.image_id),
                              thumbnails=[thumbs.get(i) for i in range(n)], names=audit.names, max_thumbnails=n,
                              method=method, threshold=audit.settings.threshold, categories={FLAG: flags},
                              colour=FLAG, title=f"{n:,} faces, {int(flagged.size)} flagged", width=640, height=520)


def render_audit_page(audit, *, top: int = TOP, per_identity: int = PER_IDENTITY, explorer: bool = True,
                      explorer_method: str = "umap", title: str | None = None) -> str:
    """The self-contained page of an audit (see the module docstring); ``explorer=False`` leaves
    the Bokeh explorer out (a lighter page)."""
    s, counts = audit.settings, audit.counts()
    n_c = len(audit.candidates)
    ranks = list(range(1, min(int(top), n_c) + 1))
    kpis = [("photos", f"{audit.n_images:,}"), ("faces audited", f"{len(audit.faces):,}"),
            ("identities", f"{audit.n_identities:,}"), ("suspected label errors", f"{counts['mislabel']:,}"),
            ("duplicates across identities", f"{counts['duplicate_across']:,}"),
            ("wrong faces", f"{counts['wrong_face']:,}"),
            ("duplicates within an identity", f"{counts['duplicate_within']:,}"), ("outliers", f"{counts['outlier']:,}")]
    levels = (f"Model <b>{_esc(s.model)}</b>. A face is compared with the mean cosine of its {s.k} nearest faces of each "
              f"identity (itself and its near-duplicates left out). Same person at cosine &ge; {s.threshold:.4f} "
              f"({_esc(s.threshold_source)}); a mislabel's identity must stand out by &ge; {s.margin:.4f} above its own "
              f"and every other; near-duplicates at cosine &ge; {s.duplicate_level:.4f} ({_esc(s.duplicate_source)}).")
    summary = ['<div class="kpis">' + "".join(f'<div class="kpi"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>'
                                              for k, v in kpis) + "</div>", f"<p>{levels}</p>",
               '<p class="note">Ranked: duplicates across identities (one photo under two names), then suspected label '
               "errors (closer to another identity than to its own and to any other), then wrong faces (another "
               "face of the photo matches its label: the label is probably right), then duplicates within an "
               "identity, then outliers (far from their own identity; often the wrong face of a group photo). A "
               "candidate is a question for a person, not a verdict: look at the faces.</p>"]
    if audit.n_unjudged:
        summary.append(f'<p class="note">{audit.n_unjudged:,} faces are their identity\'s only face: nothing to judge '
                       "their label against, so they are checked for duplicates only.</p>")
    shown = (f"The first {len(ranks)} of {n_c:,} candidates; every one is in audit.csv."
             if len(ranks) < n_c else f"All {n_c:,} candidates (also in audit.csv).")
    cands = (f'<p class="note">{shown} Beside each: the photo (the face used boxed in red), the face, then faces of '
             "its labelled identity and of the identity it resembles (blue): the faces the score rests on first "
             "(a near-duplicate, then the nearest), then others at random.</p>"
             + (_candidate_blocks(audit, ranks, per_identity) if ranks else "<p>No candidate: nothing looks wrong "
                                                                             "at these levels.</p>"))
    sections = [("summary", "Summary", "".join(summary)), ("candidates", "Candidates", cands)]
    head = tail = ""
    if explorer and len(audit.faces) >= 3:
        from facelab.report.interactive import InteractiveView, bokeh_head, render_views

        view = InteractiveView("explorer", "explorer", "Explorer", (
            "<b>Explorer</b>: every audited face on a map of the embedding space, coloured by its audit flag (grey: "
            "not flagged; 'colour by' switches to identity and the rest). Hover a face for its thumbnail and flag; "
            "click one for its nearest neighbours."), _explorer_view(audit, method=explorer_method).build())
        divs, tail = render_views([view])
        head = bokeh_head()
        sections.append(("explorer", "Explorer", divs["explorer"]))
    if len(audit.skipped):
        sk = audit.skipped.head(200)
        more = f" (the first 200 of {len(audit.skipped)}; all in skipped.csv)" if len(audit.skipped) > 200 else ""
        sections.append(("skipped", "Photos without a face", f'<p class="note">{len(audit.skipped)} photos or files '
                         f"gave no face and were not audited{more}.</p>"
                         + sk.to_html(index=False, classes="tbl", border=0)))
    title = title or f"facelab audit — {len(audit.faces):,} faces, {n_c:,} candidates"
    sub = f"{audit.n_identities:,} identities · model {s.model}"
    return render_shell(title=title, subtitle=sub, sections=sections, css=_CSS, head=head, tail=tail, width=1180)


def write_audit(audit, out, **page_kwargs) -> Path:
    """Write ``audit.csv``, ``duplicates.csv``, ``faces.csv``, ``skipped.csv``, ``metrics.json``
    and ``index.html`` into the folder ``out``, atomically (a folder already there is replaced
    whole). Returns ``out``. ``page_kwargs`` go to :func:`render_audit_page`."""
    import time

    from facelab.core.atomic import staged_directory

    out = Path(out)
    t0 = time.perf_counter()
    page = render_audit_page(audit, **page_kwargs)
    audit.seconds["page"] = time.perf_counter() - t0
    faces = audit.faces.drop(columns=["box"])
    with staged_directory(out) as tmp:
        candidates_table(audit).to_csv(tmp / "audit.csv", index=False, float_format="%.6f")
        audit.duplicates.drop(columns=["row_a", "row_b"]).to_csv(tmp / "duplicates.csv", index=False,
                                                                 float_format="%.6f")
        faces.to_csv(tmp / "faces.csv", index=False, float_format="%.6f")
        audit.skipped.to_csv(tmp / "skipped.csv", index=False)
        if not audit.other_faces.empty:
            audit.other_faces.drop(columns=["row"]).to_csv(tmp / "other_faces.csv", index=False, float_format="%.6f")
        (tmp / "metrics.json").write_text(json.dumps(audit.to_dict(), indent=2, allow_nan=False) + "\n")
        (tmp / "index.html").write_text(page, encoding="utf-8")
    return out


_CSS = """\
.note { font-size: 13px; color: #5a6572; margin: 2px 0 6px; }
.cand { border-top: 1px solid #eef1f5; padding: 8px 0; }
.cand .head { font-size: 14px; margin-bottom: 4px; }
.cand .kind { display: inline-block; padding: 1px 6px; border-radius: 4px; background: #eef1f5; font-size: 12px; }
.cand.mislabel .kind { background: #fde2e2; }
.cand.duplicate-across-identities .kind { background: #fff0c7; }
.cand.wrong-face .kind { background: #dcf2dc; }
.cand .blk img.match { border-color: #2ca02c; }
.cand .cap.match { color: #2ca02c; }
.cand .row { display: flex; flex-wrap: wrap; gap: 14px; }
.cand .blk img { border: 2px solid #dde3ea; border-radius: 4px; margin: 0 3px 0 0; }
.cand .blk img.me { border-color: #d62728; }
.cand .blk img.other { border-color: #1f77b4; }
.cand .cap { font-size: 11px; color: #5a6572; }
.cand .cap.other { color: #1f77b4; }
.cand .why { font-size: 13px; margin: 4px 0 0; }
table.tbl th, table.tbl td { text-align: left; }
.kpi { min-width: 110px; }
"""
