"""Checkpoints: round trips, the reference (face.evoLVe) layout, clear errors, ONNX export."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from facelab.core.errors import CheckpointError
from facelab.models import create_model, export_onnx, load_checkpoint, read_state_dict, save_checkpoint

torch.set_num_threads(1)


def _randomise_bn(model, seed=0):
    # Fresh BN running stats are (0, 1): perturb them so a failed load would show in the outputs.
    g = torch.Generator().manual_seed(seed)
    for k, v in model.state_dict().items():
        if k.endswith("running_mean"):
            v.copy_(torch.randn(v.shape, generator=g) * 0.1)
        elif k.endswith("running_var"):
            v.copy_(torch.rand(v.shape, generator=g) + 0.5)
    return model


def test_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    a = _randomise_bn(create_model("ir_18", input_size=64, embedding_size=256))
    path = save_checkpoint(a, tmp_path / "ck" / "ir18.pth", meta={"note": "test"})
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["arch"] == "ir_18" and raw["input_size"] == 64 and raw["embedding_size"] == 256
    assert raw["note"] == "test"
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left nothing behind
    torch.manual_seed(1)
    b = create_model("ir_18", input_size=64, embedding_size=256)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))
        load_checkpoint(b, path)
        assert torch.equal(a(x), b(x))


def test_reference_layout_pth_tar_with_module_prefix_loads(tmp_path):
    """A face.evoLVe IR_18 trained under DataParallel and saved by a training loop as .pth.tar."""
    src = _randomise_bn(create_model("ir_18", input_size=64, embedding_size=256), seed=3)
    sd = {f"module.{k}": v.clone() for k, v in src.state_dict().items()}
    # Checkpoints from PyTorch < 0.4.1 have no num_batches_tracked: must still load.
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "checkpoint_epoch_20.pth.tar"
    torch.save({"epoch": 20, "arch": "IR_18", "state_dict": sd, "optimizer": {"lr": 0.1}}, path)
    dst = load_checkpoint(create_model("ir_18", input_size=64, embedding_size=256), path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))


def test_bare_state_dict_and_backbone_key(tmp_path):
    src = create_model("ir_se_18", input_size=64, embedding_size=16)
    torch.save(src.state_dict(), tmp_path / "bare.pth")
    torch.save({"backbone": src.state_dict()}, tmp_path / "wrapped.pth")
    for name in ("bare.pth", "wrapped.pth"):
        sd = read_state_dict(tmp_path / name)
        assert set(sd) == set(src.state_dict())
        load_checkpoint(create_model("ir_se_18", input_size=64, embedding_size=16), tmp_path / name)


def test_mismatched_checkpoint_names_keys_and_shapes(tmp_path):
    src = create_model("ir_18", input_size=112, embedding_size=512)
    sd = dict(src.state_dict())
    sd.pop("input_layer.0.weight")
    sd["head.kernel"] = torch.zeros(512, 10)
    path = tmp_path / "wrong.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(create_model("ir_18", input_size=64, embedding_size=256), path)
    msg = str(err.value)
    assert "input_layer.0.weight" in msg and "missing" in msg
    assert "head.kernel" in msg and "unexpected" in msg
    assert "output_layer.3.weight (file (512, 25088), model (256, 8192))" in msg
    assert "mis-shaped" in msg


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a checkpoint\n", b"PK\x03\x04truncated zip"],
    ids=["empty", "text", "truncated-zip"],
)
def test_corrupt_file_is_a_checkpoint_error(tmp_path, content):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(create_model("ir_18", input_size=64, embedding_size=8), path)


def test_truncated_real_checkpoint(tmp_path):
    path = save_checkpoint(create_model("ir_18", input_size=64, embedding_size=8), tmp_path / "a.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        read_state_dict(path)


def test_non_state_dict_contents_and_missing_file(tmp_path):
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "meta.pth")
    with pytest.raises(CheckpointError, match="no state_dict found"):
        read_state_dict(tmp_path / "meta.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="a list"):
        read_state_dict(tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="not found"):
        read_state_dict(tmp_path / "nope.pth")


def test_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"state_dict": Evil()}, path)
    with pytest.raises(CheckpointError, match="not a readable"):
        read_state_dict(path)


def test_onnx_export_has_dynamic_batch_and_matches_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = _randomise_bn(create_model("ir_18", input_size=64, embedding_size=256))
    path = export_onnx(model, tmp_path / "ir18.onnx", input_size=64)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape[0] == "batch"
    for n in (1, 3):
        x = torch.randn(n, 3, 64, 64)
        with torch.no_grad():
            ref = torch.nn.functional.normalize(model(x), dim=1).numpy()
        out = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
        out = out / np.linalg.norm(out, axis=1, keepdims=True)
        np.testing.assert_allclose(out, ref, atol=1e-4)
