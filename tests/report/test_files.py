"""The report's files agree with each other and with the ReportData they were written from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from facelab.report.figures import report_figures
from facelab.report.files import model_metrics, report_metrics


def test_metrics_json_is_strict_json_of_the_first_model(two_id_report, two_id_data):
    text = (two_id_report / "metrics.json").read_text()
    m = json.loads(text)
    json.dumps(m, allow_nan=False)  # NaN written as null
    assert set(m) == {"dataset", "model", "verification", "identification", "provenance", "dataset_health"}
    first = json.loads(json.dumps(model_metrics(two_id_data, two_id_data.model), default=str, allow_nan=True))
    assert m["model"]["name"] == first["model"]["name"] == "dlib"
    assert m == json.loads(json.dumps(report_metrics(two_id_data)))
    op = m["verification"]["operating_point"]
    assert op["cosine"] == pytest.approx(two_id_data.model.calibration.cosine_threshold)


def test_pair_scores_csv_recomputes_the_operating_point(two_id_report, two_id_data):
    df = pd.read_csv(two_id_report / "pair_scores.csv", dtype={"identity1": str, "identity2": str})
    m = json.loads((two_id_report / "metrics.json").read_text())
    op = m["verification"]["operating_point"]
    assert len(df) == m["verification"]["pairs"] == len(two_id_data.model.scores)
    assert np.allclose(df.distance, 2 - 2 * df.cosine, atol=2e-6)
    cal = two_id_data.model.calibration
    # Written to 6 decimals, from the unrounded cosines.
    assert np.allclose(df.cosine, two_id_data.model.scores, atol=1e-6)
    assert np.allclose(df.score, cal.score(2 - 2 * two_id_data.model.scores.astype(float)), atol=1e-6)
    # Recounted from the file (6 decimals): the accuracy at the model's cosine threshold.
    acc = np.mean((df.cosine >= op["cosine"]) == df.same)
    assert acc == pytest.approx(op["accuracy"], abs=2 / len(df))
    assert set(df.identity1) | set(df.identity2) == set(two_id_data.model.identities)


def test_tables_list_every_image(two_id_report, two_id_data):
    m = two_id_data.model
    images = pd.read_csv(two_id_report / "images.csv")
    assert len(images) == two_id_data.dataset.n_images and "box" not in images
    skipped = pd.read_csv(two_id_report / "skipped.csv")
    assert len(skipped) == len(m.skipped)
    emb = json.loads((two_id_report / "face_embeddings.json").read_text())
    assert list(emb) == m.result.ids
    assert np.allclose(np.asarray(list(emb.values())), m.embeddings, atol=1e-6)


def test_every_figure_is_a_png_file(two_id_report, two_id_data):
    names = [f.name for f in report_figures(two_id_data)]
    assert {"landmarks", "aligned", "roc", "det", "scores", "threshold_sweep", "umap"} <= set(names)
    on_disk = sorted(p.stem for p in (two_id_report / "figures").glob("*.png"))
    assert on_disk == sorted(names)
    for p in (two_id_report / "figures").iterdir():
        assert p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
