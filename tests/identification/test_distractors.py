"""The MegaFace-style distractor curve: mechanics on synthetic vectors, then real LFW faces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facelab.identification.distractors import (
    distractor_counts,
    distractor_curve_for_split,
    format_curve,
    load_distractors,
)
from facelab.identification.evaluate import gallery_probe_split, open_set


def _people(n_ids, per_id, d=32, noise=0.7, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((n_ids, d))
    ids = np.repeat(np.arange(n_ids), per_id)
    e = c[ids] + noise * rng.standard_normal((len(ids), d))
    return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32), ids.astype(str)


def test_counts():
    assert distractor_counts(2500) == [0, 10, 100, 1000, 2500]
    assert distractor_counts(100) == [0, 10, 100]
    assert distractor_counts(0) == [0]


def test_curve_mechanics_on_synthetic_people():
    e, ids = _people(40, 4)
    split = gallery_probe_split(ids, k=1, seed=0, distractor_fraction=0.2)
    D, _ = _people(3000, 1, seed=1)
    curve = distractor_curve_for_split(e, ids, split, D, threshold=0.5)
    t = curve.table
    assert list(t.n_distractors) == [0, 10, 100, 1000, 3000]
    # No distractors: exactly the single-machine open-set search on the same split.
    ref = open_set(e, ids, split, 0.5)
    assert t.rank1[0] == pytest.approx(ref.rank1) and t.fnir[0] == pytest.approx(ref.fnir)
    assert t.fpir[0] == pytest.approx(ref.fpir)
    # Nested distractor sets only make things worse, and the last one does.
    assert (np.diff(t.rank1) <= 0).all() and (np.diff(t.fnir) >= 0).all() and (np.diff(t.fpir) >= 0).all()
    assert t.rank1.iloc[-1] < t.rank1.iloc[0] and t.fpir.iloc[-1] > t.fpir.iloc[0]
    assert (t.search == "exact").all() and curve.recall is None
    assert "rank-1" in format_curve(curve)


def test_approximate_index_past_the_threshold_reports_recall():
    e, ids = _people(40, 4)
    split = gallery_probe_split(ids, k=1, seed=0, distractor_fraction=0.2)
    D, _ = _people(3000, 1, seed=1)
    exact = distractor_curve_for_split(e, ids, split, D, threshold=0.5)
    approx = distractor_curve_for_split(e, ids, split, D, threshold=0.5, approx_threshold=1000, index="auto")
    assert list(approx.table.search) == ["exact", "exact", "exact", "hnsw", "hnsw"]
    assert approx.recall is not None and approx.recall.recall >= 0.9
    assert "recall@1" in format_curve(approx)
    # An approximate search can only miss distractors: never a lower rank-1 than exact.
    assert (approx.table.rank1.values >= exact.table.rank1.values - 1e-12).all()


def test_distractors_from_files_and_store(tmp_path):
    from facelab.embedders.files import write_embeddings
    from facelab.engine.store import EmbeddingStore

    D, _ = _people(5, 1, d=8)
    write_embeddings(tmp_path / "d.npz", [f"x{i}" for i in range(5)], D)
    ids, vecs = load_distractors(tmp_path / "d.npz")
    np.testing.assert_array_equal(vecs, D)
    t = pd.DataFrame({"image_id": ids, "path": ids, "status": ["ok"] * 5})
    EmbeddingStore(tmp_path / "s").append(t, list(D), settings_key="k")
    ids2, vecs2 = load_distractors(tmp_path / "s")
    assert ids2 == ids and np.array_equal(vecs2, D)


@pytest.fixture(scope="module")
def lfw_faces(lfw):
    """~60 real LFW faces: 6 enrolled-size identities (5 images each), 10 one-photo people as
    non-mated probes, 20 more one-photo people as distractors -- embedded once (cached)."""
    from facelab.engine.pipeline import embed_images

    imgs = lfw.images()
    counts = imgs.identity.value_counts()
    big = ["George_W_Bush", "Colin_Powell", "Tony_Blair", "Donald_Rumsfeld", "Gerhard_Schroeder", "Ariel_Sharon"]
    singles = sorted(counts[counts == 1].index)[::50][:30]
    chosen = pd.concat([imgs[imgs.identity == n].head(5) for n in big] + [imgs[imgs.identity.isin(singles)]])
    res = embed_images(chosen, progress=False)
    ok = res.embedded
    return res.embeddings, np.asarray(ok.identity), singles


def test_distractor_curve_on_lfw_identities(lfw_faces):
    e, ids, singles = lfw_faces
    nonmated_people, distractor_people = set(singles[:10]), set(singles[10:])
    is_d = np.isin(ids, list(distractor_people))
    keep = ~is_d
    split = gallery_probe_split(ids[keep], k=1, seed=0)  # one-photo people are non-mated probes
    assert split.n_enrolled == 6 and (~split.mated).sum() == len(nonmated_people & set(ids))
    thr = 1 - 0.36 / 2  # dlib's usual 0.6 L2 distance as cosine
    curve = distractor_curve_for_split(e[keep], ids[keep], split, e[is_d], threshold=thr, counts=[0, 5, 10, 20])
    t = curve.table
    assert list(t.n_distractors) == [0, 5, 10, int(is_d.sum())]
    assert t.rank1[0] >= 0.9  # real faces, a real model: the enrolled people are found
    assert (np.diff(t.rank1) <= 0).all() and (np.diff(t.fpir) >= 0).all()
    ref = open_set(e[keep], ids[keep], split, thr)
    assert (t.rank1[0], t.fnir[0], t.fpir[0]) == pytest.approx((ref.rank1, ref.fnir, ref.fpir))
