"""The audit's files and page, written from a real audit: atomic, the candidates with their faces."""

from __future__ import annotations

import json

import pandas as pd

from facelab.report.audit_page import candidates_table, render_audit_page, write_audit


def test_write_audit_files_and_page(small_audit, tmp_path):
    out = tmp_path / "audit"
    out.mkdir()
    (out / "old.txt").write_text("replaced whole")
    write_audit(small_audit, out, top=2, per_identity=3, explorer=False)
    assert sorted(p.name for p in out.iterdir()) == ["audit.csv", "duplicates.csv", "faces.csv", "index.html",
                                                     "metrics.json", "skipped.csv"]
    assert not list(tmp_path.glob(".audit*"))  # no staging folder left behind
    cand = pd.read_csv(out / "audit.csv", dtype=str, keep_default_na=False)
    assert list(cand.columns) == list(candidates_table(small_audit).columns) and "row" not in cand.columns
    assert cand.name.iloc[0] == small_audit.label(small_audit.candidates.identity.iloc[0])
    m = json.loads((out / "metrics.json").read_text())
    assert m["counts"] == small_audit.counts() and m["seconds"]["page"] >= 0
    page = (out / "index.html").read_text()
    shown = min(2, len(small_audit.candidates))
    assert page.count('<div class="cand ') == shown
    first = small_audit.candidates.iloc[0]
    assert f"<code>{first.image_id}</code>" in page and "(resembles)" in page
    assert "Bokeh" not in page  # explorer=False: no script at all
    # 1 photo + 1 face + up to 3 + 3 faces per candidate, each a JPEG data URI.
    assert shown * 3 <= page.count("data:image/jpeg;base64,") <= shown * 8


def test_page_without_candidates(small_audit):
    import dataclasses

    none = dataclasses.replace(small_audit, candidates=small_audit.candidates.head(0))
    page = render_audit_page(none, explorer=False)
    assert "No candidate" in page and '<div class="cand ' not in page
