"""The report's "dataset health": the audit of the report's own embeddings, its section, its
block of metrics.json and the explorer's flag colours."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from facelab.report import html as H
from facelab.report.health import TOP, add_health, health_metrics


def test_health_is_the_audit_of_the_first_models_embeddings(two_id_data):
    a, m = two_id_data.health, two_id_data.model
    assert a is not None and a.settings.model == m.name == "dlib"
    assert list(a.faces.image_id) == list(m.result.embedded.image_id)
    assert np.allclose(a.embeddings, m.embeddings, atol=1e-6)  # no second embedding run
    assert a.settings.threshold == m.threshold


def test_section_and_metrics(two_id_report, two_id_data):
    a = two_id_data.health
    c = a.counts()
    sec = H.dataset_health(two_id_data, {})
    assert sec.id == "dataset-health" and sec.title == "Dataset health"
    for label, key in (("suspected label errors", "mislabel"), ("outliers", "outlier"),
                       ("duplicates across identities", "duplicate_across")):
        assert f"<b>{c[key]}</b><span>{label}</span>" in sec.body
    assert f"facelab audit {two_id_data.dataset.root}" in sec.body
    page = (two_id_report / "index.html").read_text()
    assert '<section id="dataset-health">' in page and sec.body in page
    m = json.loads((two_id_report / "metrics.json").read_text())
    assert m["dataset_health"] == json.loads(json.dumps(health_metrics(two_id_data)))
    assert m["dataset_health"]["counts"] == c and len(m["dataset_health"]["top"]) == min(TOP, len(a.candidates))
    # The report's explorer can colour its faces by the audit's flags.
    assert "audit flag" in page and '"color_cat0"' in page


def test_a_relabelled_photo_shows_in_the_section(two_id_data):
    """A Tony Blair photo labelled Colin Powell in the report's table is its first suspected label error."""
    m = two_id_data.model
    t = m.result.table.copy()
    ids = sorted(set(t.identity))
    row = t.index[(t.status == "ok") & (t.identity == ids[1])][0]
    t.loc[row, "identity"] = ids[0]
    moved = t.image_id[row]
    data = dataclasses.replace(two_id_data, models=[dataclasses.replace(m, result=dataclasses.replace(m.result, table=t))])
    a = add_health(data).health
    first = a.candidates[a.candidates.kind == "mislabel"].iloc[0]
    assert first.image_id == moved and first.other_identity == ids[1]
    body = H.dataset_health(add_health(data), {}).body
    assert moved in body and "mislabel" in body


def test_no_audit_no_section(two_id_data):
    assert H.dataset_health(dataclasses.replace(two_id_data, health=None), {}) is None
    page = H.render_page(dataclasses.replace(two_id_data, health=None), {}, interactive=False)
    assert 'id="dataset-health"' not in page
