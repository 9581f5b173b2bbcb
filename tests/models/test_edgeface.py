"""facelab.models.edgeface: the EdgeFace networks -- the 8-bit files dequantised into timm's EdgeNeXt
(close to the shipped quantised model on real LFW faces) and every refusal of a wrong file.

Every test here needs the shared weights (``edgeface_weights`` fixture: skips when not found). The
embedder that runs them is tested in tests/embedders/test_edgeface.py.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

from facelab.core.errors import CheckpointError


@pytest.fixture(scope="module")
def chips(edgeface_weights, lfw):
    """arcface112 chips (MTCNN box, central face) of three LFW photos of three people."""
    from facelab.data.imageio import load_image
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import create_detector

    det, preset = create_detector("mtcnn"), get_preset("arcface112")
    out = []
    for name in ("Colin_Powell", "Tony_Blair", "George_W_Bush"):
        image = load_image(lfw.image_path(name, 1))
        res = det.detect(image, policy="central")
        out.append(preset(image, res.faces[res.chosen]).image)
    return np.stack(out)


def _input(chips):
    """The authors' preprocessing: RGB in [-1, 1], NCHW."""
    return torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def test_dequantised_matches_the_shipped_quantised_model(chips, edgeface_weights):
    """The float model is the shipped 8-bit one minus activation quantisation: close, not equal."""
    from facelab.models.edgeface import build_edgeface, load_edgeface

    net = load_edgeface("edgeface_xs")

    class Wrapper(torch.nn.Module):  # the authors' wrapper: the timm network as self.model
        def __init__(self, m):
            super().__init__()
            self.model = m

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated (still there in 2.14)
        q = Wrapper(torch.ao.quantization.quantize_dynamic(build_edgeface("edgeface_xs"), {torch.nn.Linear},
                                                            dtype=torch.qint8))
        q.load_state_dict(torch.load(edgeface_weights["edgeface_xs"], map_location="cpu", weights_only=True))
        with torch.inference_mode():
            yq = torch.cat([q.model(_input(chips[i : i + 1])) for i in range(len(chips))]).numpy()
            yf = net(_input(chips)).numpy()
    yq /= np.linalg.norm(yq, axis=1, keepdims=True)
    yf /= np.linalg.norm(yf, axis=1, keepdims=True)
    cos = (yq * yf).sum(1)
    assert cos.min() > 0.93, cos


def test_refuses_wrong_sha_truncated_and_other_architecture(tmp_path, edgeface_weights):
    from facelab.models.dlib_files import dlib_model_path
    from facelab.models.edgeface import load_edgeface

    xs, xxs = edgeface_weights["edgeface_xs"], edgeface_weights["edgeface_xxs"]
    data = xs.read_bytes()
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])
    with pytest.raises(CheckpointError, match="right size, different content"):
        load_edgeface("edgeface_xs", flipped)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or an incomplete download"):
        load_edgeface("edgeface_xs", truncated)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_edgeface("edgeface_xs", truncated, verify=False)  # and unverified, torch refuses it too
    with pytest.raises(CheckpointError, match=r"it is edgeface_xxs_q.pt \(edgeface_xxs"):
        load_edgeface("edgeface_xs", xxs)
    with pytest.raises(CheckpointError, match=r"does not fit edgeface_xs \(edgenext_x_small\): \d+ mis-shaped"):
        load_edgeface("edgeface_xs", xxs, verify=False)  # the architecture check, on its own
    dlib_dat = tmp_path / "edgeface_xs_q.pt"
    shutil.copyfile(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"), dlib_dat)
    with pytest.raises(CheckpointError, match="not the published file"):
        load_edgeface("edgeface_xs", dlib_dat)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_edgeface("edgeface_xs", dlib_dat, verify=False)
    other = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not an EdgeFace"):
        load_edgeface("edgeface_xs", other, verify=False)
