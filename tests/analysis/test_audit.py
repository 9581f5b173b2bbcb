"""The audit's computation: the block pass against a direct one, each kind of candidate on
constructed embeddings, the levels, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.audit import (
    DUPLICATE_LEVELS,
    KINDS,
    _evidence,
    _segments,
    audit_embeddings,
    near_duplicate_level,
)
from facelab.core.errors import EvaluationError


def _people(n_ids=6, per=8, dim=24, spread=0.35, seed=0):
    """Unit vectors around one centre per identity: faces of a person are close, of two people not."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_ids, dim))
    ids = np.repeat([f"p{k}" for k in range(n_ids)], per)
    e = centres[np.repeat(np.arange(n_ids), per)] + spread * rng.normal(size=(n_ids * per, dim))
    return e / np.linalg.norm(e, axis=1, keepdims=True), ids


def _direct(e, ids, k, level):
    """Own / best / second top-k means, by hand over the full matrix."""
    s = e @ e.T
    np.fill_diagonal(s, -np.inf)
    s[s >= level] = -np.inf
    own, other, second, best_id = [], [], [], []
    for i in range(len(e)):
        means = {}
        for u in np.unique(ids):
            v = np.sort(s[i, ids == u][np.isfinite(s[i, ids == u])])[::-1][:k]
            means[u] = v.mean() if v.size else -np.inf
        own.append(means.pop(ids[i]))
        ranked = sorted(means.items(), key=lambda kv: -kv[1])
        other.append(ranked[0][1])
        second.append(ranked[1][1])
        best_id.append(ranked[0][0])
    return np.array(own), np.array(other), np.array(second), np.array(best_id)


@pytest.mark.parametrize("chunk_size", [None, 5])
def test_block_pass_equals_the_direct_computation(chunk_size):
    e, ids = _people(n_ids=7, per=6)
    ids = ids.copy()
    ids[:3] = "solo"  # an identity of 3 faces ...
    ids[3] = "one"    # ... and one of a single face
    e = e.astype(np.float32)
    e[10] = e[11]     # a duplicate pair, left out of every mean
    uniq, inv, order, starts = _segments(ids)
    own, own_n, other, second, other_id, other_row, (di, dj, dc) = _evidence(
        e, inv, order, starts, k=3, level=0.999, chunk_size=chunk_size)
    d_own, d_other, d_second, d_best = _direct(e.astype(np.float64), ids, 3, 0.999)
    np.testing.assert_allclose(np.nan_to_num(own, nan=-np.inf), d_own, atol=1e-5)
    np.testing.assert_allclose(other, d_other, atol=1e-5)
    np.testing.assert_allclose(second, d_second, atol=1e-5)
    assert list(uniq[other_id]) == list(d_best)
    assert np.isnan(own[3]) and own_n[3] == 0  # the single face has nothing to be judged by
    assert (di.tolist(), dj.tolist()) == ([10], [11]) and dc[0] == pytest.approx(1.0)
    for r in range(len(e)):  # the named face is the nearest of the best other identity
        members = np.flatnonzero(ids == uniq[other_id[r]])
        assert other_row[r] == members[np.argmax(e[members] @ e[r])]


def test_each_kind_of_candidate():
    e, ids = _people()
    ids = ids.astype(object)
    e = e.copy()
    e[3] = e[20] + 1e-4               # p0's photo 3 is p2's photo 20, re-saved: across identities
    ids[9] = "p0"                      # a p1 photo labelled p0: a mislabel
    e[30] = e[31] + 2e-4               # p3 holds one photo twice
    rng = np.random.default_rng(5)
    stray = rng.normal(size=e.shape[1])
    e[44] = stray / np.linalg.norm(stray)  # p5's photo 44 is nobody's face: an outlier
    a = audit_embeddings(e, ids.astype(str), threshold=0.6, duplicate_level=0.995, margin=0.05,
                         image_ids=[f"img{i}" for i in range(len(e))], n_faces=[2 if i == 44 else 1 for i in range(48)])
    kinds = dict(zip(a.candidates.image_id, a.candidates.kind))
    assert kinds["img3"] == "duplicate across identities"
    assert kinds["img9"] == "mislabel"
    assert kinds["img31"] == "duplicate within identity"  # the later copy by image id
    assert kinds["img44"] == "outlier"
    c = a.candidates.set_index("image_id")
    assert c.loc["img3", "other_image"] == "img20" and c.loc["img9", "other_identity"] == "p1"
    assert c.loc["img31", "other_image"] == "img30"
    assert "2 faces" in c.loc["img44", "reason"]  # a group photo: the face used may be someone else's
    # Ranked by kind, then score; every flagged face once, and the faces table says so.
    order = [KINDS.index(k) for k in a.candidates.kind]
    assert order == sorted(order)
    assert list(a.candidates["rank"]) == list(range(1, len(a.candidates) + 1))
    assert sorted(a.faces.image_id[a.faces.kind != ""]) == sorted(a.candidates.image_id)
    assert a.counts()["duplicate_across"] == 1 and a.counts()["duplicate_pairs"] == 2
    flags = a.flags()
    assert flags[9] == "mislabel" and flags[0] == ""
    own, other = a.evidence(int(c.loc["img3", "rank"]), per_identity=4)
    assert other[0] == 20 and len(own) == 4 and all(ids[r] == "p0" for r in own)
    d = a.to_dict(top=3)
    assert d["candidates"] == len(a.candidates) and len(d["top"]) == 3


def test_a_hard_photo_is_not_a_mislabel_when_no_identity_stands_out():
    """Closer to another identity than to its own is not enough when the next one is as close."""
    e, ids = _people(n_ids=4, per=6, spread=0.2)
    mid = e[6] + e[12]                 # halfway between p1 and p2, labelled p0
    e = e.copy()
    e[0] = mid / np.linalg.norm(mid)
    a = audit_embeddings(e, ids, threshold=0.3, duplicate_level=0.999, margin=0.05)
    row = a.faces.iloc[0]
    assert row.other > row.own and row.standout < 0.05
    assert a.faces.kind.iloc[0] != "mislabel"


def test_levels_and_bad_input():
    from facelab.embedders.base import DLIB_CALIBRATION, GENERIC_ARCFACE_CALIBRATION

    assert near_duplicate_level("dlib", DLIB_CALIBRATION)[0] == DUPLICATE_LEVELS["dlib"]
    level, why = near_duplicate_level("my_net.onnx", GENERIC_ARCFACE_CALIBRATION)
    assert GENERIC_ARCFACE_CALIBRATION.cosine_threshold < level < 1 and "not measured" in why
    e, ids = _people(n_ids=2, per=3)
    kw = dict(threshold=0.5, duplicate_level=0.99, margin=0.01)
    with pytest.raises(EvaluationError, match="1 face to audit"):
        audit_embeddings(e[:1], ids[:1], **kw)
    with pytest.raises(EvaluationError, match="one identity"):
        audit_embeddings(e[:3], ids[:3], **kw)
    with pytest.raises(EvaluationError, match="identity labels"):
        audit_embeddings(e, ids[:4], **kw)
    with pytest.raises(EvaluationError, match="duplicate level"):
        audit_embeddings(e, ids, threshold=0.9, duplicate_level=0.8, margin=0.01)
    with pytest.raises(EvaluationError, match="margin"):
        audit_embeddings(e, ids, threshold=0.5, duplicate_level=0.99, margin=-1)
    with pytest.raises(EvaluationError, match="NaN"):
        audit_embeddings(np.full((6, 4), np.nan), ids, **kw)
