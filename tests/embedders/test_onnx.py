"""facelab.embedders.onnx: an exported network run by ONNX Runtime equals the PyTorch one (RGB, BGR, flip)."""

from __future__ import annotations

import numpy as np
import torch

from facelab.embedders import create_embedder
from facelab.embedders.onnx import OnnxEmbedder
from facelab.embedders.torch import TorchEmbedder
from facelab.models import create_model, save_checkpoint

torch.set_num_threads(1)


def test_onnx_embedder_matches_torch(tmp_path):
    from facelab.models import export_onnx

    torch.manual_seed(0)
    model = create_model("ir_18", input_size=112, embedding_size=64)
    ck = save_checkpoint(model, tmp_path / "m.pth")
    onnx_path = export_onnx(model, tmp_path / "m.onnx")
    chips = np.random.default_rng(2).integers(0, 255, (3, 112, 112, 3), dtype=np.uint8)
    ref = TorchEmbedder("ir_18", weights=ck, preprocessing="plain").embed(chips)
    onnx = create_embedder(str(onnx_path))
    assert isinstance(onnx, OnnxEmbedder)
    assert (onnx.input_size, onnx.embedding_size, onnx.alignment) == (112, 64, "arcface112")
    np.testing.assert_allclose(onnx.embed(chips), ref, atol=1e-4)
    # BGR swaps the channels before the network.
    bgr = OnnxEmbedder(onnx_path, bgr=True).embed(chips[..., ::-1].copy())
    np.testing.assert_allclose(bgr, ref, atol=1e-4)
    flip_t = TorchEmbedder("ir_18", weights=ck, preprocessing="plain", flip=True).embed(chips)
    np.testing.assert_allclose(OnnxEmbedder(onnx_path, flip=True).embed(chips), flip_t, atol=1e-4)
