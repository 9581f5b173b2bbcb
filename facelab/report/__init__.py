"""The evaluation report: one folder a researcher can hand on.

:func:`build_report` runs the whole pipeline on a folder-per-identity dataset -- landmarks,
alignment, embeddings (cached), verification, identification, UMAP -- and writes::

    <out>/index.html          self-contained (figures inlined), opens from disk
    <out>/metrics.json        dataset, model, verification, identification, provenance, dataset_health
    <out>/figures/*.png       every figure of the page, as files
    <out>/pair_scores.csv     every pair: image ids, identities, cosine, squared distance, score
    <out>/face_embeddings.json  the reference format {image_id: [floats]}
    <out>/images.csv          every input image with its status and reason
    <out>/skipped.csv         every image or file that was not used, with its reason
    <out>/distractor_curve.csv  (with ``distractors=``) rank-1, FNIR, FPIR per distractor count

One module per job, data flowing one way (notebook 06 calls the same steps):

==============  ===============================================================================
module          job
==============  ===============================================================================
``compute``     :func:`compute_report` -> :class:`ReportData` (the pipeline once, every number;
                one :class:`ModelReport` per model); no file, no figure
``figures``     every figure as a :class:`matplotlib.figure.Figure` (no pyplot, no backend switch)
``files``       ``metrics.json`` (:func:`~facelab.report.files.report_metrics`), the CSV/JSON
                tables, ``figures/*.png``
``html``        one function per section -> ``(id, title, html)``; :func:`~facelab.report.html.render_page`
``provenance``  :func:`provenance`, :func:`dataset_fingerprint`, :func:`~facelab.report.provenance.versions`
``distractors`` the MegaFace-style curve of ``--distractors``
                (:func:`~facelab.report.distractors.compute_distractors`), computed only
``health``      the "dataset health" section's audit of the first model's embeddings
                (:func:`~facelab.report.health.add_health`), computed only
``audit_page``  ``facelab audit``'s files and page (:func:`~facelab.report.audit_page.write_audit`)
``build``       :func:`build_report` = :func:`compute_report` then :func:`write_report` (atomic)
==============  ===============================================================================
"""

from facelab.report.build import ReportResult, build_report, write_report
from facelab.report.compute import DatasetSummary, ModelReport, ReportData, ReportSettings, compute_report
from facelab.report.provenance import dataset_fingerprint, provenance

__all__ = [
    "build_report",
    "ReportResult",
    "ReportData",
    "ModelReport",
    "DatasetSummary",
    "ReportSettings",
    "compute_report",
    "write_report",
    "provenance",
    "dataset_fingerprint",
]
