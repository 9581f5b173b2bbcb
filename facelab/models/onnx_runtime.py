"""PyTorch networks run in onnxruntime: exported once per weights file, kept in the cache folder.

Importing PyTorch costs seconds in every new process (torch about 2-3 s on this 2-core machine,
timm for EdgeFace as much again), more than a whole two-photo ``facelab compare`` needs
otherwise, and onnxruntime (already a dependency, for YuNet) starts in a tenth of a second and
runs dlib's ResNet and EdgeFace on the CPU 10-35% faster per face. So an embedder on the CPU runs
its network here: the first time a weights file is used, its PyTorch network is exported to ONNX
(:func:`facelab.models.checkpoint.export_onnx`) into ``$FACELAB_CACHE/onnx/`` (atomically), checked
against PyTorch on a batch of faces, and from then on loaded without PyTorch.

The exported graph takes the chips as they come, ``(N, H, W, 3)`` RGB as float32 0-255, with the
network's own preprocessing inside it (:func:`chip_network`), and gives the raw embedding.
Outputs equal PyTorch's to float32 rounding (checked at export: at most ``1e-4`` of their scale).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.devices import cpu_threads
from facelab.core.paths import cache_dir

__all__ = ["EXPORT_VERSION", "OnnxNetwork", "onnx_file", "export_network", "chip_network"]

#: Part of every exported file's name: bump when the export (its graph or its input) changes.
EXPORT_VERSION = 1
#: Largest difference allowed between onnxruntime's and PyTorch's outputs at export, as a fraction
#: of the outputs' largest magnitude (measured: about 1e-6).
TOLERANCE = 1e-4

_SESSIONS: dict = {}
_EXPORTED: dict = {}  # (name, fingerprint) -> the file this process exported or loaded
_LOCK = threading.Lock()


def onnx_file(name: str, fingerprint: str) -> Path:
    """Where the export of network ``name`` with weights ``fingerprint`` (e.g. their SHA-256) is kept."""
    key = hashlib.sha256(f"{name}|{fingerprint}|v{EXPORT_VERSION}".encode()).hexdigest()[:20]
    return cache_dir() / "onnx" / f"{name}-{key}.onnx"


def chip_network(network, *, mean, scale: float):
    """``network`` behind its preprocessing, as one module: ``(N, H, W, 3)`` float32 0-255 RGB in,
    ``network((x - mean) / scale)`` in NCHW out."""
    import torch

    class _ChipNetwork(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = network
            self.register_buffer("mean", torch.as_tensor(np.asarray(mean, np.float32)).reshape(1, -1, 1, 1))
            self.scale = float(scale)

        def forward(self, chips):
            return self.network((chips.permute(0, 3, 1, 2) - self.mean) / self.scale)

    return _ChipNetwork().eval()


def export_network(module, path: Path, chip_size: int) -> Path:
    """Export ``module`` (a :func:`chip_network`) to ``path`` and check onnxruntime's outputs against it.

    Raises
    ------
    RuntimeError
        The export does not reproduce PyTorch's outputs (the file is removed).
    """
    import torch

    from facelab.models.checkpoint import export_onnx

    export_onnx(module, path, input_size=chip_size, input_shape=(2, chip_size, chip_size, 3))
    chips = np.random.default_rng(0).integers(0, 256, (3, chip_size, chip_size, 3)).astype(np.float32)
    with torch.inference_mode():
        ref = module(torch.from_numpy(chips)).float().numpy()
    got = _session(path, 1).run(None, {"input": chips})[0]
    err = float(np.abs(got - ref).max() / max(float(np.abs(ref).max()), 1e-12))
    if not err <= TOLERANCE:
        _forget(path)
        path.unlink(missing_ok=True)
        raise RuntimeError(f"the ONNX export of {path.name} differs from PyTorch by {err:.2g} of its scale")
    return path


def _session(path: Path, threads: int):
    key = (str(path), int(threads))
    with _LOCK:
        if key not in _SESSIONS:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = int(threads)  # 0: onnxruntime's default, every core
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            _SESSIONS[key] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return _SESSIONS[key]


def _forget(path: Path) -> None:
    with _LOCK:
        for key in [k for k in _SESSIONS if k[0] == str(path)]:
            del _SESSIONS[key]


class OnnxNetwork:
    """A network of this process run by onnxruntime on the CPU, from its export in the cache folder.

    Parameters
    ----------
    name : str
        Names the exported file (``edgeface_xs``, ``dlib_resnet``).
    fingerprint : str
        Identifies the weights (their SHA-256): a new file is exported for new weights.
    build : callable
        Returns the PyTorch :func:`chip_network`; called (and PyTorch imported) only when the file is
        not there yet or cannot be loaded.
    chip_size : int
        The chips' side.

    Calls take ``(N, S, S, 3)`` uint8 (or float) RGB chips and return ``(N, D)`` float32 raw
    embeddings, with :func:`facelab.core.devices.cpu_threads` threads (all cores outside a pool).
    """

    def __init__(self, name: str, fingerprint: str, build: Callable, chip_size: int):
        self.name = name
        self.chip_size = int(chip_size)
        self.path = onnx_file(name, fingerprint)
        with _LOCK:
            # Exported in this process already (under another cache folder): that file serves.
            known = _EXPORTED.get((name, fingerprint))
            if not self.path.is_file() and known is not None and known.is_file():
                self.path = known
            ready = self.path.is_file()
        if ready:
            try:
                _session(self.path, 0)
            except Exception:  # damaged (an interrupted disk, a foreign file): export it again
                _forget(self.path)
                self.path.unlink(missing_ok=True)
                ready = False
        if not ready:
            export_network(build(), self.path, self.chip_size)
        with _LOCK:
            _EXPORTED[name, fingerprint] = self.path

    def __repr__(self) -> str:
        return f"OnnxNetwork({self.name!r}, {self.path})"

    def __call__(self, chips: np.ndarray, threads: Optional[int] = None) -> np.ndarray:
        x = np.ascontiguousarray(chips, dtype=np.float32)
        n = threads if threads is not None else (cpu_threads() or 0)
        return np.asarray(_session(self.path, n).run(None, {"input": x})[0], dtype=np.float32)
