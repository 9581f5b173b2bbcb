"""Model registry: names like ``"ir_18"`` or ``"ir_se_50"`` -> constructors."""

from __future__ import annotations

from typing import Callable

from torch import nn

from facelab.models.irresnet import STAGE_UNITS, SUPPORTED_INPUT_SIZES, IRResNet

__all__ = ["create_model", "list_models", "register_model", "model_info", "REFERENCE_ARCH"]

#: The reference demo's model: IR_18 on 64x64 chips with a 256-d embedding.
REFERENCE_ARCH = {"arch": "ir_18", "input_size": 64, "embedding_size": 256}

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str, factory: Callable[..., nn.Module]) -> None:
    """Add a constructor ``factory(*, input_size, embedding_size) -> nn.Module`` under ``name``."""
    _REGISTRY[name.lower()] = factory


for _depth in STAGE_UNITS:
    for _mode in ("ir", "ir_se"):
        register_model(
            f"{_mode}_{_depth}",
            lambda *, input_size=112, embedding_size=512, _d=_depth, _m=_mode, **kw: IRResNet(
                _d, input_size=input_size, embedding_size=embedding_size, mode=_m, **kw
            ),
        )


def list_models() -> list[str]:
    """Registered model names, IR before IR-SE, shallow before deep."""

    def key(name):
        mode, _, depth = name.rpartition("_")
        return (mode != "ir", mode, int(depth) if depth.isdigit() else 0, name)

    return sorted(_REGISTRY, key=key)


def create_model(name: str, *, input_size: int = 112, embedding_size: int = 512, **kwargs) -> nn.Module:
    """Build a registered model (random weights, ``eval()`` mode).

    Parameters
    ----------
    name : str
        One of :func:`list_models` (case-insensitive; face.evoLVe's ``"IR_18"`` works too).
    input_size : {64, 112, 224}
    embedding_size : int

    Examples
    --------
    >>> model = create_model("ir_18", input_size=64, embedding_size=256)  # the reference layout
    """
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    if input_size not in SUPPORTED_INPUT_SIZES:
        raise ValueError(f"input_size must be one of {SUPPORTED_INPUT_SIZES}, got {input_size}")
    model = _REGISTRY[key](input_size=input_size, embedding_size=embedding_size, **kwargs)
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
