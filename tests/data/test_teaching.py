"""The teaching set: LFW identities with enough photos, built seed-style and deterministically."""

from __future__ import annotations

import json

import pytest

from facelab.data.teaching import build_teaching_set, teaching_identities


@pytest.fixture(scope="module")
def lfw_root(lfw):
    return lfw.root


def test_sixty_two_identities_have_twenty_photos(lfw_root):
    from facelab.data.datasets import LFW

    names = teaching_identities(LFW(lfw_root))
    assert len(names) == 62 and names == sorted(names)
    assert {"Colin_Powell", "George_W_Bush", "Serena_Williams"} <= set(names)


def test_build_is_seed_style_verified_and_deterministic(lfw_root, tmp_path):
    from facelab.core.errors import EvaluationError
    from facelab.core.hashing import file_sha256
    from facelab.data.datasets import read_identity_folders

    out = build_teaching_set(tmp_path / "t", lfw_root=lfw_root, min_images=100, per_identity=4)
    ds = read_identity_folders(out)
    assert ds.identities == ["1", "2", "3", "4", "5"] and len(ds.images) == 20  # 5 people have >= 100 photos
    assert ds.names["1"] == "Colin_Powell"
    manifest = json.loads((out / "ids.json").read_text())
    for image_id, info in manifest["images"].items():
        assert file_sha256(out / f"{image_id}.jpg") == info["sha256"]
    again = build_teaching_set(tmp_path / "u", lfw_root=lfw_root, min_images=100, per_identity=4)
    assert (again / "ids.json").read_text().replace(str(again), "") == (out / "ids.json").read_text().replace(str(out), "")
    with pytest.raises(EvaluationError, match="already holds"):
        build_teaching_set(out, lfw_root=lfw_root, min_images=100, per_identity=3)
    with pytest.raises(EvaluationError, match="cannot exceed"):
        build_teaching_set(out, lfw_root=lfw_root, min_images=100, per_identity=101)
