"""facelab.embedders.base: the Embedder contract on real LFW faces -- ``embed`` is the unit rows
of ``embed_raw`` (the public raw vectors), flip averages the mirror's unit vector, batches do not
matter -- and the fitted calibrations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facelab.core.vectors import unit_rows
from facelab.embedders.base import DLIB_CALIBRATION, EDGEFACE_CALIBRATIONS, Embedder
from facelab.embedders.dlib import DlibEmbedder

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def chips(lfw):
    """dlib150 chips of four LFW photos (two people)."""
    from facelab.data.imageio import load_image
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import create_detector

    det, preset = create_detector("dlib"), get_preset("dlib150")
    out = []
    for name, k in [("Colin_Powell", 1), ("Colin_Powell", 2), ("Tony_Blair", 1), ("Tony_Blair", 2)]:
        image = load_image(lfw.image_path(name, k))
        out.append(preset(image, det.detect(image).face).image)
    return np.stack(out)


def test_embed_is_the_unit_rows_of_embed_raw(chips):
    emb = DlibEmbedder()
    raw = emb.embed_raw(chips)
    assert raw.shape == (4, 128) and raw.dtype == np.float32
    norms = np.linalg.norm(raw, axis=1)
    assert (norms > 1.1).all() and (norms < 1.7).all(), norms  # dlib's descriptors are not unit vectors
    # (to float32 rounding: embed normalises its rows a second time, after the flip average)
    np.testing.assert_allclose(emb.embed(chips), unit_rows(raw, dtype=np.float32), rtol=0, atol=1e-6)
    # the same people are closer in the raw space too
    cos = unit_rows(raw) @ unit_rows(raw).T
    assert min(cos[0, 1], cos[2, 3]) > max(cos[0, 2], cos[0, 3], cos[1, 2], cos[1, 3])


def test_flip_averages_the_mirror_images_unit_vector(chips):
    raw = DlibEmbedder().embed_raw(chips)
    mirrored = DlibEmbedder().embed_raw(np.ascontiguousarray(chips[:, :, ::-1]))
    assert not np.allclose(raw, mirrored, atol=1e-3)
    expected = unit_rows(unit_rows(raw) + unit_rows(mirrored), dtype=np.float32)
    np.testing.assert_allclose(DlibEmbedder(flip=True).embed(chips), expected, atol=1e-6)


def test_batches_do_not_change_the_vectors(chips):
    small = DlibEmbedder()
    small.batch_size = 1
    np.testing.assert_allclose(small.embed_raw(chips), DlibEmbedder().embed_raw(chips), atol=1e-5)
    assert DlibEmbedder().embed_raw(chips[:0]).shape == (0, 128)
    with pytest.raises(ValueError, match="150x150"):
        DlibEmbedder().embed_raw(np.zeros((1, 112, 112, 3), np.uint8))


def test_a_new_embedder_needs_only_forward():
    class Doubling(Embedder):
        name, alignment, chip_size, embedding_size, batch_size = "doubling", "arcface112", 4, 3, 2

        def _forward(self, chips):
            return 2.0 * chips.reshape(len(chips), -1)[:, :3].astype(np.float32) + 1.0

    chips = np.random.default_rng(0).integers(0, 255, (5, 4, 4, 3), dtype=np.uint8)
    e = Doubling()
    raw = e.embed_raw(chips)
    np.testing.assert_array_equal(raw, 2.0 * chips.reshape(5, -1)[:, :3] + 1.0)
    np.testing.assert_allclose(np.linalg.norm(e.embed(chips), axis=1), 1.0, atol=1e-6)


def test_calibrations_are_the_fitted_ones():
    assert "pairsDevTrain" in DLIB_CALIBRATION.source
    assert set(EDGEFACE_CALIBRATIONS) == {"edgeface_xs", "edgeface_xxs"}
    # the threshold is the accuracy-best devtrain distance the comment gives
    assert DLIB_CALIBRATION.distance_threshold == pytest.approx(0.1928, abs=1e-4)
    assert EDGEFACE_CALIBRATIONS["edgeface_xs"].distance_threshold == pytest.approx(1.5241, abs=1e-4)
