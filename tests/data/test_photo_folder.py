"""The photo folder composed from LFW: single and group photos with known truth, and naming detected faces."""

from __future__ import annotations

import pandas as pd
import pytest

from facelab.data.photo_folder import TRUTH_COLUMNS, build_photo_folder, label_faces, read_photo_truth


def test_build_is_seeded_flat_and_true_to_its_truth(photo_folder, tmp_path, lfw):
    from facelab.data.datasets import read_folder
    from facelab.data.imageio import load_image

    pf = photo_folder
    ds = read_folder(pf.photos)
    assert not ds.labelled and len(ds.skipped) == 0
    assert set(ds.images.image_id) == set(pf.truth.image_id)
    assert list(pf.truth.columns) == TRUTH_COLUMNS and pf.identities == ["Colin_Powell", "George_W_Bush", "Tony_Blair"]
    singles = pf.truth[pf.truth.image_id.str.startswith("photo_")]
    groups = pf.truth[pf.truth.image_id.str.startswith("group_")]
    assert len(singles) == 6 and singles.identity.value_counts().eq(2).all()
    sizes = groups.image_id.value_counts()
    assert len(sizes) == 3 and sizes.between(2, 3).all()
    assert (groups.groupby("image_id").identity.nunique() == sizes.sort_index()).all()  # different people per photo
    # A group photo is wide enough for its faces, each cut-out inside it; names give nothing away.
    img = load_image(pf.photos / "group_0001.jpg")
    g1 = groups[groups.image_id == "group_0001"]
    assert (g1.x1 <= img.shape[1]).all() and (g1.y1 <= img.shape[0]).all()
    assert not any(name in p for p in ds.images.path for name in pf.identities)
    assert "3 group photos" in pf.summary()
    # The same seed builds the same folder; read back as it was written.
    again = build_photo_folder(tmp_path / "again", lfw_root=lfw.root, identities=pf.identities, singles_per_identity=2,
                               n_groups=3, group_sizes=(2, 3), seed=1)
    pd.testing.assert_frame_equal(again.truth, pf.truth)
    pd.testing.assert_frame_equal(read_photo_truth(pf.root).truth, pf.truth)


def test_label_faces_names_the_largest_face_in_each_box():
    truth = pd.DataFrame([("g", "Ann", 0, 0, 100, 100), ("g", "Bob", 100, 0, 200, 100)], columns=TRUTH_COLUMNS)
    table = pd.DataFrame({"image_id": ["g", "g", "g", "g", "other"],
                          "box": [[10, 10, 90, 90], [120, 10, 190, 90], [5, 5, 20, 20], None, [10, 10, 90, 90]]})
    # The small face inside Ann's cut-out is a bystander; no box, another photo: nobody.
    assert label_faces(table, truth) == ["Ann", "Bob", "", "", ""]


def test_bad_requests_are_refused(tmp_path, lfw):
    from facelab.core.errors import DatasetNotFoundError, EvaluationError

    with pytest.raises(EvaluationError, match="group sizes"):
        build_photo_folder(tmp_path / "x", lfw_root=lfw.root, identities=["Tony_Blair", "Colin_Powell"], group_sizes=(2, 3))
    with pytest.raises(DatasetNotFoundError, match="not a photo folder"):
        read_photo_truth(tmp_path)
    assert not (tmp_path / "x").exists()
