"""An embedding run's faces clustered and scored (real LFW faces), the gallery's pick, the threshold sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facelab.analysis.clustering import ALGORITHMS
from facelab.analysis.face_clusters import cluster_result, threshold_sweep
from facelab.core.errors import EvaluationError


@pytest.fixture(scope="module")
def small_result(small_lfw):
    from facelab.engine.pipeline import embed_folder

    return embed_folder(small_lfw, policy="central", progress=False)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_real_faces_cluster_into_their_people_at_the_models_threshold(small_result, algorithm):
    fc = cluster_result(small_result, labels="identity", algorithm=algorithm)
    # Five LFW people, four photos each: every algorithm finds them (the labels only score).
    assert fc.scores.bcubed_f >= 0.95 and fc.scores.n_identities == 5
    assert fc.clustering.threshold == (None if algorithm == "hdbscan" else small_result.calibration.cosine_threshold)
    t = fc.table()
    assert list(t.columns[:10]) == ["face_id", "image", "face", "path", "x0", "y0", "x1", "y1", "cluster", "confidence"]
    assert t.identity.tolist() == small_result.identities and t.face_id.tolist() == small_result.ids
    assert (t.x1 > t.x0).all() and t.face.isna().all()
    m = fc.metrics()
    assert m["scores"]["bcubed_f"] == fc.scores.bcubed_f and m["n_scored"] == 20 and m["labelled"]


def test_without_labels_nothing_is_scored_and_too_few_faces_say_why(small_result, tmp_path):
    from facelab.engine.pipeline import embed_images

    fc = cluster_result(small_result)
    assert fc.scores is None and not fc.labelled and "identity" not in fc.table() and fc.metrics()["scores"] is None
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.fromarray(np.full((80, 80, 3), 128, np.uint8)).save(blank)
    one = small_result.table.path.iloc[0]
    res = embed_images(pd.DataFrame({"image_id": ["a", "b"], "path": [one, str(blank)]}), cache=False, progress=False)
    with pytest.raises(EvaluationError, match=r"at least 2 faces; 2 photos gave 1 \(1 without one: .*blank.png: no_face"):
        cluster_result(res)


def test_every_face_mode_scores_face_0_with_the_photos_label(small_lfw, tmp_path):
    # A photo per identity folder that holds two people: only its largest face carries the label.
    from facelab.data.photo_folder import build_photo_folder
    from facelab.engine.pipeline import embed_folder

    pf = build_photo_folder(tmp_path / "pf", identities=["Colin_Powell", "Tony_Blair"], singles_per_identity=1,
                            n_groups=1, group_sizes=(2, 2), seed=3)
    import shutil

    for name in ("Colin_Powell", "Tony_Blair"):
        shutil.copytree(small_lfw / name, tmp_path / "ids" / name, ignore=lambda d, files: files[2:])
    shutil.copy(pf.photos / "group_0001.jpg", tmp_path / "ids" / "Tony_Blair" / "group.jpg")
    res = embed_folder(tmp_path / "ids", policy="all", progress=False)
    fc = cluster_result(res, labels="identity")
    group = fc.faces[fc.faces.image_id == "Tony_Blair/group"]
    assert len(group) == 2 and group.identity.tolist() == ["Tony_Blair", ""]
    assert fc.metrics()["n_scored"] == len(fc.faces) - 1
    assert any("1 of" in n and "no label" in n for n in fc.notes)
    with pytest.raises(EvaluationError, match="labels must be 'identity'"):
        cluster_result(res, labels="name")


def test_threshold_sweep_trades_precision_for_recall(small_result):
    ts = [0.8, 0.9, 0.95, 0.99]
    sweep = threshold_sweep(small_result.embeddings, small_result.identities, calibration=small_result.calibration,
                            thresholds=ts)
    assert sweep.threshold.tolist() == ts
    # Stricter: never less precise, never more complete; at 0.99 nearly every face is alone.
    assert sweep.bcubed_precision.is_monotonic_increasing and sweep.bcubed_recall.is_monotonic_decreasing
    assert sweep.n_unclustered.iloc[-1] > sweep.n_unclustered.iloc[0]
    assert set(sweep.columns) >= {"pairwise_f", "bcubed_f", "nmi", "n_clusters"}
    with pytest.raises(EvaluationError, match="no threshold"):
        threshold_sweep(small_result.embeddings, small_result.identities, calibration=small_result.calibration,
                        thresholds=ts, algorithm="hdbscan")
