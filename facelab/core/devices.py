"""Where the PyTorch parts run: ``--device auto|cpu|cuda``.

:func:`resolve_device` turns the user's choice into a torch device string. The embedding
networks (dlib's ResNet in PyTorch, :class:`~facelab.embedders.torch.TorchEmbedder`) and the MTCNN
detector take it; on a machine without a GPU ``auto`` is ``cpu`` and nothing changes. The device
is not part of the cache key: it changes vectors only to float rounding.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from facelab.core.errors import FacelabError

__all__ = ["DEVICES", "DeviceError", "resolve_device", "torch_threads"]

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


@contextmanager
def torch_threads(n: int | None):
    """Run a block with PyTorch's intra-op CPU threads set to ``n``, then restore them.

    The embedding pool's workers take every core for detection while this process embeds their
    chips. With PyTorch's default of one thread per core here as well, the cores are
    oversubscribed and its OpenMP threads spin waiting for each other: on 2 cores, EdgeFace
    end to end went from 47 to 59 images/s (and 36 to 27 CPU ms per image) with one thread.

    Parameters
    ----------
    n : int or None
        Threads for the block (at least 1); None leaves the setting alone. Nothing happens when
        PyTorch has not been imported (then nothing in the block runs a PyTorch network).
    """
    torch = sys.modules.get("torch")
    if n is None or torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)
