"""facelab.embedders.torch: registry networks as embedders (random weights refused from caches, checkpoint layouts)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.embedders import create_embedder
from facelab.embedders.base import RandomWeightsWarning
from facelab.embedders.torch import TorchEmbedder
from facelab.models import create_model, save_checkpoint

torch.set_num_threads(1)


def test_torch_embedder_random_weights_warns_and_is_not_cached():
    with pytest.warns(RandomWeightsWarning, match="RANDOM"):
        emb = TorchEmbedder("ir_18")
    assert (emb.input_size, emb.embedding_size, emb.alignment, emb.chip_size) == (64, 256, "arcface112", 112)
    assert emb.calibration == REFERENCE_CALIBRATION
    assert emb.fingerprint() is None and emb.spec() is None
    e = emb.embed(np.random.default_rng(0).integers(0, 255, (2, 112, 112, 3), dtype=np.uint8))
    assert e.shape == (2, 256)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


def test_torch_embedder_with_checkpoint_infers_layout(tmp_path):
    model = create_model("ir_se_18", input_size=112, embedding_size=128)
    ck = save_checkpoint(model, tmp_path / "m.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RandomWeightsWarning)
        emb = create_embedder("ir_se_18", weights=ck)
    assert (emb.input_size, emb.embedding_size) == (112, 128)
    assert emb.fingerprint() is not None and emb.spec()["weights"] == str(ck)
    assert "not fitted" in emb.calibration.source
