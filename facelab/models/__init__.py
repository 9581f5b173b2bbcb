"""Embedding networks: the IR-ResNet family, a name registry, checkpoints and ONNX export.

>>> from facelab.models import create_model, load_checkpoint
>>> model = create_model("ir_18", input_size=64, embedding_size=256)
>>> load_checkpoint(model, "weights/backbone_ir18.pth")  # doctest: +SKIP

Names are imported on first use (PEP 562), so that ``facelab.models.dlib_files`` -- dlib's model
files, used by detection workers that never import torch -- can be imported without torch.
A new network is one module in this package with one decorator (``@register_model``);
:func:`discover` imports every module here the first time the registry is asked for a name it does
not know. The embedders that run networks are in :mod:`facelab.embedders` (their own registry).
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = [
    "IRResNet",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
    "MODELS",
    "load_checkpoint",
    "read_state_dict",
    "save_checkpoint",
    "export_onnx",
    "discover",
]

_LAZY = {
    "IRResNet": "irresnet",
    "create_model": "registry",
    "list_models": "registry",
    "model_info": "registry",
    "register_model": "registry",
    "MODELS": "registry",
    "load_checkpoint": "checkpoint",
    "read_state_dict": "checkpoint",
    "save_checkpoint": "checkpoint",
    "export_onnx": "checkpoint",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def discover() -> None:
    """Import every module of this package, so that their registration decorators run."""
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
