"""A :mod:`facelab.models` network (the IR-ResNet family) as an embedder: :class:`TorchEmbedder`.

Importing this module does not import torch (the class does, when built).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.calibration import REFERENCE_CALIBRATION, Calibration
from facelab.core.devices import resolve_device
from facelab.core.hashing import file_sha256
from facelab.embedders.base import Embedder, RandomWeightsWarning
from facelab.embedders.preprocessing import reference_transform

__all__ = ["TorchEmbedder"]


def _infer_layout(state_dict: dict) -> tuple[Optional[int], Optional[int]]:
    """``(input_size, embedding_size)`` from an IR-ResNet state_dict's head, when recognisable."""
    w = state_dict.get("output_layer.3.weight")
    if w is None or w.ndim != 2:
        return None, None
    e, f = int(w.shape[0]), int(w.shape[1])
    r = math.isqrt(max(f // 512, 0))
    return (16 * r if r * r * 512 == f else None), e


class TorchEmbedder(Embedder):
    """A :mod:`facelab.models` network (IR-ResNet family) as an embedder.

    Parameters
    ----------
    arch : str
        Registry name (``"ir_18"``, ``"ir_se_50"``, ...; see :func:`facelab.models.list_models`).
    weights : path-like, optional
        A checkpoint (:func:`facelab.models.load_checkpoint` layouts). Without it the network has
        random weights: allowed, for trying the plumbing, but a :class:`RandomWeightsWarning` is
        raised and the embeddings are meaningless.
    input_size, embedding_size : int, optional
        Default: read from the checkpoint's head (and its saved metadata); else the reference
        layout (64 / 256) for ``ir_18`` and 112 / 512 for the others.
    preprocessing : {"reference", "plain"}
        ``"reference"``: :func:`reference_transform` on 112x112 ArcFace chips (the reference demo).
        ``"plain"``: chips of the network's own size, ``(x - 127.5) / 127.5`` only (ArcFace style).
    calibration : Calibration, optional
        Default: :data:`~facelab.core.calibration.REFERENCE_CALIBRATION` (fitted for the reference
        IR_18 / 64 / 256 model; for other models treat it as a starting point).
    flip : bool
    device : str
    """

    def __init__(
        self,
        arch: str = "ir_18",
        *,
        weights=None,
        input_size: Optional[int] = None,
        embedding_size: Optional[int] = None,
        preprocessing: str = "reference",
        calibration: Optional[Calibration] = None,
        flip: bool = False,
        device: str = "cpu",
        batch_size: int = 32,
    ):
        import torch

        from facelab.models import create_model, load_checkpoint, read_state_dict

        if preprocessing not in ("reference", "plain"):
            raise ValueError(f"preprocessing must be 'reference' or 'plain', got {preprocessing!r}")
        self.arch = arch.lower()
        self.weights = Path(weights) if weights is not None else None
        meta_in, meta_e = None, None
        if self.weights is not None:
            meta_in, meta_e = _infer_layout(read_state_dict(self.weights))
        default_in, default_e = (64, 256) if self.arch == "ir_18" else (112, 512)
        self.input_size = int(input_size or meta_in or default_in)
        self.embedding_size = int(embedding_size or meta_e or default_e)
        self.model = create_model(self.arch, input_size=self.input_size, embedding_size=self.embedding_size)
        if self.weights is not None:
            load_checkpoint(self.model, self.weights)
            self._weights_hash = file_sha256(self.weights)
        else:
            self._weights_hash = None
            warnings.warn(
                f"{self.arch} has RANDOM weights (no --weights checkpoint given): its embeddings and "
                "distances are meaningless; use it only to try the plumbing",
                RandomWeightsWarning,
                stacklevel=2,
            )
        self.device = torch.device(resolve_device(device))
        self.model.to(self.device).eval()
        self.preprocessing = preprocessing
        self.name = self.arch
        self.alignment = "arcface112" if preprocessing == "reference" else f"arcface{self.input_size}"
        self.chip_size = 112 if preprocessing == "reference" else self.input_size
        self.flip = bool(flip)
        self.batch_size = int(batch_size)
        reference = (self.arch, self.input_size, self.embedding_size) == ("ir_18", 64, 256)
        if calibration is not None:
            self.calibration = calibration
        elif reference:
            self.calibration = REFERENCE_CALIBRATION
        else:
            self.calibration = Calibration(
                REFERENCE_CALIBRATION.mean,
                REFERENCE_CALIBRATION.std,
                REFERENCE_CALIBRATION.threshold,
                source="reference IR_18 demo values, not fitted for this model",
            )
        self._transform = reference_transform(self.input_size) if preprocessing == "reference" else None

    def preprocess(self, chips: np.ndarray):
        """``(N, H, W, 3)`` uint8 chips -> ``(N, 3, s, s)`` float tensor in [-1, 1]."""
        import torch

        if self._transform is not None:
            from PIL import Image

            return torch.stack([self._transform(Image.fromarray(c)) for c in chips])
        x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float()
        return (x - 127.5) / 127.5

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        import torch

        x = self.preprocess(chips).to(self.device)
        with torch.inference_mode():
            return self.model(x).float().cpu().numpy()

    def fingerprint(self) -> Optional[str]:
        if self._weights_hash is None:
            return None  # random weights: never cache
        return (
            f"torch:{self.arch}:{self.input_size}:{self.embedding_size}:{self.preprocessing}:"
            f"{self._weights_hash}:flip={int(self.flip)}"
        )

    def spec(self) -> Optional[dict]:
        if self.weights is None:
            return None
        return {
            "name": self.arch,
            "weights": str(self.weights),
            "flip": self.flip,
            "input_size": self.input_size,
            "embedding_size": self.embedding_size,
            "preprocessing": self.preprocessing,
        }
