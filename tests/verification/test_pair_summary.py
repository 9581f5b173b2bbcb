"""facelab.verification.pair_summary: the counts behind the threshold slider equal verification's,
the hardest pairs are the hardest, and misjudged pairs and faces are judged at the same grid
threshold as the counts."""

from __future__ import annotations

import numpy as np
import pytest

from facelab import verification as V
from facelab.core.errors import EvaluationError
from facelab.verification.pair_summary import GRID_STEP, grid_positions, summarise_pairs


def _data(n=150, nid=5, d=16, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, nid, n)
    emb = rng.normal(size=(nid, d))[codes] + rng.normal(size=(n, d))
    return emb, np.asarray([f"p{c}" for c in codes])


def test_pair_summary_counts_match_verification():
    emb, ids = _data(160)
    ps = summarise_pairs(emb, ids, max_pairs=25, chunk_size=23)
    s, y, i, j = V.all_pair_scores(emb, ids)
    assert (ps.n_genuine, ps.n_impostor) == (int(y.sum()), int((~y).sum()))
    for t in (-0.3, 0.0, 0.25, 0.5, 0.8):
        k = ps.index(t)
        c = V.confusion_at(s, y, ps.thresholds[k])
        assert (ps.n_false_accept[k], ps.n_false_reject[k]) == (c.fp, c.fn)
        assert ps.far[k] == pytest.approx(c.far) and ps.frr[k] == pytest.approx(c.frr)
    # the hardest pairs: highest-scoring impostors and lowest-scoring genuine pairs
    h = ps.hardest
    assert np.allclose(np.sort(h[~h.same].score)[::-1], np.sort(s[~y])[::-1][:25], atol=1e-5)
    assert np.allclose(np.sort(h[h.same].score), np.sort(s[y])[:25], atol=1e-5)
    assert (h.i < h.j).all() and not h.duplicated(["i", "j"]).any()
    # a face is "in a misjudged pair" at t exactly when its extremes say so
    t = ps.best_threshold()
    bad = (~y & (s >= t)) | (y & (s < t))
    in_bad = np.zeros(len(ids), bool)
    in_bad[i[bad]] = in_bad[j[bad]] = True
    assert np.array_equal(in_bad, (ps.max_impostor >= t) | (ps.min_genuine < t))
    assert ps.accuracy[ps.index(t)] == pytest.approx(V.confusion_at(s, y, t).accuracy)


def test_pair_summary_of_given_pairs():
    emb, ids = _data(60)
    pairs = V.make_pairs(ids, max_impostors=200, seed=1)
    scores = V.pair_scores(emb, pairs)
    ps = summarise_pairs(emb, ids, pairs=pairs, scores=scores, max_pairs=10)
    assert (ps.n_genuine, ps.n_impostor) == (pairs.n_genuine, pairs.n_impostor)
    k = ps.index(0.3)
    c = V.confusion_at(scores, pairs.same, ps.thresholds[k])
    assert (ps.n_false_accept[k], ps.n_false_reject[k]) == (c.fp, c.fn)
    with pytest.raises(EvaluationError, match="scores"):
        summarise_pairs(emb, ids, pairs=pairs, scores=scores[:-1])


def test_grid_positions_decide_as_the_counts_do():
    grid = np.round(np.arange(-1.0, 1.0 + GRID_STEP / 2, GRID_STEP), 6)
    v = np.array([grid[1200], grid[1200] - 1e-7, grid[1200] + 1e-7, -np.inf, np.inf])
    pos = grid_positions(v)
    assert list(pos[:3]) == [1200, 1199, 1200]  # on a grid point counts as at it
    assert pos[3] == -1 and pos[4] == grid.size
    rng = np.random.default_rng(0)
    s = rng.uniform(-1, 1, 500)
    for k in (0, 700, 1234, grid.size - 1):
        assert ((grid_positions(s) >= k) == (s >= grid[k] - 1e-12)).all()


def test_misjudged_pairs_and_faces_at_an_off_grid_threshold():
    emb, ids = _data(120, nid=4)
    ps = summarise_pairs(emb, ids, max_pairs=2000)  # every pair kept: the lists are complete
    s, y, i, j = V.all_pair_scores(emb, ids)
    t = 0.3333  # off the grid: everything is judged at 0.333
    tg = ps.grid_threshold(t)
    assert tg == pytest.approx(0.333)
    wrong = (y & (s < tg)) | (~y & (s >= tg))
    m = ps.misjudged_pairs(t)
    assert len(m) == int(wrong.sum()) == ps.n_misjudged(t)
    assert (m.margin >= 0).all() and m.margin.is_monotonic_decreasing  # hardest first
    assert set(zip(m.i, m.j)) == set(zip(np.minimum(i, j)[wrong], np.maximum(i, j)[wrong]))
    assert len(ps.misjudged_pairs(t, limit=7)) == 7
    in_bad = np.zeros(len(ids), bool)
    in_bad[i[wrong]] = in_bad[j[wrong]] = True
    assert np.array_equal(ps.misjudged_faces(t), in_bad)
    # a short list of hardest pairs never has more misjudged pairs than the count
    short = summarise_pairs(emb, ids, max_pairs=5)
    assert len(short.misjudged_pairs(t)) <= short.n_misjudged(t) == ps.n_misjudged(t)
