"""Embedding networks: the IR-ResNet family, a name registry, checkpoints and ONNX export.

>>> from facelab.models import create_model, load_checkpoint
>>> model = create_model("ir_18", input_size=64, embedding_size=256)
>>> load_checkpoint(model, "weights/backbone_ir18.pth")  # doctest: +SKIP
"""

from facelab.models.checkpoint import export_onnx, load_checkpoint, read_state_dict, save_checkpoint
from facelab.models.irresnet import IRResNet
from facelab.models.registry import REFERENCE_ARCH, create_model, list_models, model_info, register_model

__all__ = [
    "IRResNet",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
    "REFERENCE_ARCH",
    "load_checkpoint",
    "read_state_dict",
    "save_checkpoint",
    "export_onnx",
]
