"""Planted label errors: what moved where, neutral names, near-duplicates that are new files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from facelab.core.errors import EvaluationError
from facelab.data.datasets import read_identity_folders
from facelab.data.planted import NEAR_DUPLICATE_EDITS, near_duplicate, plant_errors, read_planted


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_plant_errors(tmp_path, copy_two_id):
    src = copy_two_id(tmp_path / "src", 10)  # 20 photos of 2 identities
    p = plant_errors(src, tmp_path / "planted", move=0.1, duplicate=0.05, seed=3)
    assert (len(p.moved), len(p.duplicates)) == (2, 1)
    ds = read_identity_folders(p.root)
    assert len(ds.images) == 21 and sorted(ds.images.image_id) == sorted(p.photos.image_id)
    assert ds.names == read_identity_folders(src).names
    # Names say nothing: img_<n>, shuffled.
    assert all(i.split("/")[1].startswith("img_") for i in ds.images.image_id)
    by_src = {r.image_id: r.path for r in read_identity_folders(src).images.itertuples()}
    path_of = dict(zip(ds.images.image_id, ds.images.path))
    for r in p.moved.itertuples():  # in the wrong folder, the same bytes
        assert r.identity != r.true_identity and r.identity == r.image_id.split("/")[0]
        assert _sha(Path(path_of[r.image_id])) == _sha(Path(by_src[r.source]))
    for r in p.duplicates.itertuples():  # a re-saved copy in another identity; the original stays home
        assert r.identity != r.true_identity and r.edit == "mixed"
        home = p.photos[(p.photos.source == r.source) & (p.photos.planted == "")]
        assert len(home) == 1 and home.identity.item() == r.true_identity
    assert read_planted(p.root).photos.equals(p.photos)
    found = p.found(["x", p.moved.image_id.iloc[0], "y", p.duplicates.image_id.iloc[0]])
    assert sorted(found["rank"].dropna().astype(int)) == [2, 4] and found["rank"].isna().sum() == 1
    # A second call with the same seed plants the same errors; the folder is not replaced by accident.
    with pytest.raises(EvaluationError, match="already exists"):
        plant_errors(src, p.root)
    again = plant_errors(src, tmp_path / "again", move=0.1, duplicate=0.05, seed=3)
    assert again.photos.equals(p.photos)


def test_plant_errors_bad_input(tmp_path, copy_two_id):
    src = copy_two_id(tmp_path / "src", 2)
    with pytest.raises(EvaluationError, match="shares"):
        plant_errors(src, tmp_path / "o", move=0.6, duplicate=0.6)
    with pytest.raises(EvaluationError, match="unknown edit"):
        plant_errors(src, tmp_path / "o", edit="blur")
    one = tmp_path / "one"
    (one / "a").mkdir(parents=True)
    (one / "a" / "x.jpg").write_bytes(Path(read_identity_folders(src).images.path.iloc[0]).read_bytes())
    with pytest.raises(EvaluationError, match="two identities"):
        plant_errors(one, tmp_path / "o")
    with pytest.raises(EvaluationError, match="planted.json"):
        read_planted(src)


@pytest.mark.parametrize("edit", NEAR_DUPLICATE_EDITS)
def test_near_duplicate_edits(edit, two_id_dir):
    import io

    from PIL import Image

    from facelab.data.imageio import load_image

    path = read_identity_folders(two_id_dir).images.path.iloc[0]
    image = load_image(path)
    out = np.asarray(Image.open(io.BytesIO(near_duplicate(image, edit=edit))).convert("RGB"))
    assert out.dtype == np.uint8 and out.ndim == 3
    if edit in ("rescale", "crop", "mixed"):
        assert out.shape[0] < image.shape[0]
    else:
        assert out.shape == image.shape
        diff = np.abs(out.astype(int) - image.astype(int)).mean()
        assert 0.5 < diff < 40  # changed, still the same picture
    with pytest.raises(EvaluationError, match="unknown near-duplicate edit"):
        near_duplicate(image, edit="swirl")
