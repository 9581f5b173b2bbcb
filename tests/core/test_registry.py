"""The one registry style: decorated factories by name, one error listing the choices."""

from __future__ import annotations

import pytest

from facelab.core.errors import FacelabError, UnknownNameError
from facelab.core.registry import Registry


def test_register_create_info_and_names():
    reg = Registry("widget")

    @reg.register("Small", size=1)
    def small(*, scale=1):
        return ("small", scale)

    reg.register("big", lambda: "big", size=10)
    assert small() == ("small", 1)  # the decorator returns the factory unchanged
    assert reg.names() == ["small", "big"] and list(reg) == reg.names() and len(reg) == 2
    assert "SMALL" in reg and "tiny" not in reg
    assert reg.create("small", scale=3) == ("small", 3)
    assert reg.info("big") == {"name": "big", "size": 10}


def test_unknown_name_lists_the_choices():
    reg = Registry("widget")
    reg.register("a", lambda: 1)
    reg.register("b", lambda: 2)
    with pytest.raises(UnknownNameError) as err:
        reg.create("c")
    assert isinstance(err.value, FacelabError) and isinstance(err.value, ValueError)
    assert str(err.value) == "unknown widget 'c'; choose from a, b"
    assert err.value.choices == ["a", "b"] and err.value.kind == "widget"


def test_discovery_runs_once_and_only_on_a_miss():
    calls = []
    reg = Registry("widget", discover=lambda: (calls.append(1), reg.register("late", lambda: "late")))
    reg.register("early", lambda: "early")
    assert reg.create("early") == "early" and calls == []  # a known name imports nothing more
    assert reg.has("late", discover=False) is False and calls == []
    assert reg.create("late") == "late" and calls == [1]
    with pytest.raises(UnknownNameError):
        reg.get("never")
    assert calls == [1]


def test_every_kind_uses_the_registry():
    from facelab.embedders import create_embedder
    from facelab.embedders.base import EMBEDDERS
    from facelab.models import MODELS, create_model, list_models, register_model
    from facelab.stages.alignment import PRESETS, get_preset, register_preset
    from facelab.stages.detection import DETECTORS, create_detector

    assert {"dlib", "mtcnn"} <= set(DETECTORS.names())
    assert {"arcface112", "seed64", "dlib150"} <= set(PRESETS.names())
    assert "dlib" in EMBEDDERS and "ir_18" in MODELS and list_models()[0] == "ir_18"
    for call, match in [
        (lambda: create_detector("nosuch"), "unknown detector 'nosuch'; choose from dlib, mtcnn"),
        (lambda: get_preset("nosuch"), "unknown alignment preset 'nosuch'"),
        (lambda: create_model("nosuch"), "unknown model 'nosuch'; choose from ir_18"),
        (lambda: create_embedder("nosuch"), r"unknown model 'nosuch'; choose from dlib, .*ir_18.*\.onnx"),
    ]:
        with pytest.raises(UnknownNameError, match=match):
            call()

    # A new model is one decorator: the name works with create_model at once.
    import torch

    @register_model("tiny_test_net", embedding_size=4)
    def tiny(*, input_size=112, embedding_size=4):
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(embedding_size))

    try:
        m = create_model("tiny_test_net", input_size=64, embedding_size=4)
        assert m(torch.zeros(1, 3, 64, 64)).shape == (1, 4) and "tiny_test_net" in list_models()
        assert MODELS.info("tiny_test_net")["embedding_size"] == 4
    finally:
        MODELS._factories.pop("tiny_test_net")

    @register_preset("test_preset_96")
    class P96(type(get_preset("arcface112"))):
        def __init__(self):
            super().__init__(96, name="test_preset_96")

    try:
        assert get_preset("test_preset_96").size == 96
    finally:
        PRESETS._factories.pop("test_preset_96")
