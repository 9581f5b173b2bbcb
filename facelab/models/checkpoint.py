"""Reading and writing model weights: PyTorch checkpoints and ONNX export.

Checkpoints come in many wrappings. :func:`load_checkpoint` accepts

- a bare state_dict (``torch.save(model.state_dict(), "backbone.pth")``, face.evoLVe's layout);
- a dict holding it under ``state_dict``, ``model``, ``backbone`` or ``model_state_dict``
  (training scripts' ``.pth.tar``), nested at most a few levels deep;
- keys prefixed with ``module.`` (saved from ``DataParallel`` / ``DistributedDataParallel``).

Files are read with ``torch.load(..., map_location="cpu", weights_only=True)``: a checkpoint can
never run code on load. Anything that does not fit the model raises
:class:`~facelab.core.errors.CheckpointError` naming the missing, unexpected and mis-shaped keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from torch import nn

from facelab.core.atomic import staged_file
from facelab.core.errors import CheckpointError

__all__ = ["load_checkpoint", "read_state_dict", "save_checkpoint", "export_onnx"]

#: Keys under which training scripts nest the weights, tried in this order.
NESTING_KEYS = ("state_dict", "model", "backbone", "model_state_dict", "net")
#: How many keys of each kind an error message lists before "... and N more".
_MAX_LISTED = 8




def _is_state_dict(obj) -> bool:
    return isinstance(obj, dict) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    )


def _unwrap(obj, path: Path, depth: int = 0) -> dict:
    if _is_state_dict(obj):
        return obj
    if isinstance(obj, dict) and depth < 3:
        for key in NESTING_KEYS:
            if key in obj and isinstance(obj[key], dict):
                return _unwrap(obj[key], path, depth + 1)
        # Some trainers mix tensors with bookkeeping (e.g. an int "epoch"); keep the tensors.
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
    if isinstance(obj, dict):
        what = f"a dict with keys {sorted(map(str, obj))[:10]}" if obj else "an empty dict"
    else:
        what = f"a {type(obj).__name__}"
    raise CheckpointError(
        f"{path}: no state_dict found: the file holds {what} "
        f"(expected tensors, or a dict with one of {', '.join(NESTING_KEYS)})"
    )


def _strip_prefix(sd: dict, prefix: str = "module.") -> dict:
    # DataParallel may be nested (module.module.); strip while every key carries it.
    while sd and all(k.startswith(prefix) for k in sd):
        sd = {k[len(prefix):]: v for k, v in sd.items()}
    return sd


def read_state_dict(path) -> dict:
    """Read the state_dict inside a ``.pth`` / ``.pth.tar`` checkpoint (CPU tensors, prefixes stripped).

    Raises
    ------
    CheckpointError
        The file is missing, not a PyTorch checkpoint, corrupt, or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch raise many kinds here
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {reason[:200]})"
        ) from exc
    return _strip_prefix(_unwrap(obj, path))


def _fmt_keys(keys, describe=lambda k: k) -> str:
    keys = list(keys)
    shown = ", ".join(describe(k) for k in keys[:_MAX_LISTED])
    if len(keys) > _MAX_LISTED:
        shown += f", ... and {len(keys) - _MAX_LISTED} more"
    return shown


def load_checkpoint(model: nn.Module, path, *, strict: bool = True) -> nn.Module:
    """Load a checkpoint's weights into ``model`` (in place) and return it in ``eval()`` mode.

    Parameters
    ----------
    model : torch.nn.Module
    path : path-like
        ``.pth`` / ``.pth.tar`` file (see the module docstring for accepted layouts).
    strict : bool
        When True (default) every model key must be present and no extra key may be in the file;
        shapes must always match.

    Raises
    ------
    CheckpointError
        Unreadable file, or a file that does not fit: the message names the missing, unexpected
        and mis-shaped keys (with both shapes).
    """
    path = Path(path)
    sd = read_state_dict(path)
    own = model.state_dict()
    # BatchNorm's counter is absent from checkpoints older than PyTorch 0.4.1 and unused at eval.
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in own]
    mismatched = [k for k in sd if k in own and tuple(sd[k].shape) != tuple(own[k].shape)]
    problems = []
    if mismatched:
        problems.append(
            f"{len(mismatched)} mis-shaped: "
            + _fmt_keys(mismatched, lambda k: f"{k} (file {tuple(sd[k].shape)}, model {tuple(own[k].shape)})")
        )
    if strict and missing:
        problems.append(f"{len(missing)} missing: " + _fmt_keys(missing))
    if strict and unexpected:
        problems.append(f"{len(unexpected)} unexpected: " + _fmt_keys(unexpected))
    if problems:
        arch = getattr(model, "arch", type(model).__name__)
        extra = ""
        if hasattr(model, "input_size"):
            extra = f" (input_size={model.input_size}, embedding_size={getattr(model, 'embedding_size', '?')})"
        raise CheckpointError(f"{path} does not fit {arch}{extra}: " + "; ".join(problems))
    fitting = {k: v for k, v in sd.items() if k in own}
    model.load_state_dict(fitting, strict=False)
    return model.eval()


def save_checkpoint(model: nn.Module, path, *, meta: Optional[dict] = None) -> Path:
    """Write ``{"state_dict", "arch", "input_size", "embedding_size", **meta}`` atomically.

    The file loads with ``weights_only=True`` (only tensors, strings and numbers inside).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "arch": getattr(model, "arch", type(model).__name__),
        "input_size": getattr(model, "input_size", None),
        "embedding_size": getattr(model, "embedding_size", None),
    }
    payload.update(meta or {})
    with staged_file(path) as tmp:
        torch.save(payload, tmp)
    return path


def export_onnx(model: nn.Module, path, *, input_size: Optional[int] = None, opset: int = 17,
                input_shape: Optional[tuple] = None) -> Path:
    """Export to ONNX with input ``input`` ``(batch, 3, S, S)`` (or ``input_shape``, batch first) and
    output ``embedding``; batch is dynamic.

    The exported graph is the bare network (no L2 normalisation), like the PyTorch model.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    s = int(input_size or model.input_size)
    was_training = model.training
    model.eval()
    dummy = torch.zeros(*(input_shape or (2, 3, s, s)))
    import warnings

    try:
        with staged_file(path, suffix=".onnx") as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about shape checks
            # The TorchScript exporter: no onnxscript dependency, single self-contained file.
            torch.onnx.export(
                model,
                (dummy,),
                tmp,
                input_names=["input"],
                output_names=["embedding"],
                dynamic_axes={"input": {0: "batch"}, "embedding": {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
    finally:
        model.train(was_training)
    return path
