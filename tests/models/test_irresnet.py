"""The IR-ResNet family: every registry model runs, and the reference layout has face.evoLVe's keys."""

from __future__ import annotations

import pytest
import torch

from facelab.models import IRResNet, create_model, list_models, model_info

torch.set_num_threads(1)


def test_list_models_covers_ir_and_ir_se_depths():
    names = list_models()
    for mode in ("ir", "ir_se"):
        for depth in (18, 34, 50, 100, 152):
            assert f"{mode}_{depth}" in names
    assert names[0] == "ir_18"


# Every model at 64 and 112 (the sizes facelab aligns to). 224 only for one shallow and one SE
# model: the head is the same code for every depth, and the deep ones take seconds each at 224.
CASES = [(n, s) for n in list_models() for s in (64, 112)] + [("ir_18", 224), ("ir_se_50", 224)]


@pytest.mark.parametrize("name,size", CASES)
def test_every_model_runs_forward(name, size):
    model = create_model(name, input_size=size, embedding_size=96)
    assert not model.training
    with torch.no_grad():
        y = model(torch.randn(1, 3, size, size))
    assert y.shape == (1, 96)
    assert torch.isfinite(y).all()
    # The head flattens a (512, size/16, size/16) map.
    assert model.output_layer[3].in_features == 512 * (size // 16) ** 2


def test_train_mode_batch_of_two():
    # A batch of two trains: batch statistics are used and updated, and every weight gets a
    # real gradient. (y.sum() would not do: the head's BatchNorm1d makes it constant in train mode.)
    torch.manual_seed(0)
    model = create_model("ir_se_18", input_size=64, embedding_size=32).train()
    before = model.input_layer[1].running_mean.clone()
    y = model(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 32)
    y.pow(2).sum().backward()
    assert not torch.equal(model.input_layer[1].running_mean, before)
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.input_layer[0].weight.grad.abs().sum() > 0


def test_reference_ir18_layout_matches_face_evolve_names():
    model = create_model("IR_18", input_size=64, embedding_size=256)
    sd = model.state_dict()
    assert sd["input_layer.0.weight"].shape == (64, 3, 3, 3)
    assert sd["output_layer.3.weight"].shape == (256, 512 * 4 * 4)
    assert "output_layer.4.running_var" in sd  # BatchNorm1d after the Linear
    assert "output_layer.0.running_mean" in sd  # BatchNorm2d before Dropout/Flatten
    # Stage 1 keeps the width: parameter-free MaxPool shortcut; stage 2 widens: conv + BN shortcut.
    assert not any(k.startswith("body.0.shortcut_layer") for k in sd)
    assert sd["body.2.shortcut_layer.0.weight"].shape == (128, 64, 1, 1)
    assert sd["body.0.res_layer.1.weight"].shape == (64, 64, 3, 3)
    assert len(model.body) == 8


def test_se_units_have_fc1_fc2():
    sd = create_model("ir_se_50", input_size=112, embedding_size=512).state_dict()
    assert sd["body.0.res_layer.5.fc1.weight"].shape == (4, 64, 1, 1)
    assert sd["output_layer.3.weight"].shape == (512, 512 * 7 * 7)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("resnet_7")
    with pytest.raises(ValueError, match="input_size"):
        create_model("ir_18", input_size=100)
    with pytest.raises(ValueError, match="depth"):
        IRResNet(20)
    model = create_model("ir_18", input_size=64, embedding_size=8)
    with pytest.raises(ValueError, match=r"\(N, 3, 64, 64\)"):
        model(torch.zeros(1, 3, 112, 112))


def test_model_info_counts_parameters():
    info = model_info("ir_18", input_size=64, embedding_size=256)
    assert 10_000_000 < info["parameters"] < 20_000_000
