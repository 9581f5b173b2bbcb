"""Figures of clustered faces: the gallery, the threshold sweep, a photo's faces and clusters."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from facelab.analysis.face_clusters import cluster_result, threshold_sweep  # noqa: E402
from facelab.plotting.clusters import (  # noqa: E402
    ClusterGalleryDisplay,
    ClusterSweepDisplay,
    PhotoFacesDisplay,
    face_thumbnails,
)


@pytest.fixture(scope="module")
def faces(photo_folder):
    from facelab.data.datasets import read_photo_folder
    from facelab.data.photo_folder import label_faces
    from facelab.engine.pipeline import embed_images

    res = embed_images(read_photo_folder(photo_folder.photos).images, policy="all", progress=False)
    return res, label_faces(res.embedded, photo_folder.truth)


def test_gallery_draws_a_row_per_cluster_and_frames_the_odd_faces(faces):
    import matplotlib.pyplot as plt

    res, truth = faces
    fc = cluster_result(res, labels=truth, algorithm="hdbscan")
    d = ClusterGalleryDisplay.from_clusters(fc, per_cluster=4)
    assert list(d.rows)[: fc.clustering.n_clusters] == list(range(fc.clustering.n_clusters))
    assert all(len(r) <= 4 for r in d.rows.values()) and d.figure_ is not None
    assert d.titles[0].startswith(f"cluster 0: {fc.clustering.sizes[0]} faces, mostly ")
    plt.close(d.figure_)
    # One cluster of everyone (a threshold of -1): every face of the others is framed red.
    one = cluster_result(res, labels=truth, algorithm="agglomerative", threshold=-1.0, k=len(truth) - 1)
    d = ClusterGalleryDisplay.from_clusters(one, per_cluster=len(truth))
    majority = one.identities.identity.iloc[0]
    assert d.odd == {r for r in d.rows[0] if truth[r] and truth[r] != majority} and d.odd
    img = d.ax_.images[0].get_array()
    assert (np.asarray(img) == (214, 39, 40)).all(axis=-1).sum() > 100  # the frames are drawn
    plt.close(d.figure_)


def test_thumbnails_are_the_faces_boxes(faces):
    res, _ = faces
    t = res.embedded.reset_index(drop=True)
    thumbs = face_thumbnails(t, [0, 3, 3], 32)
    assert sorted(thumbs) == [0, 3] and thumbs[0].shape == (32, 32, 3) and thumbs[0].dtype == np.uint8


def test_sweep_and_photo_faces(faces):
    import matplotlib.pyplot as plt

    res, truth = faces
    sweep = threshold_sweep(res.embeddings, truth, calibration=res.calibration, thresholds=[0.8, 0.9, 0.95])
    d = ClusterSweepDisplay.from_sweep(sweep, calibrated=res.calibration.cosine_threshold, title="t")
    assert len(d.axes_) == 2 and d.axes_[0].get_title() == "t"
    assert any(line.get_label() == "3 people" for line in d.axes_[1].get_lines())
    plt.close(d.figure_)
    fc = cluster_result(res, labels=truth)
    p = PhotoFacesDisplay.from_clusters(fc, "group_0001")
    labels = [t.get_text() for t in p.ax_.texts]
    assert len(labels) == (fc.faces.image_id == "group_0001").sum() and labels[0].startswith("face ")
    plt.close(p.figure_)
    with pytest.raises(KeyError, match="no face of 'nobody'"):
        PhotoFacesDisplay.from_clusters(fc, "nobody")
