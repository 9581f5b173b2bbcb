"""EdgeFace-XS / -XXS as embedders (``edgeface_xs``, ``edgeface_xxs``): :class:`EdgeFaceEmbedder`.

The networks (timm EdgeNeXt, the authors' 8-bit weights dequantised to float32) are built by
:mod:`facelab.models.edgeface`; importing this module imports neither torch nor timm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from facelab.core.calibration import Calibration
from facelab.core.devices import DeviceError, resolve_device
from facelab.embedders.base import EDGEFACE_CALIBRATIONS, GENERIC_ARCFACE_CALIBRATION, Embedder, register_embedder
from facelab.models.edgeface import EDGEFACE_MODELS

if TYPE_CHECKING:
    import torch

__all__ = ["EdgeFaceEmbedder"]


class EdgeFaceEmbedder(Embedder):
    """EdgeFace-XS / -XXS as a facelab embedder (512-d, ``arcface112`` chips).

    Preprocessing as the authors': RGB 112x112 ArcFace chips scaled to [-1, 1]
    (``(x / 255 - 0.5) / 0.5``). The weights (8-bit release) are dequantised to float32, so
    embeddings do not depend on the batch a face is in.

    Licence: the weights are for research and teaching use only (CC BY-NC-SA 4.0, trained on
    WebFace260M); :meth:`describe` says so.

    Parameters
    ----------
    name : {"edgeface_xs", "edgeface_xxs"}
    weights : path-like, optional
        The weight file (default: looked up, see :mod:`facelab.models.weights`).
    flip : bool
        Average each chip's embedding with its mirror image's.
    device : str
        ``"auto"`` (default: CUDA when available), ``"cpu"`` or ``"cuda"`` (:func:`facelab.core.devices.resolve_device`).
    engine : {"onnx", "torch"}, optional
        What runs the network. ``"onnx"`` (the default on the CPU): onnxruntime, from the network's
        export in the cache folder (:mod:`facelab.models.onnx_runtime`; made once, with PyTorch),
        so a run needs neither torch nor timm (seconds to import) and is faster per face;
        ``"torch"`` (the default on a GPU): the PyTorch network. The two agree to float32 rounding.
    batch_size : int
    verify : bool
        Check the file's SHA-256 against the published one (default).
    calibration : Calibration, optional
        Default: the model's own, fitted on LFW pairsDevTrain.txt.
    """

    alignment = "arcface112"
    chip_size = 112
    input_size = 112
    embedding_size = 512

    ENGINES = ("onnx", "torch")

    def __init__(self, name: str = "edgeface_xs", *, weights=None, flip: bool = False, device: str = "auto",
                 engine: Optional[str] = None, batch_size: int = 64, verify: bool = True,
                 calibration: Optional[Calibration] = None):
        from facelab.models.weights import cached_sha256, get_weights_info, locate_weights

        key = str(name).lower()
        if key not in EDGEFACE_MODELS:
            raise ValueError(f"unknown EdgeFace model {name!r}; choose from {', '.join(EDGEFACE_MODELS)}")
        self.name = key
        self.info = get_weights_info(key)
        self.weights = locate_weights(key, weights, verify=verify)
        self.weights_sha256 = cached_sha256(self.weights)
        self.verify = bool(verify)
        dev = resolve_device(device)
        given_engine = engine
        if engine is None:
            engine = "onnx" if dev == "cpu" else "torch"
        if engine not in self.ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(self.ENGINES)}")
        if engine == "onnx" and dev != "cpu":
            raise DeviceError("the onnx engine runs on the CPU: use engine='torch' for --device cuda")
        self.engine = engine
        self._engine_given = engine if given_engine is not None else None
        if engine == "onnx":
            from facelab.models.onnx_runtime import OnnxNetwork, chip_network

            def build():
                from facelab.models.edgeface import load_edgeface

                return chip_network(load_edgeface(key, self.weights, verify=False, device="cpu"), mean=[127.5] * 3,
                                    scale=127.5)

            self.device = "cpu"
            self.model = None
            self.network = OnnxNetwork(key, self.weights_sha256, build, self.chip_size)
        else:
            import torch

            from facelab.models.edgeface import load_edgeface

            self.device = torch.device(dev)
            self.model = load_edgeface(key, self.weights, verify=False, device=self.device)  # verified just above
            self.network = None
        self.flip = bool(flip)
        self.batch_size = int(batch_size)
        if calibration is not None:
            self.calibration = calibration
        elif key in EDGEFACE_CALIBRATIONS:
            self.calibration = EDGEFACE_CALIBRATIONS[key]
        else:
            self.calibration = GENERIC_ARCFACE_CALIBRATION

    @property
    def licence(self) -> str:
        return self.info.licence

    def preprocess(self, chips: np.ndarray) -> torch.Tensor:
        """``(N, 112, 112, 3)`` uint8 RGB -> ``(N, 3, 112, 112)`` float32 in [-1, 1]."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float()
        return x.div_(127.5).sub_(1.0)

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        if self.network is not None:
            return self.network(chips)
        import torch

        x = self.preprocess(chips).to(self.device)
        with torch.inference_mode():
            return self.model(x).float().cpu().numpy()

    def fingerprint(self) -> str:
        # The device is left out: CPU and GPU agree to float32 rounding.
        return f"edgeface:{self.name}:{self.weights_sha256}:flip={int(self.flip)}"

    def spec(self) -> dict:
        spec = {"name": self.name, "weights": str(self.weights), "flip": self.flip, "device": str(self.device),
                "verify": self.verify}
        if self._engine_given is not None:  # else the default where it is rebuilt (a cluster worker's GPU: torch)
            spec["engine"] = self._engine_given
        return spec

    @property
    def multithreaded(self) -> bool:
        return self.engine == "torch"  # onnxruntime on the CPU: one thread in each pool worker

    def describe(self) -> str:
        return (super().describe() + f", {self.info.title}, {self.engine} engine on {self.device}; "
                f"licence: {self.info.licence}")


def _register(name: str) -> None:
    info = EDGEFACE_MODELS[name]

    @register_embedder(name, embedding_size=512, alignment="arcface112",
                       description=f"EdgeFace on timm {info} (pretrained, research and teaching use only)")
    def factory(*, weights=None, flip: bool = False, **opts) -> EdgeFaceEmbedder:
        return EdgeFaceEmbedder(name, weights=weights, flip=flip, **opts)


for _name in EDGEFACE_MODELS:
    _register(_name)
