"""Embedders: aligned face chips -> L2-normalised vectors, one module per embedder.

- :mod:`~facelab.embedders.base` -- the :class:`~facelab.embedders.base.Embedder` interface, the
  :data:`~facelab.embedders.base.EMBEDDERS` registry (``@register_embedder``) and the fitted
  calibrations;
- :mod:`~facelab.embedders.dlib` -- ``"dlib"`` (the default): dlib's 128-d ResNet on dlib's own
  150x150 chips, its weights run by PyTorch or by dlib;
- :mod:`~facelab.embedders.edgeface` -- ``"edgeface_xs"`` / ``"edgeface_xxs"`` (the networks are
  in :mod:`facelab.models.edgeface`);
- :mod:`~facelab.embedders.torch` -- a :mod:`facelab.models` network (``"ir_18"``, ...) with a
  checkpoint, fed the reference preprocessing (:mod:`~facelab.embedders.preprocessing`);
- :mod:`~facelab.embedders.onnx` -- an ArcFace-style ``.onnx`` model brought by the user;
- :mod:`~facelab.embedders.files` -- embedding files (JSON ``{image_id: [floats]}`` or ``.npz``).

:func:`create_embedder` builds any of them by name. Importing the package, or any of its modules,
does not import torch.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["create_embedder"]


def create_embedder(name: str = "dlib", *, weights=None, flip: bool = False, device: Optional[str] = None,
                    **opts):
    """An embedder by name.

    Parameters
    ----------
    name : str
        A registered embedder (``"dlib"``, the default; see :data:`facelab.embedders.base.EMBEDDERS`),
        a registered network architecture (``"ir_18"``, ``"ir_se_50"``, ...; run by
        :class:`~facelab.embedders.torch.TorchEmbedder`) or a path to an ``.onnx`` file.
    weights : path-like, optional
        Checkpoint for a registry model (required for meaningful embeddings).
    flip : bool
        Flip test-time augmentation.
    device : {"auto", "cpu", "cuda"}, optional
        Where a PyTorch network runs (:func:`facelab.core.devices.resolve_device`); default the
        class's (the CPU). ONNX models run on ONNX Runtime's CPU provider: ``"cuda"`` is refused.
    **opts
        Passed to the embedder class (e.g. ``input_size``, ``bgr``, ``calibration``).

    Returns
    -------
    facelab.embedders.base.Embedder

    Raises
    ------
    facelab.core.errors.UnknownNameError
        For a name that is neither registered nor an ``.onnx`` path (the message lists the names).
    """
    from facelab.core.devices import DeviceError
    from facelab.core.errors import UnknownNameError
    from facelab.embedders.base import EMBEDDERS

    key = str(name)
    if key.lower().endswith(".onnx"):
        from facelab.embedders.onnx import OnnxEmbedder

        if device is not None and str(device).lower().startswith("cuda"):
            raise DeviceError(f"--device {device}: ONNX models run on the CPU here (use --device cpu or auto)")
        if weights is not None:
            raise ValueError("an ONNX model holds its own weights; pass the .onnx path as the model")
        return OnnxEmbedder(key, flip=flip, **opts)
    if device is not None:
        opts["device"] = device
    if key in EMBEDDERS:  # discovery imports the embedder modules only: no torch for dlib
        return EMBEDDERS.create(key, weights=weights, flip=flip, **opts)
    from facelab.models import MODELS, list_models  # imports torch (seconds): not for dlib / ONNX

    if key in MODELS:
        from facelab.embedders.torch import TorchEmbedder

        return TorchEmbedder(key, weights=weights, flip=flip, **opts)
    choices = EMBEDDERS.names() + [m for m in list_models() if m not in EMBEDDERS.names()]
    raise UnknownNameError("model", name, choices, hint="(or a path to an .onnx file)")
