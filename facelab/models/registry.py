"""Model registry: names like ``"ir_18"`` or ``"ir_se_50"`` -> network constructors.

A new architecture is one module in :mod:`facelab.models` with one decorator::

    @register_model("my_net", input_size=112, embedding_size=512)
    def my_net(*, input_size=112, embedding_size=512, **kw) -> nn.Module:
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from torch import nn

from facelab.core.registry import Registry
from facelab.models.irresnet import STAGE_UNITS, SUPPORTED_INPUT_SIZES, IRResNet

__all__ = ["MODELS", "create_model", "list_models", "register_model", "model_info"]

def _discover():
    from facelab.models import discover

    discover()


#: Network constructors ``factory(*, input_size, embedding_size, **kw) -> nn.Module``.
MODELS = Registry("model", discover=_discover)


def register_model(name: str, factory: Optional[Callable[..., nn.Module]] = None, **info):
    """Register a constructor ``factory(*, input_size, embedding_size) -> nn.Module`` under ``name``.

    Used as a decorator (``@register_model("ir_18")``) or called with the factory.
    """
    return MODELS.register(name, factory, **info)


def _ir_factory(depth: int, mode: str):
    def factory(*, input_size=112, embedding_size=512, **kw):
        return IRResNet(depth, input_size=input_size, embedding_size=embedding_size, mode=mode, **kw)

    factory.__name__ = f"{mode}_{depth}"
    return factory


for _depth in STAGE_UNITS:
    for _mode in ("ir", "ir_se"):
        register_model(f"{_mode}_{_depth}", family="IR-ResNet", depth=_depth, se=_mode == "ir_se")(_ir_factory(_depth, _mode))


def list_models() -> list[str]:
    """Registered model names, IR before IR-SE, shallow before deep."""

    def key(name):
        mode, _, depth = name.rpartition("_")
        return (mode != "ir", mode, int(depth) if depth.isdigit() else 0, name)

    return sorted(MODELS.names(), key=key)


def create_model(name: str, *, input_size: int = 112, embedding_size: int = 512, **kwargs) -> nn.Module:
    """Build a registered model (random weights, ``eval()`` mode).

    Parameters
    ----------
    name : str
        One of :func:`list_models` (case-insensitive; face.evoLVe's ``"IR_18"`` works too).
    input_size : {64, 112, 224}
    embedding_size : int

    Raises
    ------
    facelab.core.errors.UnknownNameError
        For a name no module registered (the message lists the known models).

    Examples
    --------
    >>> model = create_model("ir_18", input_size=64, embedding_size=256)  # the reference layout
    """
    factory = MODELS.get(name)
    if input_size not in SUPPORTED_INPUT_SIZES:
        raise ValueError(f"input_size must be one of {SUPPORTED_INPUT_SIZES}, got {input_size}")
    model = factory(input_size=input_size, embedding_size=embedding_size, **kwargs)
    return model.eval()


def model_info(name: str, *, input_size: int = 112, embedding_size: int = 512) -> dict:
    """``name``, ``input_size``, ``embedding_size`` and ``parameters`` (count) of a model."""
    m = create_model(name, input_size=input_size, embedding_size=embedding_size)
    return {
        "name": name.lower(),
        "input_size": input_size,
        "embedding_size": embedding_size,
        "parameters": sum(p.numel() for p in m.parameters()),
    }
