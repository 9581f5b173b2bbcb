"""Where the PyTorch parts run: ``--device auto|cpu|cuda``.

:func:`resolve_device` turns the user's choice into a torch device string. The embedding
networks (dlib's ResNet in PyTorch, :class:`~facelab.embedding.TorchEmbedder`) and the MTCNN
detector take it; on a machine without a GPU ``auto`` is ``cpu`` and nothing changes. The device
is not part of the cache key: it changes vectors only to float rounding.
"""

from __future__ import annotations

from facelab.errors import FacelabError

__all__ = ["DEVICES", "DeviceError", "resolve_device"]

#: The choices a command line offers.
DEVICES = ("auto", "cpu", "cuda")


class DeviceError(FacelabError):
    """The device asked for is not there (``--device cuda`` without a GPU PyTorch can use)."""


def resolve_device(device: str | None = "auto") -> str:
    """``"cuda"`` / ``"cuda:N"`` or ``"cpu"`` for a device choice.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or None
        ``"auto"`` (or None): CUDA when ``torch.cuda.is_available()``, else the CPU.

    Raises
    ------
    DeviceError
        For ``cuda`` when PyTorch sees no CUDA device, or an unknown name.
    """
    name = "auto" if device is None else str(device).strip().lower()
    if name == "cpu":
        return "cpu"
    if name != "auto" and name != "cuda" and not name.startswith("cuda:"):
        raise DeviceError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    import torch

    if torch.cuda.is_available():
        return "cuda" if name == "auto" else name
    if name == "auto":
        return "cpu"
    raise DeviceError(f"--device {name}: PyTorch {torch.__version__} sees no CUDA device on this machine "
                      "(use --device cpu or auto)")
