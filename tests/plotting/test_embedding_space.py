"""Embedding maps and CMC curves draw and save.

Set ``FACELAB_PLOT_DIR`` to keep the PNGs for a look.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from facelab.analysis.projection import misjudged_pairs, project  # noqa: E402
from facelab.identification.evaluate import closed_set, gallery_probe_split  # noqa: E402
from facelab.plotting.embedding_space import CmcDisplay, DistanceMatrixDisplay, EmbeddingMapDisplay  # noqa: E402


def clusters(n_id=2, per=15, noise=0.35, seed=0, dim=32):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(n_id, dim))
    e = np.repeat(c, per, axis=0) + noise * rng.normal(size=(n_id * per, dim))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    return e, np.repeat([f"id{k}" for k in range(n_id)], per)


def _face(k, size=48):
    rng = np.random.default_rng(k)
    img = np.full((size, size, 3), rng.integers(40, 220, 3), np.uint8)
    img[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = (230, 190, 160)
    return img


def test_embedding_map_with_thumbnails_and_pairs(outdir):
    e, ids = clusters()
    proj = project(e, method="pca")
    pairs = misjudged_pairs(e, ids, 0.75, max_pairs=10)
    assert len(pairs)
    d = EmbeddingMapDisplay.from_projection(proj, ids, images=[_face(k) for k in range(len(ids))], pairs=pairs,
                                            names={"id0": "Colin Powell", "id1": "Tony Blair"})
    texts = [t.get_text() for t in d.ax_.get_legend().get_texts()]
    assert "Colin Powell" in texts and "Tony Blair" in texts
    assert any("false" in t for t in texts)
    assert len(d.ax_.artists) == len(ids)  # one thumbnail per point
    assert d.ax_.get_title().startswith("PCA")
    d.figure_.savefig(outdir / "map_pca.png", dpi=80)


@pytest.mark.parametrize("method", [os.environ.get("FACELAB_MAP_METHOD", "pca")])  # UMAP compiles for ~30 s
def test_embedding_map_from_embeddings(outdir, method):
    e, ids = clusters(n_id=3, per=10, noise=0.3)
    fig, ax = plt.subplots(figsize=(5, 4))
    d = EmbeddingMapDisplay.from_embeddings(e, ids, method=method, threshold=0.6, ax=ax,
                                            projection_kwargs={"n_neighbors": 8} if method == "umap" else {})
    assert d.ax_ is ax and d.projection_.method == method
    assert len(d.ax_.collections) == 3
    d.figure_.savefig(outdir / f"map_{method}_3id.png", dpi=80)


def test_cmc_display(outdir):
    e, ids = clusters(n_id=8, per=4, noise=0.9)
    res = closed_set(e, ids, gallery_probe_split(ids, k=1, seed=0))
    d = CmcDisplay.from_result(res, name="synthetic")
    x, y = d.line_.get_data()
    assert list(x) == list(range(1, 9)) and y[-1] == pytest.approx(1.0) and np.all(np.diff(y) >= 0)
    assert "rank-1" in d.line_.get_label()
    d.figure_.savefig(outdir / "cmc.png", dpi=80)
    d2 = CmcDisplay.from_embeddings(e, ids)
    assert np.allclose(d2.cmc, res.cmc)


def test_projection_grid_layout(outdir):
    from facelab.plotting.embedding_space import ProjectionGridDisplay

    e, ids = clusters(n_id=3, per=8)
    base = project(e, method="pca")
    # Stand-in projections (PCA, relabelled) keep this test free of UMAP's compile time.
    projs = {}
    for nn in (5, 15):
        for md in (0.0, 0.5):
            projs[(nn, md)] = type(base)(base.coords * (1 + md), "umap", {"n_neighbors": nn, "min_dist": md})
    d = ProjectionGridDisplay(projs, ids).plot()
    assert d.ax_.shape == (2, 2)
    assert d.ax_[1, 0].get_title() == "n_neighbors=15, min_dist=0.0"
    d.figure_.savefig(outdir / "grid.png", dpi=70)


def test_embedding_map_add_points(outdir):
    e, ids = clusters()
    proj = project(e[::2], method="pca")
    d = EmbeddingMapDisplay.from_projection(proj, ids[::2])
    n = len(d.ax_.collections)
    assert d.add_points(proj.transform(e[1::2]), ids[1::2], label="placed") is d
    added = d.ax_.collections[n:]
    assert len(added) == 2 and sum(len(c.get_offsets()) for c in added) == len(ids[1::2])
    assert [tuple(c.get_facecolor()[0]) for c in added] == [tuple(d.colors_[i]) for i in ("id0", "id1")]
    d.figure_.savefig(outdir / "map_placed.png", dpi=80)


def test_distance_matrix_display(outdir):
    e, ids = clusters(n_id=3, per=6, noise=0.4)
    shuffle = np.random.default_rng(1).permutation(len(ids))
    e, ids = e[shuffle], ids[shuffle]
    d = DistanceMatrixDisplay.from_embeddings(e, ids, names={"id0": "Colin Powell"})
    assert list(d.identities) == sorted(ids)  # grouped by identity
    sq = ((e[d.order_][:, None, :] - e[d.order_][None, :, :]) ** 2).sum(-1)
    assert np.allclose(d.matrix, sq, atol=1e-6) and np.allclose(d.matrix, d.matrix.T)
    same = np.equal.outer(d.identities, d.identities)
    off = ~np.eye(len(ids), dtype=bool)
    means = d.block_means()
    assert means["same person"] == pytest.approx(sq[same & off].mean())
    assert means["different people"] == pytest.approx(sq[~same].mean())
    assert means["same person"] < means["different people"]
    labels = [t.get_text() for t in d.ax_.get_xticklabels()]
    assert labels == ["Colin Powell", "id1", "id2"]
    assert len(d.ax_.lines) == 4  # two boundaries between three blocks, drawn across and down
    d.figure_.savefig(outdir / "distance_matrix.png", dpi=80)
    fig, ax = plt.subplots()
    c = DistanceMatrixDisplay.from_embeddings(e, ids, metric="cosine", ax=ax, colorbar=False)
    assert c.ax_ is ax and np.allclose(c.matrix, 1 - sq / 2, atol=1e-6) and c.image_.get_clim() == (-0.2, 1.0)
    with pytest.raises(ValueError, match="metric"):
        DistanceMatrixDisplay(np.eye(2), ["a", "b"], metric="euclid")
