"""compute_report: one pipeline run, every number once, typed faces and chips carried through."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from facelab.core.errors import EvaluationError
from facelab.report import DatasetSummary, ModelReport, ReportData, compute_report
from facelab.report.compute import MAX_MAP_PAIRS, SAMPLES_PER_IDENTITY
from facelab.stages.faces import Face


def test_one_model_block_and_the_dataset(two_id_data):
    data = two_id_data
    assert isinstance(data, ReportData) and isinstance(data.dataset, DatasetSummary)
    assert len(data.models) == 1 and isinstance(data.models[0], ModelReport) and data.model is data.models[0]
    ds = data.dataset
    assert ds.n_images == 100 and ds.n_identities == 2 and sum(ds.images_per_identity.values()) == 100
    assert data.settings.n_boot == 200 and data.settings.max_impostors == 200_000
    m = data.model
    from facelab.models.weights import default_detector

    assert m.name == "dlib" and m.spec == "dlib" and m.detector == default_detector("dlib")  # its own (YuNet)
    assert len(m.result.embedded) + len(m.skipped) == 100


def test_chips_and_faces_come_from_the_pipeline(two_id_data):
    m = two_id_data.model
    res = m.result
    assert res.chips is not None and res.chips.shape[0] == len(res.embeddings) and res.chips.dtype == np.uint8
    # Samples: up to three per identity, every identity shown.
    per = m.samples.groupby("identity").size()
    assert set(per.index) == set(m.identities) and (per <= SAMPLES_PER_IDENTITY).all()
    faces = m.sample_faces()
    for idx, face in zip(m.samples.index, faces):
        assert isinstance(face, Face) and face is res.faces[idx]  # the pipeline's own face, not a made-up one
        box = np.asarray(res.table.loc[idx, "box"], float)
        assert np.allclose(face.box, box)
    for r, chip in zip(m.samples.row, m.sample_chips()):
        assert chip is res.chips[int(r)] or np.shares_memory(chip, res.chips)


def test_verification_numbers(two_id_data):
    m = two_id_data.model
    cal = m.calibration
    assert m.threshold == pytest.approx(cal.cosine_threshold)
    assert m.calibration.score_for_cosine(m.threshold) == pytest.approx(cal.threshold)
    assert len(m.scores) == len(m.pairs.same)
    # The operating point, counted by hand.
    accept = m.scores >= m.threshold
    assert m.operating_point.accuracy == pytest.approx(np.mean(accept == m.pairs.same))
    # The misjudged pairs are exactly the wrong-side ones, hardest first within each kind.
    wrong = np.flatnonzero(accept != m.pairs.same)
    assert sorted(m.misjudged.pair) == wrong.tolist()
    fa = m.misjudged[m.misjudged.kind == "false accept"]
    assert list(fa.score) == sorted(fa.score, reverse=True)
    assert len(m.map_pairs) == min(MAX_MAP_PAIRS, m.n_map_pairs)
    # dlib separates the two people almost perfectly.
    assert m.verification.auc > 0.98


def test_identification_is_evaluated_once(two_id_build):
    m = two_id_build.data.model
    assert two_id_build.identification_runs == 1
    row = m.identification_table.loc[m.identification_set]
    for k in ("precision", "recall", "accuracy", "rank1"):
        assert row[k] == m.identification.mean[k]
    assert m.identification_set == f"{two_id_build.data.dataset.name}(1:2)"
    assert m.identification.threshold == m.threshold


def test_one_identity_is_a_clear_error(tmp_path, lfw):
    (tmp_path / "only").mkdir()
    for k in (1, 2, 3):
        shutil.copy(lfw.image_path("Tony_Blair", k), tmp_path / "only" / f"{k}.jpg")
    with pytest.raises(EvaluationError, match="at least two identities"):
        compute_report(tmp_path, progress=False)
