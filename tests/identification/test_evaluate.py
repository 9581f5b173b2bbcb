"""Identification metrics on small constructed embeddings with hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from facelab.core.errors import EvaluationError
from facelab.identification import evaluate as I


def unit(deg):
    r = np.deg2rad(np.asarray(deg, dtype=float))
    return np.stack([np.cos(r), np.sin(r)], axis=1)


# Rows: a0 a1 a2 b0 b1 b2 c0. Gallery a0 (0 deg) and b0 (90 deg); c0 is a distractor.
ANGLES = [0, 10, 80, 90, 100, 50, 30]
IDS = np.array(["A", "A", "A", "B", "B", "B", "C"])


def hand_split():
    return I.Split(
        gallery=np.array([0, 3]),
        probes=np.array([1, 2, 4, 5, 6]),
        mated=np.array([True, True, True, True, False]),
        enrolled=np.array(["A", "B"]),
        distractor_identities=np.array(["C"]),
        excluded=np.zeros(0, int),
        k=1,
        seed=0,
    )


def test_identity_scores_are_max_cosine():
    s = I.identity_scores(unit(ANGLES), IDS, hand_split())
    expect = np.cos(np.deg2rad([[10, 80], [80, 10], [100, 10], [50, 40], [30, 60]]))
    assert np.allclose(s, expect)


def test_closed_set_rank1_and_cmc():
    r = I.closed_set(unit(ANGLES), IDS, hand_split())
    # a1 -> A (rank 1), a2 closer to B (rank 2), b1 -> B, b2 (50 deg) -> B.
    assert r.ranks.tolist() == [1, 2, 1, 1]
    assert r.rank1 == pytest.approx(0.75)
    assert r.cmc.tolist() == pytest.approx([0.75, 1.0])
    assert r.n_probes == 4 and r.n_enrolled == 2


@pytest.mark.parametrize(
    "t, precision, recall, accuracy, fpir, counts",
    [
        # Best matches: a1 A .985 ok, a2 B .985 wrong, b1 B .985 ok, b2 B .766 ok, c0 A .866 distractor.
        (0.9, 2 / 3, 2 / 4, 3 / 5, 0.0, dict(n_accepted=3, n_correct=2, n_wrong_identity=1, n_rejected_mated=1,
                                             n_accepted_distractors=0)),
        (0.8, 2 / 4, 2 / 4, 2 / 5, 1.0, dict(n_accepted=4, n_correct=2, n_wrong_identity=1, n_rejected_mated=1,
                                             n_accepted_distractors=1)),
        (0.7, 3 / 5, 3 / 4, 3 / 5, 1.0, dict(n_accepted=5, n_correct=3, n_wrong_identity=1, n_rejected_mated=0,
                                             n_accepted_distractors=1)),
        (0.99, math.nan, 0.0, 1 / 5, 0.0, dict(n_accepted=0, n_correct=0, n_rejected_mated=4)),
    ],
)
def test_open_set_hand_computed(t, precision, recall, accuracy, fpir, counts):
    r = I.open_set(unit(ANGLES), IDS, hand_split(), t)
    if math.isnan(precision):
        assert math.isnan(r.precision) and r.to_dict()["precision"] is None
    else:
        assert r.precision == pytest.approx(precision)
    assert r.recall == pytest.approx(recall)
    assert r.accuracy == pytest.approx(accuracy)
    assert r.fpir == pytest.approx(fpir)
    assert r.fnir == pytest.approx(1 - recall)
    assert r.rank1 == pytest.approx(0.75)
    assert (r.n_probes, r.n_mated, r.n_distractors, r.n_enrolled) == (5, 4, 1, 2)
    for k, v in counts.items():
        assert getattr(r, k) == v, k


def test_open_set_without_distractors_accuracy_is_recall():
    sp = hand_split()
    sp = I.Split(sp.gallery, sp.probes[:4], sp.mated[:4], sp.enrolled, np.array([]), sp.excluded, 1, 0)
    r = I.open_set(unit(ANGLES), IDS, sp, 0.8)
    assert math.isnan(r.fpir) and r.accuracy == pytest.approx(r.recall) == pytest.approx(0.5)


def test_gallery_of_two_uses_the_best_image():
    # A enrolled with 0 and 80 deg: the 75 deg probe matches A through its 80 deg image.
    e = unit([0, 80, 75, 120, 130])
    ids = np.array(["A", "A", "A", "B", "B"])
    sp = I.Split(np.array([0, 1, 3]), np.array([2, 4]), np.array([True, True]), np.array(["A", "B"]),
                 np.array([]), np.zeros(0, int), 2, 0)
    s = I.identity_scores(e, ids, sp)
    assert s[0] == pytest.approx(np.cos(np.deg2rad([5, 45])))
    assert I.closed_set(e, ids, sp).rank1 == 1.0


def test_split_rules_and_determinism():
    ids = np.array(["A"] * 5 + ["B"] * 3 + ["C"] * 1 + ["D"] * 2)
    s1 = I.gallery_probe_split(ids, k=2, seed=1)
    s2 = I.gallery_probe_split(ids, k=2, seed=1)
    assert np.array_equal(s1.gallery, s2.gallery) and np.array_equal(s1.probes, s2.probes)
    assert s1.enrolled.tolist() == ["A", "B"]
    # C (1 image) and D (2 = k images) become distractors.
    assert sorted(s1.distractor_identities.tolist()) == ["C", "D"]
    assert sorted(ids[s1.gallery].tolist()) == ["A", "A", "B", "B"]
    assert set(s1.gallery) | set(s1.probes) == set(range(ids.size))
    assert not set(s1.gallery) & set(s1.probes)
    assert (s1.mated == np.isin(ids[s1.probes], ["A", "B"])).all()
    ex = I.gallery_probe_split(ids, k=2, seed=1, few="exclude")
    assert ex.distractor_identities.size == 0 and sorted(ex.excluded.tolist()) == [8, 9, 10]
    assert ex.mated.all()
    seeds = {tuple(I.gallery_probe_split(ids, k=2, seed=s).gallery) for s in range(10)}
    assert len(seeds) > 1


def test_split_distractor_fraction():
    ids = np.repeat(np.arange(10), 3)
    sp = I.gallery_probe_split(ids, k=1, seed=0, distractor_fraction=0.3)
    assert sp.n_enrolled == 7 and sp.distractor_identities.size == 3
    assert (~sp.mated).sum() == 9


def test_split_nothing_to_enrol():
    with pytest.raises(EvaluationError, match="no identity has more than k=1"):
        I.gallery_probe_split(["a", "b", "c"])
    with pytest.raises(ValueError):
        I.gallery_probe_split(["a", "a"], k=0)


def _clustered(n_id=6, per=5, noise=0.05, seed=0, dim=16):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_id, dim))
    e = np.repeat(centers, per, axis=0) + noise * rng.normal(size=(n_id * per, dim))
    return e, np.repeat([f"p{i}" for i in range(n_id)], per)


def test_evaluate_identification_repeats_and_table_format():
    e, ids = _clustered()
    r = I.evaluate_identification(e, ids, threshold=0.5, k=1, repeats=3, seed=0)
    assert len(r.runs) == 3 and r.mean["rank1"] == 1.0 and r.mean["recall"] == 1.0
    assert math.isnan(r.mean["fpir"])
    assert r.to_dict()["mean"]["fpir"] is None
    e2, ids2 = _clustered(n_id=4, noise=0.8, seed=1)
    tab = I.identification_table({"A(1:6)": (e, ids), "B(1:4)": (e2, ids2)}, threshold=0.5, repeats=2)
    assert list(tab.index) == ["A(1:6)", "B(1:4)"]
    assert tab.loc["A(1:6)", "enrolled"] == 6 and tab.loc["A(1:6)", "probes"] == 24
    # The mean over repeats is the mean of the runs.
    runs = I.evaluate_identification(e2, ids2, threshold=0.5, repeats=2).runs
    assert tab.loc["B(1:4)", "precision"] == pytest.approx(np.mean([x.precision for x in runs]))
    lines = I.format_reference(tab).splitlines()
    assert lines[0] == "A(1:6)  precision 1.0000  recall 1.0000  accuracy 1.0000"
    assert I.format_reference(tab, labels=False).splitlines()[0] == "A(1:6) 1.0000 1.0000 1.0000"


def test_identification_table_takes_computed_results_without_recomputing(monkeypatch):
    e, ids = _clustered()
    e2, ids2 = _clustered(n_id=4, noise=0.8, seed=1)
    kw = dict(threshold=0.5, k=2, repeats=3, seed=4, distractor_fraction=0.25)
    ra = I.evaluate_identification(e, ids, **kw)
    rb = I.evaluate_identification(e2, ids2, **kw)
    fresh = I.identification_table({"A": (e, ids), "B": (e2, ids2)}, **kw)

    def no_second_evaluation(*args, **kwargs):
        raise AssertionError("identification_table recomputed a result it was given")

    monkeypatch.setattr(I, "evaluate_identification", no_second_evaluation)
    given = I.identification_table({"A": ra, "B": rb})
    pd.testing.assert_frame_equal(given, fresh)
    assert given.loc["A", "repeats"] == 3 and given.loc["A", "gallery_size"] == 2
    assert given.loc["B", "precision"] == rb.mean["precision"]
    with pytest.raises(ValueError, match="pass threshold="):
        I.identification_table({"A": (e, ids)})


def test_to_dict_is_json_safe():
    e, ids = _clustered()
    r = I.evaluate_identification(e, ids, threshold=0.5, repeats=2)
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["mean"]["fpir"] is None and d["repeats"] == 2 and d["cmc"] == [float(x) for x in r.cmc]
    assert r.runs[0].to_dict()["fpir"] is None


def test_rank1_by_identity_adds_up_to_the_mean_rank1():
    rng = np.random.default_rng(0)
    ids = np.repeat(np.array(["p", "q", "r", "s", "t"]), [6, 6, 6, 6, 1])
    e = rng.normal(size=(5, 12))[np.searchsorted(np.unique(ids), ids)] + 0.8 * rng.normal(size=(ids.size, 12))
    res = I.evaluate_identification(e, ids, threshold=0.3, repeats=4, seed=2)
    per = res.rank1_by_identity(ids)
    assert set(per.index) == {"p", "q", "r", "s"}  # t has one image: gallery or distractor, never a mated probe
    assert (per.searches == 4 * 5).all()  # 5 probes of each enrolled identity, in each of 4 splits
    # Every split has as many mated probes, so the pooled rate is the mean of the splits' rank-1.
    assert (per.rank1 * per.searches).sum() / per.searches.sum() == pytest.approx(res.mean["rank1"])
    # Counted by hand from the splits' ranks.
    for ident in per.index:
        hits = sum(int(((ids[rows] == ident) & (ranks == 1)).sum()) for rows, ranks in res.mated_ranks)
        assert per.rank1[ident] == pytest.approx(hits / per.searches[ident])
