"""Embedders: aligned face chips -> L2-normalised vectors, and embedding files.

Every embedder has the same interface (:class:`Embedder`): it names the alignment preset it
expects (:func:`facelab.stages.alignment.get_preset`), its output size and its
:class:`~facelab.core.calibration.Calibration`, and ``embed(chips)`` maps ``(N, H, W, 3)`` uint8 RGB
chips to ``(N, D)`` float32 rows of unit L2 norm. Distances between embeddings are always the
*squared* L2 distance of these normalised vectors (``2 - 2 cos``, in [0, 4]).

- :class:`DlibEmbedder` (``"dlib"``, the default): dlib's 128-d ResNet on dlib's own 150x150 chips,
  its weights run by PyTorch (:mod:`facelab.models.dlib_resnet`) or by dlib (``engine="dlib"``).
- :class:`TorchEmbedder`: a :mod:`facelab.models` network (``"ir_18"``, ``"ir_se_50"``, ...) with
  optional weights, fed the reference preprocessing of 112x112 ArcFace chips.
- :class:`OnnxEmbedder`: an ArcFace-style ``.onnx`` model brought by the user.

Embedding files (:func:`write_embeddings` / :func:`read_embeddings`) are the reference JSON
``{image_id: [floats]}`` or a compact ``.npz`` (``ids``, ``embeddings``).
"""

from __future__ import annotations

import json
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.atomic import atomic_write_bytes
from facelab.core.calibration import REFERENCE_CALIBRATION, Calibration
from facelab.core.devices import DeviceError, resolve_device
from facelab.core.errors import EmbeddingsFileError, UnknownNameError
from facelab.core.hashing import file_sha256
from facelab.core.registry import Registry
from facelab.models.dlib_files import dlib_model_path, dlib_object

__all__ = [
    "Embedder",
    "DlibEmbedder",
    "TorchEmbedder",
    "OnnxEmbedder",
    "create_embedder",
    "register_embedder",
    "EMBEDDERS",
    "DLIB_CALIBRATION",
    "GENERIC_ARCFACE_CALIBRATION",
    "reference_transform",
    "preprocess_steps",
    "l2_normalize",
    "write_embeddings",
    "read_embeddings",
    "RandomWeightsWarning",
]

#: dlib's ResNet calibrated on LFW pairsDevTrain.txt: 2167 of its 2200 pairs (33 pairs lose an
#: image to "no face" with the dlib HOG detector), largest face, dlib150 chips, squared distance
#: of L2-normalised descriptors. Fitted 2026-11-29 with
#: ``FACELAB_CACHE=... python benchmarks/fit_calibration.py --workers 2`` which printed
#: genuine mean d 0.0959, impostor mean d 0.3368, accuracy-best distance threshold 0.1928
#: (devtrain accuracy 0.9857), mean=0.1957 std=0.0190 threshold=0.5390. The threshold is the
#: score at that distance, so ``same_person`` is exactly the accuracy-best distance rule
#: (d <= 0.1928; dlib's documented raw-Euclidean 0.6 is (0.6 / ~1.4) ** 2 = ~0.18 on this scale).
DLIB_CALIBRATION = Calibration(
    mean=0.19574054547089323,
    std=0.018975040702688413,
    threshold=0.539,
    source="fitted on LFW pairsDevTrain.txt (2167 pairs, 2026-11-29)",
)

#: For ONNX / unknown models without a fitted calibration: ArcFace-style models put the
#: same/different boundary near cosine 0.3 (squared distance 1.4), like the reference demo.
GENERIC_ARCFACE_CALIBRATION = Calibration(
    mean=1.40, std=0.20, threshold=0.60, source="generic ArcFace default, not fitted for this model"
)


class RandomWeightsWarning(UserWarning):
    """A network is used without trained weights: its embeddings mean nothing."""


def l2_normalize(x, axis: int = 1, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32)."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(n, eps)).astype(np.float32)


def _check_chips(chips, size: Optional[int], who: str) -> np.ndarray:
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.ndim != 4 or chips.shape[-1] != 3:
        raise ValueError(f"{who} expects (N, H, W, 3) RGB chips, got shape {chips.shape}")
    if chips.dtype != np.uint8:
        raise ValueError(f"{who} expects uint8 chips, got {chips.dtype}")
    if size is not None and chips.shape[1:3] != (size, size):
        raise ValueError(f"{who} expects {size}x{size} chips, got {chips.shape[1]}x{chips.shape[2]}")
    return np.ascontiguousarray(chips)


class Embedder(ABC):
    """Aligned chips -> L2-normalised embeddings.

    Attributes
    ----------
    name : str
        Model name (``"dlib"``, ``"ir_18"``, an ``.onnx`` file's name).
    alignment : str
        Alignment preset whose chips :meth:`embed` takes (``"dlib150"``, ``"arcface112"``).
    chip_size : int
        Side of those chips.
    input_size : int
        Side of the network input (after the embedder's own preprocessing).
    embedding_size : int
    calibration : Calibration
    flip : bool
        Test-time augmentation: average the embeddings of each chip and its mirror image.
    multithreaded : bool
        Whether one :meth:`embed` call uses every core (PyTorch, ONNX Runtime). The pipeline
        embeds such models in batches in its own process, and single-threaded ones (dlib's own
        engine) inside each pool worker.
    """

    name: str = "?"
    alignment: str = "arcface112"
    chip_size: int = 112
    input_size: int = 112
    embedding_size: int = 0
    calibration: Calibration = REFERENCE_CALIBRATION
    flip: bool = False
    batch_size: int = 32
    multithreaded: bool = True

    @abstractmethod
    def _forward(self, chips: np.ndarray) -> np.ndarray:
        """Raw (un-normalised) embeddings of validated uint8 chips."""

    def embed(self, chips) -> np.ndarray:
        """Embed ``(N, H, W, 3)`` uint8 RGB chips (one ``(H, W, 3)`` chip is accepted too).

        Returns
        -------
        numpy.ndarray
            ``(N, embedding_size)`` float32, every row of unit L2 norm.
        """
        chips = _check_chips(chips, self.chip_size, type(self).__name__)
        if len(chips) == 0:
            return np.zeros((0, self.embedding_size), dtype=np.float32)
        out = []
        for i in range(0, len(chips), self.batch_size):
            batch = chips[i : i + self.batch_size]
            e = l2_normalize(self._forward(batch))
            if self.flip:
                e = e + l2_normalize(self._forward(np.ascontiguousarray(batch[:, :, ::-1])))
            out.append(l2_normalize(e))
        return np.concatenate(out).astype(np.float32)

    def fingerprint(self) -> Optional[str]:
        """A string that changes whenever the embeddings would; None when not reproducible."""
        return None

    def spec(self) -> Optional[dict]:
        """Keyword arguments of :func:`create_embedder` that rebuild this embedder, or None."""
        return None

    def describe(self) -> str:
        flip = ", flip TTA" if self.flip else ""
        return (
            f"{self.name}: {self.embedding_size}-d, {self.alignment} chips "
            f"({self.chip_size}x{self.chip_size}), network input {self.input_size}{flip}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


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
    engine : {"torch", "dlib"}, optional
        What runs the network. ``"torch"`` (the default when ``num_jitters`` is 0): the same
        weights, read from dlib's file by :mod:`facelab.models.dlib_resnet`, in batched PyTorch
        on every core -- several times faster than dlib-bin, and equal to dlib's descriptors to
        float32 rounding. ``"dlib"``: ``dlib.face_recognition_model_v1.compute_face_descriptor``.
    """

    name = "dlib"
    alignment = "dlib150"
    chip_size = 150
    input_size = 150
    embedding_size = 128
    ENGINES = ("torch", "dlib")

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
        if engine is None:
            engine = "dlib" if self.num_jitters else "torch"
        if engine not in self.ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(self.ENGINES)}")
        if engine == "torch" and self.num_jitters:
            raise ValueError("num_jitters is dlib's own random augmentation: use engine='dlib' with it")
        self.engine = engine
        if engine == "dlib" and str(device).lower().startswith("cuda"):
            raise DeviceError("dlib's own engine runs on the CPU: use engine='torch' for --device cuda")
        self.device = "cpu" if engine == "dlib" else resolve_device(device)
        self.calibration = calibration or DLIB_CALIBRATION
        self._fp = None
        self._net = None  # the network on self.device (the process-wide CPU copy when cpu)

    @property
    def model_path(self) -> Path:
        return dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")

    def _forward(self, chips: np.ndarray) -> np.ndarray:
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
        return {"name": "dlib", "flip": self.flip, "num_jitters": self.num_jitters, "engine": self.engine}

    @property
    def multithreaded(self) -> bool:
        return self.engine == "torch"  # dlib-bin computes descriptors on one core

    def describe(self) -> str:
        return super().describe() + f", {self.engine} engine" + (f" on {self.device}" if self.device != "cpu" else "")


# ------------------------------------------------------------------------------------------
# PyTorch models
# ------------------------------------------------------------------------------------------


def reference_transform(input_size: int):
    """The reference demo's torchvision preprocessing of a 112x112 ArcFace chip.

    ``Resize(int(128 * s / 112))``, ``CenterCrop(s)``, ``ToTensor()``,
    ``Normalize([0.5] * 3, [0.5] * 3)`` -- pixel values end up in [-1, 1].
    """
    from torchvision import transforms

    s = int(input_size)
    return transforms.Compose(
        [
            transforms.Resize(int(128 * s / 112)),
            transforms.CenterCrop(s),
            transforms.ToTensor(),
            transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        ]
    )


def preprocess_steps(chip: np.ndarray, input_size: int) -> list:
    """The reference preprocessing of one chip, step by step, for pictures.

    Returns
    -------
    list of (str, numpy.ndarray)
        ``(step name, image)``: the chip, after ``Resize``, after ``CenterCrop`` (uint8 RGB), and
        the normalised network input as ``(s, s, 3)`` float32 in [-1, 1].
    """
    from PIL import Image
    from torchvision import transforms

    s = int(input_size)
    r = int(128 * s / 112)
    im = Image.fromarray(np.asarray(chip, dtype=np.uint8))
    resized = transforms.Resize(r)(im)
    cropped = transforms.CenterCrop(s)(resized)
    tensor = transforms.Normalize([0.5] * 3, [0.5] * 3)(transforms.ToTensor()(cropped))
    return [
        (f"aligned chip {im.width}x{im.height}", np.asarray(im)),
        (f"Resize({r})", np.asarray(resized)),
        (f"CenterCrop({s})", np.asarray(cropped)),
        ("ToTensor + Normalize(0.5, 0.5)", tensor.permute(1, 2, 0).numpy()),
    ]


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


# ------------------------------------------------------------------------------------------
# ONNX
# ------------------------------------------------------------------------------------------


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
            from facelab.core.errors import CheckpointError

            raise CheckpointError(f"ONNX model not found: {self.path}")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            from facelab.core.errors import CheckpointError

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


# ------------------------------------------------------------------------------------------
# Factory
# ------------------------------------------------------------------------------------------


def _discover():
    from facelab.models import discover

    discover()


#: Ready embedders by name: ``@register_embedder("name", **info)`` on a factory
#: ``factory(*, weights=None, flip=False, **opts) -> Embedder``. Architectures of
#: :data:`facelab.models.MODELS` (``ir_18`` ...) are embedders too, through :class:`TorchEmbedder`.
EMBEDDERS = Registry("embedder", discover=_discover)
register_embedder = EMBEDDERS.register


@register_embedder("dlib", embedding_size=128, alignment="dlib150", description="dlib's ResNet (face_recognition)")
def _dlib_embedder(*, weights=None, flip: bool = False, **opts) -> DlibEmbedder:
    if weights is not None:
        raise ValueError("the dlib model ships its own weights; --weights is for registry models")
    return DlibEmbedder(flip=flip, **opts)


def create_embedder(name: str = "dlib", *, weights=None, flip: bool = False, device: Optional[str] = None,
                    **opts) -> Embedder:
    """An embedder by name.

    Parameters
    ----------
    name : str
        A registered embedder (``"dlib"``, the default; see :data:`EMBEDDERS`), a registered
        network architecture (``"ir_18"``, ``"ir_se_50"``, ...; run by :class:`TorchEmbedder`) or
        a path to an ``.onnx`` file.
    weights : path-like, optional
        Checkpoint for a registry model (required for meaningful embeddings).
    flip : bool
        Flip test-time augmentation.
    device : {"auto", "cpu", "cuda"}, optional
        Where a PyTorch network runs (:func:`facelab.core.devices.resolve_device`); default the
        class's (the CPU). ONNX models run on ONNX Runtime's CPU provider: ``"cuda"`` is refused.
    **opts
        Passed to the embedder class (e.g. ``input_size``, ``bgr``, ``calibration``).

    Raises
    ------
    facelab.core.errors.UnknownNameError
        For a name that is neither registered nor an ``.onnx`` path (the message lists the names).
    """
    key = str(name)
    if key.lower().endswith(".onnx"):
        if device is not None and str(device).lower().startswith("cuda"):
            raise DeviceError(f"--device {device}: ONNX models run on the CPU here (use --device cpu or auto)")
        if weights is not None:
            raise ValueError("an ONNX model holds its own weights; pass the .onnx path as the model")
        return OnnxEmbedder(key, flip=flip, **opts)
    if device is not None:
        opts["device"] = device
    if EMBEDDERS.has(key, discover=False):  # the built-ins: no torch import for dlib
        return EMBEDDERS.create(key, weights=weights, flip=flip, **opts)
    from facelab.models import MODELS, list_models  # imports torch (seconds): not for dlib / ONNX

    if key in MODELS:
        return TorchEmbedder(key, weights=weights, flip=flip, **opts)
    if key in EMBEDDERS:  # registered by a module found on discovery
        return EMBEDDERS.create(key, weights=weights, flip=flip, **opts)
    choices = EMBEDDERS.names() + [m for m in list_models() if m not in EMBEDDERS.names()]
    raise UnknownNameError("model", name, choices, hint="(or a path to an .onnx file)")


# ------------------------------------------------------------------------------------------
# Embedding files
# ------------------------------------------------------------------------------------------


def write_embeddings(path, ids: Sequence[str], vectors) -> Path:
    """Write embeddings atomically: ``.json`` (reference ``{image_id: [floats]}``) or ``.npz``.

    Raises
    ------
    ValueError
        Ids and vectors disagree in number, ids repeat, or a vector is not finite.
    """
    path = Path(path)
    ids = [str(i) for i in ids]
    vecs = np.asarray(vectors, dtype=np.float32)
    if vecs.ndim != 2 and not (vecs.size == 0 and len(ids) == 0):
        raise ValueError(f"vectors must be 2-D (N, D), got shape {vecs.shape}")
    vecs = vecs.reshape(len(ids), -1) if vecs.size == 0 else vecs
    if len(ids) != len(vecs):
        raise ValueError(f"{len(ids)} ids but {len(vecs)} vectors")
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"repeated image ids: {', '.join(dup)}")
    bad = ~np.isfinite(vecs).all(axis=1) if len(vecs) else np.zeros(0, bool)
    if bad.any():
        raise ValueError(f"non-finite embedding for {ids[int(np.argmax(bad))]!r}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        atomic_write_bytes(path, lambda fh: np.savez_compressed(fh, ids=np.array(ids, dtype=str), embeddings=vecs))
    elif suffix == ".json":
        # float32 -> shortest repr that round-trips float32 exactly.
        body = ",\n".join(
            f"  {json.dumps(i)}: [" + ", ".join(repr(float(np.float32(v))) for v in row) + "]" for i, row in zip(ids, vecs)
        )
        text = "{\n" + body + "\n}\n" if ids else "{}\n"
        atomic_write_bytes(path, lambda fh: fh.write(text.encode()))
    else:
        raise ValueError(f"embeddings file must end in .json or .npz, got {path.name!r}")
    return path


def read_embeddings(path) -> tuple[list[str], np.ndarray]:
    """Read an embeddings file written by :func:`write_embeddings` (or the reference demo).

    Returns
    -------
    ids : list of str
    embeddings : numpy.ndarray
        ``(N, D)`` float32 (not re-normalised: as stored).

    Raises
    ------
    EmbeddingsFileError
        Missing file, not JSON / npz, not a ``{id: [numbers]}`` mapping, ragged lengths,
        non-numbers, NaN or infinity -- naming the problem and the offending key.
    """
    path = Path(path)
    if not path.is_file():
        raise EmbeddingsFileError(f"embeddings file not found: {path}")
    if path.suffix.lower() == ".npz":
        return _read_npz(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EmbeddingsFileError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise EmbeddingsFileError(f"{path}: expected a JSON object {{image_id: [floats]}}, got a {type(data).__name__}")
    if not data:
        raise EmbeddingsFileError(f"{path}: holds no embeddings (empty object)")
    ids, rows, dim = [], [], None
    for key, value in data.items():
        if not isinstance(value, list):
            raise EmbeddingsFileError(f"{path}: {key!r}: expected a list of numbers, got a {type(value).__name__}")
        for j, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise EmbeddingsFileError(f"{path}: {key!r}: element {j} is not a number ({v!r})")
            if not math.isfinite(v):
                raise EmbeddingsFileError(f"{path}: {key!r}: element {j} is {v} (not finite)")
        if dim is None:
            dim = len(value)
            if dim == 0:
                raise EmbeddingsFileError(f"{path}: {key!r}: empty vector")
        elif len(value) != dim:
            raise EmbeddingsFileError(
                f"{path}: {key!r} has {len(value)} values but {ids[0]!r} has {dim} (ragged lengths)"
            )
        ids.append(key)
        rows.append(value)
    return ids, np.asarray(rows, dtype=np.float32)


def _read_npz(path: Path) -> tuple[list[str], np.ndarray]:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            if not {"ids", "embeddings"} <= names:
                raise EmbeddingsFileError(f"{path}: expected arrays 'ids' and 'embeddings', found {sorted(names)}")
            ids = [str(i) for i in z["ids"]]
            emb = np.asarray(z["embeddings"])
    except EmbeddingsFileError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise EmbeddingsFileError(f"{path}: not a readable .npz file ({exc})") from exc
    if emb.ndim != 2:
        raise EmbeddingsFileError(f"{path}: 'embeddings' must be 2-D, got shape {emb.shape}")
    if not np.issubdtype(emb.dtype, np.number):
        raise EmbeddingsFileError(f"{path}: 'embeddings' is not numeric ({emb.dtype})")
    if len(ids) != len(emb):
        raise EmbeddingsFileError(f"{path}: {len(ids)} ids but {len(emb)} embeddings")
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        raise EmbeddingsFileError(f"{path}: {ids[int(np.argmax(bad))]!r}: embedding is not finite (NaN or inf)")
    return ids, emb.astype(np.float32)
