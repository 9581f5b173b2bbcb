"""facelab.analysis.anatomy on real LFW faces: raw norms and flip averaging are the embedder's own,
blur and residual measure what they say, few directions carry the variance, neighbours are mostly
the same person."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.analysis.anatomy import blur_score, dimension_stats, landmark_residual
from facelab.core.vectors import nearest_neighbours
from facelab.stages.alignment import align_face, get_preset


def test_embedding_anatomy_raw_norms_and_flip_average_are_the_embedders(faces, anatomy, dlib_embedder):
    from facelab.embedders.dlib import DlibEmbedder

    a = anatomy
    t = a.table
    assert len(t) == len(faces) and a.raw.shape == (len(faces), 128)
    # dlib's descriptors are not unit vectors: norms about 1.3-1.6 on LFW.
    assert 1.1 < t.raw_norm.min() and t.raw_norm.max() < 1.8 and t.raw_norm.std() > 0.01
    preset = get_preset("dlib150")
    n = 12  # the raw hook and the flip average are the embedder's own, checked on a few faces
    chips = np.stack([preset(im, f).image for im, f in zip(faces.images[:n], faces.faces[:n])])
    np.testing.assert_allclose(a.normalised[:n], dlib_embedder.embed(chips), atol=1e-5)
    np.testing.assert_allclose(a.flip_averaged[:n], DlibEmbedder(flip=True).embed(chips), atol=1e-5)
    # A mirrored face is nearly the same person to the model, and the average sits between both.
    assert 0.9 < t.cos_flip.median() < 1.0
    assert (t.cos_mean >= t.cos_flip - 1e-6).all()
    assert set(a.correlations().index) == {"det_score", "residual", "blur"}


def test_blur_score_falls_when_a_real_face_is_blurred(faces):
    from skimage.filters import gaussian

    chip = get_preset("arcface112")(faces.images[0], faces.faces[0]).image
    soft = (gaussian(chip, sigma=2, channel_axis=-1, preserve_range=True)).astype(np.uint8)
    assert blur_score(soft) < 0.5 * blur_score(chip)


def test_landmark_residual_is_the_alignment_residual(faces):
    f = faces.faces[0]
    assert landmark_residual(f.landmarks) == pytest.approx(align_face(faces.images[0], f.landmarks).residual)


def test_dimension_stats_of_real_embeddings(faces, anatomy):
    st = dimension_stats(anatomy.normalised)
    assert len(st) == 128 and np.all(np.diff(st.pca_cumvar) >= -1e-12) and st.pca_cumvar.iloc[-1] == pytest.approx(1)
    # Far fewer directions than dimensions carry most of the variance of a few dozen faces.
    assert int(np.searchsorted(st.pca_cumvar, 0.9)) < len(faces)


def test_nearest_neighbours_of_real_faces_are_mostly_the_same_person(faces, anatomy):
    a = anatomy
    ids = faces.identities
    queries = [q for q in range(len(ids)) if (ids == ids[q]).sum() >= 2]
    nn = nearest_neighbours(a.normalised, k=3, rows=queries)
    top1 = [nn.table(ids, q).iloc[0] for q in queries]
    assert all(r.row != q for r, q in zip(top1, queries))  # the query itself is left out
    assert np.mean([r.same for r in top1]) >= 0.8
    nn = nearest_neighbours(a.normalised, k=5, rows=[queries[0]]).table(ids, queries[0])
    assert list(nn["rank"]) == [1, 2, 3, 4, 5] and nn.cosine.is_monotonic_decreasing
