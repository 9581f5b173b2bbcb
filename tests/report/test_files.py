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
    expected = json.loads(json.dumps(report_metrics(two_id_data)))
    written, computed = m["provenance"].pop("timings"), expected["provenance"].pop("timings")
    assert m == expected and set(computed) < set(written)  # the file adds the writing stages' times
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


def test_every_figure_is_a_file_plots_png_photographs_jpeg(two_id_report, two_id_data):
    specs = {f.name: f for f in report_figures(two_id_data)}
    assert {"landmarks", "aligned", "roc", "det", "scores", "threshold_sweep", "umap"} <= set(specs)
    on_disk = sorted(p.name for p in (two_id_report / "figures").iterdir())
    assert on_disk == sorted(f"{n}.{'jpg' if s.photo else 'png'}" for n, s in specs.items())
    assert specs["landmarks"].photo and specs["umap"].photo and not specs["roc"].photo
    for p in (two_id_report / "figures").iterdir():
        assert p.read_bytes().startswith(b"\xff\xd8\xff" if p.suffix == ".jpg" else b"\x89PNG\r\n\x1a\n")


def test_gallery_csvs_list_in_full_what_the_page_samples(two_id_report, two_id_data):
    m = two_id_data.model
    faces = pd.read_csv(two_id_report / "faces.csv", dtype={"identity": str})
    assert len(faces) == len(m.result.table) and set(faces.model) == {"dlib"}
    ok = faces[faces.status == "ok"]
    f0 = m.result.faces[ok.index[0]]
    assert np.allclose(ok.iloc[0][["box_x0", "box_y0", "box_x1", "box_y1"]].to_numpy(float), f0.box[:4], atol=1e-3)
    assert ok.iloc[0]["left_eye_x"] == pytest.approx(f0.landmarks[0, 0], abs=1e-3)
    mis = pd.read_csv(two_id_report / "misjudged_pairs.csv", dtype={"identity1": str, "identity2": str})
    assert len(mis) == len(m.misjudged) and set(mis.kind) <= {"false accept", "false reject"}
    assert ((mis.kind == "false accept") == (mis.identity1 != mis.identity2)).all()
    assert ((mis.cosine >= mis.threshold) == (mis.kind == "false accept")).all()
    ident = pd.read_csv(two_id_report / "identities.csv", dtype={"identity": str})
    assert list(ident.identity) == [str(i) for i in two_id_data.dataset.identities]
    assert ident.photos.sum() == two_id_data.dataset.n_images and ident.faces.sum() == len(m.embeddings)


def test_figures_are_encoded_at_twice_the_size_they_are_shown():
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from facelab.report.files import CSS_DPI, PIXEL_RATIO, encode_figure

    fig = Figure(figsize=(5, 3), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.imshow(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8), extent=(0, 1, 0, 1),
              aspect="auto")  # fills the axes: the figure keeps its width
    png, mime, w, h = encode_figure(fig)
    jpg, mime2, w2, h2 = encode_figure(fig, photo=True)
    assert mime == "image/png" and png.startswith(b"\x89PNG") and mime2 == "image/jpeg" and jpg.startswith(b"\xff\xd8")
    im = Image.open(io.BytesIO(png))
    assert im.mode == "P"  # a palette: plots need no more than 256 colours
    assert im.size == (w * PIXEL_RATIO, h * PIXEL_RATIO) or abs(im.size[0] - w * PIXEL_RATIO) <= 1
    assert (w2, h2) == (w, h) and abs(w - 5 * CSS_DPI) < 0.1 * 5 * CSS_DPI  # "tight" trims a little at most
