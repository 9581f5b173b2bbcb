"""The report's "dataset health": a dataset audit of the report's own embeddings, in one place.

A label error caps every figure a report gives (a photo of the wrong person is a genuine pair
that no model can pass), so the report says how many photos look mislabelled, duplicated or out
of place before its numbers are read. :func:`add_health` runs
:func:`facelab.analysis.audit.audit_result` on the first model's embeddings (no new embedding,
no file read) and puts the :class:`~facelab.analysis.audit.DatasetAudit` on the
:class:`~facelab.report.compute.ReportData` (``data.health``); :func:`health_metrics` is its block
of ``metrics.json`` and the page's section is :func:`facelab.report.html.dataset_health`. The
full list, with the faces side by side, is ``facelab audit`` (the same computation).
"""

from __future__ import annotations

import dataclasses

__all__ = ["TOP", "add_health", "health_metrics"]

#: Candidates listed in the report's section and in ``metrics.json``.
TOP = 10


def add_health(data):
    """``data`` with ``health``: the audit of its first model's embeddings (a new ReportData)."""
    from facelab.analysis.audit import audit_result

    m = data.model
    audit = audit_result(m.result, names=data.dataset.names)
    audit.skipped = m.skipped.reset_index(drop=True)  # the report's list: empty identity folders too
    return dataclasses.replace(data, health=audit)


def health_metrics(data) -> dict:
    """The ``dataset_health`` block of ``metrics.json``: the model audited, counts, levels and the
    first :data:`TOP` candidates (:meth:`~facelab.analysis.audit.DatasetAudit.to_dict`)."""
    return {"model": data.model.name, **data.health.to_dict(top=TOP),
            "full_list": f"facelab audit {data.dataset.root}"}
