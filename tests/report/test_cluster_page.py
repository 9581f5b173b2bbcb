"""``facelab cluster``'s outputs: clusters.csv, metrics.json, skipped.csv and the offline page (in Chromium too)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from facelab.analysis.face_clusters import cluster_result, gallery_rows
from facelab.report.cluster_page import render_cluster_page, write_clusters


@pytest.fixture(scope="module")
def clusters(photo_folder):
    """The photo folder's every face, named by its truth, clustered."""
    from facelab.data.datasets import read_photo_folder
    from facelab.data.photo_folder import label_faces
    from facelab.engine.pipeline import embed_images

    res = embed_images(read_photo_folder(photo_folder.photos).images, policy="all", progress=False)
    return cluster_result(res, labels=label_faces(res.embedded, photo_folder.truth), algorithm="hdbscan")


@pytest.fixture(scope="module")
def written(clusters, tmp_path_factory):
    out = tmp_path_factory.mktemp("clusters") / "out"
    write_clusters(clusters, out, per_cluster=3, max_unclustered=2, explorer_method="pca")  # no UMAP to compile
    return out


def test_files_agree_with_the_clustering(clusters, written):
    assert sorted(p.name for p in written.iterdir()) == ["clusters.csv", "index.html", "metrics.json", "skipped.csv"]
    csv = pd.read_csv(written / "clusters.csv")
    assert csv.face_id.tolist() == clusters.faces.face_id.tolist()
    assert csv.cluster.tolist() == clusters.clustering.labels.tolist()
    np.testing.assert_allclose(csv.confidence, clusters.clustering.confidence, rtol=1e-5)
    assert (csv.face_id == csv.image + "#" + csv.face.astype(str)).all()  # every-face keys: image#face
    m = json.loads((written / "metrics.json").read_text())
    assert m["clustering"]["n_clusters"] == clusters.clustering.n_clusters and m["labelled"]
    assert m["scores"]["bcubed_f"] == pytest.approx(clusters.scores.bcubed_f)
    assert set(m["clustering"]["seconds"]) >= {"knn", "cluster", "confidence", "page"}
    # Three people, every face of them found: the clusters are the people.
    assert clusters.scores.bcubed_f >= 0.95 and clusters.scores.n_identities == 3


def test_the_page_shows_every_cluster_sampled_and_says_how_many(clusters, written):
    page = (written / "index.html").read_text()
    sizes = clusters.clustering.sizes
    for k, size in enumerate(sizes):
        assert f"Cluster {k} — {size} faces" in page
        if size > 3:
            assert f"showing 3 of {size}" in page
    faces = re.findall(r'<figure class="face[^"]*"', page)
    shown = gallery_rows(clusters, per_cluster=3, max_unclustered=2)
    assert len(faces) == sum(len(r) for r in shown.values())
    # One picture per face shown in the galleries, each inline once; the explorer adds only its
    # thumbnail sheets (256 faces a sheet, one sheet for this set).
    gallery_images = re.findall(r'<figure class="face[^"]*"[^>]*><img src="data:image/jpeg;base64,', page)
    assert len(gallery_images) == len(faces)
    n_sheets = -(-len(clusters.faces) // 256)
    assert page.count("data:image/jpeg;base64,") == len(faces) + n_sheets
    assert 'id="explorer"' in page and "Bokeh" in page and "http://" not in page.split("<body>")[1][:2000]
    assert "Clusters against identities" in page


def test_a_larger_cluster_is_shown_by_a_spread_of_its_confidence(clusters):
    shown = gallery_rows(clusters, per_cluster=2)
    conf = clusters.faces.confidence.to_numpy()
    for k, rows in shown.items():
        if k < 0:
            continue
        members = clusters.clustering.members(k)
        assert conf[rows[0]] == pytest.approx(np.nanmax(conf[members]))  # the most confident face
        if members.size > 2:
            assert conf[rows[-1]] == pytest.approx(np.nanmin(conf[members]))  # ... and the least


def test_without_labels_or_explorer_the_page_is_lighter(clusters):
    import dataclasses

    bare = dataclasses.replace(clusters, scores=None, identities=None, labelled=False)
    page = render_cluster_page(bare, explorer=False, max_clusters=1)
    assert "Bokeh" not in page and "BCubed" not in page and "Clusters against identities" not in page
    if clusters.clustering.n_clusters > 1:
        assert f"The 1 largest of {clusters.clustering.n_clusters} clusters are shown" in page


def test_written_atomically_over_an_old_folder(clusters, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("from before")
    import facelab.report.cluster_page as page_mod

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(page_mod, "render_cluster_page", broken)
    with pytest.raises(RuntimeError):
        write_clusters(clusters, out)
    assert [p.name for p in out.iterdir()] == ["old.txt"] and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.browser
def test_the_page_opens_offline_in_headless_chromium(written, clusters):
    from tests.browser import chromium, console_errors, map_ink, open_explorer_page, requested_urls, wait_for

    with chromium(width=1300, height=1200) as driver:
        open_explorer_page(driver, (written / "index.html").as_uri())
        # Every gallery thumbnail decoded.
        n, decoded = wait_for(driver, """
            const imgs = Array.from(document.querySelectorAll('figure.face img'));
            if (!imgs.length || imgs.some(im => !im.complete)) return null;
            return [imgs.length, imgs.filter(im => im.naturalWidth > 0).length];""")
        assert n == decoded > 0
        # The explorer is drawn and coloured by cluster.
        assert map_ink(driver) > 2000
        assert driver.execute_script("return facelab_view('facelab-colour').model.value") == "cluster"
        assert console_errors(driver) == []
        assert [u for u in requested_urls(driver) if not u.startswith(("file:", "data:", "about:"))] == []
