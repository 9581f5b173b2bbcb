"""facelab.embedders.dlib: dlib's ResNet on real LFW faces (same person closer, batches, flip, bad chips)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facelab.core.calibration import squared_distance
from facelab.embedders.base import DLIB_CALIBRATION
from facelab.embedders.dlib import DlibEmbedder

torch.set_num_threads(1)


def _chips(paths, preset_name):
    from facelab.data.imageio import load_image
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import create_detector

    det, preset = create_detector("dlib"), get_preset(preset_name)
    out = []
    for p in paths:
        im = load_image(p)
        r = det.detect(im, path=p)
        assert r.ok, f"no face in {p}"
        out.append(preset(im, r.face).image)
    return np.stack(out)


@pytest.fixture(scope="module")
def lfw_pairs(lfw):
    """Three genuine and three impostor pairs of pairs.txt fold 1."""
    p = lfw.pairs("pairs")
    return p[p.fold == 0].groupby("same").head(3).reset_index(drop=True)


@pytest.fixture(scope="module")
def dlib_chips(lfw_pairs):
    paths = list(lfw_pairs.path1) + list(lfw_pairs.path2)
    return _chips(paths, "dlib150")


def test_dlib_same_person_pairs_are_closer(lfw_pairs, dlib_chips):
    emb = DlibEmbedder()
    e = emb.embed(dlib_chips)
    assert e.shape == (12, 128) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    n = len(lfw_pairs)
    d = squared_distance(e[:n], e[n:])
    same = lfw_pairs.same.to_numpy(bool)
    assert d[same].max() < d[~same].min(), (d, same)
    # The fitted calibration calls these textbook pairs right.
    assert list(emb.calibration.same_person(d)) == list(same)
    assert emb.calibration is DLIB_CALIBRATION and "LFW" in emb.calibration.source


def test_dlib_batch_and_single_agree_and_flip(dlib_chips):
    emb = DlibEmbedder()
    batch = emb.embed(dlib_chips[:3])
    one = emb.embed(dlib_chips[1])  # a single (H, W, 3) chip
    np.testing.assert_allclose(one[0], batch[1], atol=1e-5)
    flipped = DlibEmbedder(flip=True).embed(dlib_chips[:3])
    np.testing.assert_allclose(np.linalg.norm(flipped, axis=1), 1.0, atol=1e-5)
    cos = np.sum(flipped * batch, axis=1)
    assert np.all(cos > 0.95) and np.all(cos < 1.0 - 1e-6)


def test_embedders_reject_wrong_chips():
    emb = DlibEmbedder()
    with pytest.raises(ValueError, match="150x150"):
        emb.embed(np.zeros((1, 112, 112, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        emb.embed(np.zeros((1, 150, 150, 3), np.float32))
    assert emb.embed(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)
