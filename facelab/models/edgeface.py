"""EdgeFace-XS and -XXS: the authors' 8-bit releases, dequantised into timm's EdgeNeXt.

EdgeFace (George et al., IEEE T-BIOM 2024) is timm's EdgeNeXt (``edgenext_x_small`` for XS,
``edgenext_xx_small`` for XXS) with the classifier reset to a 512-d embedding
(``timm.create_model(arch); model.reset_classifier(512)``, wrapped as ``self.model`` -- hence
the ``model.`` prefix of every key). The ``*_q.pt`` files are the state dict of that network after
``torch.quantization.quantize_dynamic(model, {nn.Linear}, torch.qint8)``: every ``nn.Linear``
is stored as ``<layer>._packed_params._packed_params = (int8 weight with a per-tensor scale and
zero point, float bias)`` plus unused ``scale`` / ``zero_point`` / ``dtype`` entries; everything
else (convolutions, norms, ``gamma``, attention ``temperature``) is float32.

Run as shipped, dynamic quantisation also quantises each *batch's* activations with a range taken
from the whole batch, so a face's embedding depends on which faces share its batch (cosine
0.88-0.96 measured). :func:`read_edgeface_state_dict` therefore dequantises the int8 weights to
float32 (``(q - zero_point) * scale``, the values the quantised model multiplies by) and loads
them into the plain float timm model: the embedding of a face no longer depends on its batch, and
the network runs on a GPU too.

Checked with torch 2.14.1, torchvision 0.29.1, timm 1.0.31 (pinned in requirements.txt): the
files load with ``torch.load(..., weights_only=True)`` and no extra safe globals (quantised
tensors, ``torch.dtype`` and the packed-params tuple are on the default allow-list). PyTorch
deprecates quantised tensor types; if a future release cannot read them, the error says so.

Weights: research and teaching use only (CC BY-NC-SA 4.0; see :mod:`facelab.models.weights`).
The embedder that runs these networks is :class:`facelab.embedders.edgeface.EdgeFaceEmbedder`.
Importing this module does not import torch (its functions do).
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from facelab.core.devices import resolve_device
from facelab.core.errors import CheckpointError

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "EDGEFACE_MODELS",
    "build_edgeface",
    "read_edgeface_state_dict",
    "load_edgeface",
]

#: facelab name -> timm architecture.
EDGEFACE_MODELS = {"edgeface_xs": "edgenext_x_small", "edgeface_xxs": "edgenext_xx_small"}
#: The authors' wrapper module holds the timm network as ``self.model``.
_PREFIX = "model."
_PACKED = "._packed_params._packed_params"


def build_edgeface(name: str) -> nn.Module:
    """The float EdgeFace network (random weights, ``eval()`` mode): timm EdgeNeXt, 512-d head.

    Parameters
    ----------
    name : {"edgeface_xs", "edgeface_xxs"}
    """
    import timm

    key = str(name).lower()
    if key not in EDGEFACE_MODELS:
        raise ValueError(f"unknown EdgeFace model {name!r}; choose from {', '.join(EDGEFACE_MODELS)}")
    model = timm.create_model(EDGEFACE_MODELS[key], pretrained=False)
    model.reset_classifier(512)  # as the authors' TimmFRWrapperV2(featdim=512)
    model.facelab_name = key
    return model.eval()


def _load_file(path: Path) -> dict:
    import torch

    try:
        with warnings.catch_warnings():
            # torch warns that TypedStorage and quantised tensor constructors are deprecated.
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch raise many kinds here
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = ""
        if "quant" in reason.lower():
            hint = " (this PyTorch cannot read quantised tensors: use the pinned torch of requirements.txt)"
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: {reason[:200]}){hint}"
        ) from exc
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: expected an EdgeFace state dict, found a {type(obj).__name__}")
    return obj


def read_edgeface_state_dict(path) -> dict:
    """An EdgeFace ``*_q.pt`` file as a float32 state dict for :func:`build_edgeface`'s network.

    Keys lose the wrapper's ``model.`` prefix; each dynamically quantised Linear
    (``<layer>._packed_params._packed_params``) becomes ``<layer>.weight`` (int8 dequantised to
    float32) and ``<layer>.bias``; its unused ``scale``, ``zero_point`` and ``dtype`` entries are
    dropped. Float files (already ``<layer>.weight``) pass through unchanged.

    Raises
    ------
    CheckpointError
        Unreadable, truncated or not an EdgeFace state dict.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    raw = _load_file(path)
    if not all(isinstance(k, str) for k in raw) or not any(k.startswith(_PREFIX + "stem.") for k in raw):
        some = sorted(map(str, raw))[:5]
        raise CheckpointError(f"{path}: not an EdgeFace (EdgeNeXt) state dict: no 'model.stem.*' keys (first keys: {some})")
    sd: dict = {}
    quantised = {k[: -len(_PACKED)] for k in raw if k.endswith(_PACKED)}
    for key, value in raw.items():
        name = key[len(_PREFIX):] if key.startswith(_PREFIX) else key
        layer = next((q for q in quantised if key.startswith(q + ".")), None)
        if layer is not None:
            if key != layer + _PACKED:
                continue  # scale / zero_point / dtype of a dynamically quantised Linear: unused
            try:
                weight, bias = value
                w = weight.dequantize() if weight.is_quantized else weight
            except Exception as exc:
                raise CheckpointError(f"{path}: {key}: not a quantised Linear's (weight, bias) ({exc})") from exc
            base = layer[len(_PREFIX):] if layer.startswith(_PREFIX) else layer
            sd[base + ".weight"] = w.float().contiguous()
            if bias is not None:
                sd[base + ".bias"] = bias.detach().float().contiguous()
            continue
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: {key} holds a {type(value).__name__}, not a tensor")
        sd[name] = (value.dequantize() if value.is_quantized else value).float()
    return sd


def _fit(model: nn.Module, sd: dict, path: Path, name: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    mismatched = [k for k in sd if k in own and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if mismatched:
            parts.append(f"{len(mismatched)} mis-shaped (e.g. " + ", ".join(
                f"{k}: file {tuple(sd[k].shape)}, model {tuple(own[k].shape)}" for k in mismatched[:3]) + ")")
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError(
            f"{path} does not fit {name} ({EDGEFACE_MODELS[name]}): " + "; ".join(parts)
            + ". Is it the weight file of another model?"
        )
    model.load_state_dict(sd, strict=True)


_MODELS: dict[tuple, nn.Module] = {}
_MODELS_LOCK = threading.Lock()


def load_edgeface(name: str, weights=None, *, verify: bool = True, device="cpu") -> nn.Module:
    """A pretrained EdgeFace network (float32, ``eval()``), shared process-wide per file and device.

    Parameters
    ----------
    name : {"edgeface_xs", "edgeface_xxs"}
    weights : path-like, optional
        The ``*_q.pt`` file (or a folder holding it). Default: looked up by
        :func:`facelab.models.weights.locate_weights`.
    verify : bool
        Refuse a file whose SHA-256 is not the published one (default). ``False`` is for files
        of your own (e.g. fine-tuned): they are still checked to fit the architecture.
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, or ``"auto"``.

    Raises
    ------
    WeightsNotFoundError
        No file found (the message lists every place looked and the fetch command).
    CheckpointError
        Wrong SHA-256, truncated, unreadable, or the weights of another architecture.
    """
    import torch

    from facelab.models.weights import cached_sha256, locate_weights

    key = str(name).lower()
    if key not in EDGEFACE_MODELS:
        raise ValueError(f"unknown EdgeFace model {name!r}; choose from {', '.join(EDGEFACE_MODELS)}")
    path = locate_weights(key, weights, verify=verify)
    dev = torch.device(resolve_device(device))
    cache_key = (key, cached_sha256(path), str(dev))
    with _MODELS_LOCK:
        if cache_key not in _MODELS:
            model = build_edgeface(key)
            _fit(model, read_edgeface_state_dict(path), path, key)
            _MODELS[cache_key] = model.to(dev).eval()
        return _MODELS[cache_key]
