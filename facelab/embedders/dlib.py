"""dlib's ResNet face descriptor as an embedder (``"dlib"``, facelab's default model)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.calibration import Calibration
from facelab.core.devices import DeviceError, resolve_device
from facelab.embedders.base import DLIB_CALIBRATION, Embedder, register_embedder
from facelab.models.dlib_files import dlib_model_path, dlib_object

__all__ = ["DlibEmbedder"]


class DlibEmbedder(Embedder):
    """dlib's ResNet face descriptor (``dlib_face_recognition_resnet_model_v1``).

    Takes dlib's own 150x150 chips (preset ``"dlib150"``: 5-point predictor +
    ``get_face_chip(size=150, padding=0.25)``). dlib's raw 128-d descriptors are *not* unit
    vectors (their norms are about 1.3-1.45 on LFW); they are L2-normalised here so that distances
    mean the same thing for every model: squared L2 of normalised vectors. dlib's classic rule
    "raw Euclidean distance < 0.6" therefore corresponds to a squared distance of about
    ``(0.6 / 1.4) ** 2 = 0.18`` here; the calibration below is fitted on that scale.

    Parameters
    ----------
    flip : bool
        Average each chip's descriptor with its mirror image's.
    num_jitters : int
        dlib's own augmentation (random jitters averaged; slow, 0 = off). Needs ``engine="dlib"``.
    engine : {"onnx", "torch", "dlib"}, optional
        What runs the network. ``"onnx"`` (the default on the CPU when ``num_jitters`` is 0): the
        same weights, read from dlib's file by :mod:`facelab.models.dlib_resnet` and exported once
        into the cache folder (:mod:`facelab.models.onnx_runtime`), in batched onnxruntime on every
        core, without importing PyTorch; ``"torch"`` (the default on a GPU): that network in
        PyTorch. Both are several times faster than dlib-bin and equal to dlib's descriptors to
        float32 rounding. ``"dlib"``: ``dlib.face_recognition_model_v1.compute_face_descriptor``.
    """

    name = "dlib"
    alignment = "dlib150"
    chip_size = 150
    input_size = 150
    embedding_size = 128
    ENGINES = ("onnx", "torch", "dlib")

    def __init__(
        self,
        *,
        flip: bool = False,
        num_jitters: int = 0,
        engine: Optional[str] = None,
        calibration: Optional[Calibration] = None,
        device: str = "cpu",
    ):
        self.flip = bool(flip)
        self.num_jitters = int(num_jitters)
        self._engine_given = engine
        if engine is None:
            engine = "dlib" if self.num_jitters else ("onnx" if resolve_device(device) == "cpu" else "torch")
        if engine not in self.ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(self.ENGINES)}")
        if engine != "dlib" and self.num_jitters:
            raise ValueError("num_jitters is dlib's own random augmentation: use engine='dlib' with it")
        self.engine = engine
        if engine in ("dlib", "onnx") and str(device).lower().startswith("cuda"):
            raise DeviceError(f"the {engine} engine runs on the CPU: use engine='torch' for --device cuda")
        self.device = "cpu" if engine in ("dlib", "onnx") else resolve_device(device)
        self.calibration = calibration or DLIB_CALIBRATION
        self._fp = None
        self._net = None  # the network on self.device (the process-wide CPU copy when cpu)

    @property
    def model_path(self) -> Path:
        return dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        if self.engine == "onnx":
            if self._net is None:
                from facelab.models.onnx_runtime import OnnxNetwork, chip_network
                from facelab.models.weights import cached_sha256

                def build():
                    net = dlib_object("resnet_torch")
                    return chip_network(net, mean=net.mean.reshape(-1).tolist(), scale=256.0)

                self._net = OnnxNetwork("dlib_resnet", cached_sha256(self.model_path), build, self.chip_size)
            return self._net(chips)
        if self.engine == "torch":
            import torch

            net = dlib_object("resnet_torch")
            if self._net is None:
                import copy

                self._net = net if self.device == "cpu" else copy.deepcopy(net).to(self.device)
            with torch.inference_mode():
                return self._net(net.preprocess(chips).to(self.device)).float().cpu().numpy()
        net = dlib_object("resnet")
        vecs = net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips], self.num_jitters)
        return np.array([np.asarray(v) for v in vecs], dtype=np.float32).reshape(len(chips), 128)

    def fingerprint(self) -> str:
        if self._fp is None:
            p = self.model_path
            # Both engines give the same descriptors (to ~1e-6), so they share cache entries.
            self._fp = f"dlib-resnet-v1:{p.stat().st_size}:flip={int(self.flip)}:jit={self.num_jitters}"
        return self._fp

    def spec(self) -> dict:
        spec = {"name": "dlib", "flip": self.flip, "num_jitters": self.num_jitters}
        if self._engine_given is not None:  # else the default where it is rebuilt (a cluster worker's GPU: torch)
            spec["engine"] = self._engine_given
        return spec

    @property
    def multithreaded(self) -> bool:
        return self.engine == "torch"  # dlib-bin and onnxruntime on the CPU: one thread in each pool worker

    def describe(self) -> str:
        return super().describe() + f", {self.engine} engine" + (f" on {self.device}" if self.device != "cpu" else "")


@register_embedder("dlib", embedding_size=128, alignment="dlib150", description="dlib's ResNet (face_recognition)")
def _dlib_embedder(*, weights=None, flip: bool = False, **opts) -> DlibEmbedder:
    if weights is not None:
        raise ValueError("the dlib model ships its own weights; --weights is for registry models")
    return DlibEmbedder(flip=flip, **opts)
