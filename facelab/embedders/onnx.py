"""An ArcFace-style ``.onnx`` model brought by the user, as an embedder: :class:`OnnxEmbedder`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.calibration import Calibration
from facelab.core.errors import CheckpointError
from facelab.core.hashing import file_sha256
from facelab.embedders.base import GENERIC_ARCFACE_CALIBRATION, Embedder

__all__ = ["OnnxEmbedder"]


class OnnxEmbedder(Embedder):
    """An ArcFace-style ONNX model: ``(x - 127.5) / 127.5`` on aligned chips, NCHW.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file. Input and output names (and the input size, when fixed in the
        graph) are read from the session.
    bgr : bool
        Feed channels in BGR order (InsightFace models converted from MXNet often expect RGB;
        some OpenCV-trained ones BGR).
    calibration : Calibration, optional
        Default :data:`GENERIC_ARCFACE_CALIBRATION` (not fitted for the model).
    flip : bool
    """

    def __init__(self, path, *, bgr: bool = False, calibration: Optional[Calibration] = None, flip: bool = False,
                 batch_size: int = 32, threads: Optional[int] = None):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(f"ONNX model not found: {self.path}")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise CheckpointError(f"{self.path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from exc
        inp = self.session.get_inputs()[0]
        out = self.session.get_outputs()[0]
        self.input_name, self.output_name = inp.name, out.name
        shape = list(inp.shape)
        if len(shape) != 4:
            raise ValueError(f"{self.path}: expected a 4-D NCHW input, got {shape}")
        side = shape[2] if isinstance(shape[2], int) else 112
        self.input_size = self.chip_size = int(side)
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.embedding_size = int(out.shape[-1]) if isinstance(out.shape[-1], int) else 0
        self.bgr = bool(bgr)
        self.flip = bool(flip)
        self.batch_size = int(batch_size)
        self.name = self.path.name
        self.alignment = f"arcface{self.input_size}"
        self.calibration = calibration or GENERIC_ARCFACE_CALIBRATION
        self._hash = None

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        x = chips[..., ::-1] if self.bgr else chips
        x = ((np.transpose(x, (0, 3, 1, 2)).astype(np.float32) - 127.5) / 127.5).copy()
        if self.fixed_batch == 1 and len(x) > 1:
            outs = [self.session.run([self.output_name], {self.input_name: x[i : i + 1]})[0] for i in range(len(x))]
            y = np.concatenate(outs)
        else:
            y = self.session.run([self.output_name], {self.input_name: x})[0]
        y = np.asarray(y, dtype=np.float32).reshape(len(chips), -1)
        if not self.embedding_size:
            self.embedding_size = y.shape[1]
        return y

    def fingerprint(self) -> str:
        if self._hash is None:
            self._hash = file_sha256(self.path)
        return f"onnx:{self._hash}:bgr={int(self.bgr)}:flip={int(self.flip)}"

    def spec(self) -> dict:
        return {"name": str(self.path), "bgr": self.bgr, "flip": self.flip}
