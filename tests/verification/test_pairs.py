"""Pairs of a labelled set and their scores (facelab.verification.pairs)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from facelab.core.errors import EvaluationError
from facelab.verification.pairs import (
    all_pair_scores,
    genuine_pairs,
    impostor_pairs,
    make_pairs,
    pair_scores,
    squared_distances,
)


def test_genuine_and_impostor_pairs_enumerate_everything():
    ids = ["a", "b", "a", "c", "b", "a"]
    gi, gj = genuine_pairs(ids)
    expect_g = sorted((i, j) for i, j in itertools.combinations(range(6), 2) if ids[i] == ids[j])
    assert list(zip(gi.tolist(), gj.tolist())) == expect_g
    ii, ij = impostor_pairs(ids)
    expect_i = sorted((i, j) for i, j in itertools.combinations(range(6), 2) if ids[i] != ids[j])
    assert sorted(zip(ii.tolist(), ij.tolist())) == expect_i


def test_impostor_sample_is_seeded_capped_and_valid():
    ids = np.repeat(np.arange(30), 4)
    a = impostor_pairs(ids, max_pairs=200, seed=3)
    b = impostor_pairs(ids, max_pairs=200, seed=3)
    c = impostor_pairs(ids, max_pairs=200, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not (np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1]))
    i, j = a
    assert i.size == 200 and (i < j).all() and (ids[i] != ids[j]).all()
    assert len(set(zip(i.tolist(), j.tolist()))) == 200  # no repeats
    # A cap above half of the pairs samples the full list.
    i2, j2 = impostor_pairs(ids[:12], max_pairs=40, seed=0)
    assert i2.size == 40 and (ids[:12][i2] != ids[:12][j2]).all() and len(set(zip(i2.tolist(), j2.tolist()))) == 40
    # A cap above the total gives all of them.
    assert impostor_pairs(ids[:8], max_pairs=10_000)[0].size == 16


def test_make_pairs_counts_and_order():
    ids = np.repeat(["x", "y", "z"], [3, 2, 1])
    p = make_pairs(ids)
    assert p.n_genuine == 3 + 1
    assert p.n_impostor == p.n_impostor_total == 15 - 4
    assert p.same[: p.n_genuine].all() and not p.same[p.n_genuine:].any()
    p2 = make_pairs(ids, max_impostors=5, seed=1)
    assert p2.n_impostor == 5 and p2.n_impostor_total == 11


@pytest.mark.parametrize(
    "ids, match",
    [
        (["a", "a", "a"], "only one identity"),
        (["a", "b", "c"], "no identity among 3 has two images"),
        ([], "no images"),
    ],
)
def test_make_pairs_degenerate_sets_raise_clear_errors(ids, match):
    with pytest.raises(EvaluationError, match=match):
        make_pairs(ids)


@pytest.mark.parametrize("ids, message", [
    (["a"], "only one identity ('a', 1 image)"),
    (np.array(["Colin Powell"] * 3), "only one identity ('Colin Powell', 3 images)"),
    (np.array([7, 7]), "only one identity (7, 2 images)"),
])
def test_one_identity_is_named_plainly(ids, message):
    # Identities come back from numpy (np.str_, np.int64): the message shows the plain name.
    with pytest.raises(EvaluationError) as exc:
        make_pairs(ids)
    assert str(exc.value).startswith(message + ": verification needs at least two identities"), str(exc.value)


def test_pair_scores_and_distances_match_direct_computation():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(7, 5))
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    p = make_pairs([0, 0, 1, 1, 2, 2, 2])
    s = pair_scores(e, p, chunk_size=3)
    assert np.allclose(s, [u[i] @ u[j] for i, j in zip(p.i, p.j)])
    d = squared_distances(e, p)
    assert np.allclose(d, [np.sum((u[i] - u[j]) ** 2) for i, j in zip(p.i, p.j)])


def test_all_pair_scores_chunked_equals_dense():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(11, 4))
    ids = [0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 4]
    s, y, i, j = all_pair_scores(e, ids, chunk_size=3)
    assert s.size == 55
    u = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert np.allclose(s, np.einsum("ij,ij->i", u[i], u[j]))
    assert np.array_equal(y, np.asarray(ids)[i] == np.asarray(ids)[j])
    assert set(zip(i.tolist(), j.tolist())) == set(itertools.combinations(range(11), 2))
