"""facelab.analysis.faces: LFW photos detected once (every miss listed), the pairs subset, rows by image id."""

from __future__ import annotations

import numpy as np

from facelab.data.datasets import pair_images


def test_faces_detected_once_and_misses_listed(faces, lfw_pairs):
    n_images = len(pair_images(lfw_pairs))
    assert len(faces) + len(faces.skipped) == n_images
    assert len(faces) >= 0.9 * n_images
    assert len(faces.images) == len(faces.faces) == len(faces.table)


def test_lfw_pairs_subset_is_half_matched_and_rows_find_the_faces(lfw_pairs, faces):
    assert len(lfw_pairs) == 40 and int(lfw_pairs.same.sum()) == 20
    assert (lfw_pairs.fold == 0).all()
    rows = faces.rows(lfw_pairs.image_id1)
    found = rows >= 0
    assert found.mean() >= 0.9
    np.testing.assert_array_equal(faces.ids[rows[found]], lfw_pairs.image_id1.to_numpy(str)[found])
    assert (faces.rows(["not/an_image.jpg"]) == -1).all()


def test_subset_and_by_identity(faces):
    groups = faces.by_identity()
    assert sum(len(g) for g in groups.values()) == len(faces)
    for ident, g in groups.items():
        assert set(g.identities) == {ident}
        rows = faces.rows(g.ids)
        assert all(g.faces[k] is faces.faces[r] and g.images[k] is faces.images[r] for k, r in enumerate(rows))
    first_two = faces.subset([0, 1])
    assert list(first_two.ids) == list(faces.ids[:2]) and len(first_two.skipped) == 0
