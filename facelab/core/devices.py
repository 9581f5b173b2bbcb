"""Where the PyTorch parts run: ``--device auto|cpu|cuda``.

:func:`resolve_device` turns the user's choice into a torch device string. The embedding
networks (dlib's ResNet in PyTorch, :class:`~facelab.embedders.torch.TorchEmbedder`) and the MTCNN
detector take it; on a machine without a GPU ``auto`` is ``cpu`` and nothing changes. The device
is not part of the cache key: it changes vectors only to float rounding.
"""

from __future__ import annotations

import glob
import os
import sys
from contextlib import contextmanager

from facelab.core.errors import FacelabError

__all__ = ["DEVICES", "DeviceError", "resolve_device", "nvidia_driver_present", "cpu_threads", "set_cpu_threads",
           "torch_threads"]

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
    if name == "auto" and not nvidia_driver_present():
        return "cpu"  # PyTorch could not see a GPU either: spare its import (seconds)
    import torch

    if torch.cuda.is_available():
        return "cuda" if name == "auto" else name
    if name == "auto":
        return "cpu"
    raise DeviceError(f"--device {name}: PyTorch {torch.__version__} sees no CUDA device on this machine "
                      "(use --device cpu or auto)")


def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is loaded here (``/proc/driver/nvidia`` or a ``/dev/nvidia*`` device):
    without one, no CUDA device exists, and ``auto`` is the CPU without importing PyTorch."""
    return os.path.exists("/proc/driver/nvidia") or bool(glob.glob("/dev/nvidia[0-9]*"))


#: The CPU threads a network may use now (:func:`torch_threads`), or None: as many as it likes.
_CPU_THREADS: list = []
_PROCESS_THREADS: list = [None]


def cpu_threads() -> int | None:
    """The CPU threads a network in this process may use now: set by :func:`torch_threads` while pool
    workers take the other cores, or for the whole process by :func:`set_cpu_threads` (a pool or
    cluster worker: one); None otherwise. onnxruntime networks read it per call."""
    return _CPU_THREADS[-1] if _CPU_THREADS else _PROCESS_THREADS[0]


def set_cpu_threads(n: int | None) -> None:
    """The CPU threads networks in this process use from now on (a worker process: its share of the
    cores), PyTorch's too when it is imported; None: no limit."""
    _PROCESS_THREADS[0] = None if n is None else max(1, int(n))
    torch = sys.modules.get("torch")
    if torch is not None and n is not None:
        torch.set_num_threads(max(1, int(n)))


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
        Threads for the block (at least 1); None leaves the setting alone. PyTorch's setting is
        changed only when it has been imported; onnxruntime networks read :func:`cpu_threads`.
    """
    if n is None:
        yield
        return
    _CPU_THREADS.append(max(1, int(n)))
    try:
        torch = sys.modules.get("torch")
        if torch is None:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(max(1, int(n)))
        try:
            yield
        finally:
            torch.set_num_threads(before)
    finally:
        _CPU_THREADS.pop()
