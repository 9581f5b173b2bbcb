"""The embedder interface, the embedder registry and the fitted calibrations.

Every embedder has the same interface (:class:`Embedder`): it names the alignment preset it
expects (:func:`facelab.stages.alignment.get_preset`), its output size and its
:class:`~facelab.core.calibration.Calibration`; ``embed(chips)`` maps ``(N, H, W, 3)`` uint8 RGB
chips to ``(N, D)`` float32 rows of unit L2 norm, and ``embed_raw(chips)`` gives the network's
output before that normalisation. Distances between embeddings are always the *squared* L2
distance of the normalised vectors (``2 - 2 cos``, in [0, 4]).

Embedders register by name with ``@register_embedder`` in their own module of
:mod:`facelab.embedders`; :data:`EMBEDDERS` imports those modules (light: none imports torch at
import time) the first time it is asked for a name it does not know.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.calibration import REFERENCE_CALIBRATION, Calibration
from facelab.core.registry import Registry
from facelab.core.vectors import unit_rows

__all__ = [
    "Embedder",
    "EMBEDDERS",
    "register_embedder",
    "DLIB_CALIBRATION",
    "EDGEFACE_CALIBRATIONS",
    "GENERIC_ARCFACE_CALIBRATION",
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

#: EdgeFace, fitted on LFW pairsDevTrain.txt only: 2199 of its 2200 pairs (1 image without a
#: face), MTCNN box, central face, arcface112, one descriptor per face, squared distance of
#: L2-normalised embeddings -- as :data:`DLIB_CALIBRATION`. Fitted 2026-11-30 with
#: ``FACELAB_CACHE=... python benchmarks/fit_calibration.py --model edgeface_xs edgeface_xxs --workers 2``
#: (XXS embedded from XS's MTCNN detections), which printed
#:   edgeface_xs:  genuine mean d 0.7138, impostor mean d 1.9825, accuracy-best distance threshold
#:                 1.5241 (devtrain accuracy 0.9977), mean=1.4808 std=0.0654 threshold=0.3404
#:   edgeface_xxs: genuine mean d 0.7363, impostor mean d 1.9785, accuracy-best distance threshold
#:                 1.3835 (devtrain accuracy 0.9959), mean=1.4853 std=0.0622 threshold=0.8370
#: The threshold is the score at the accuracy-best distance, so ``same_person`` is that distance
#: rule (cosine >= 0.238 for XS, >= 0.308 for XXS). Flip averaging shifts distances slightly:
#: these values are for one descriptor per face.
EDGEFACE_CALIBRATIONS: dict[str, Calibration] = {
    "edgeface_xs": Calibration(
        mean=1.4808022420878597,
        std=0.06539822780333214,
        threshold=0.3404,
        source="fitted on LFW pairsDevTrain.txt (2199 pairs, 2026-11-30)",
    ),
    "edgeface_xxs": Calibration(
        mean=1.4853054485287498,
        std=0.06221724556115326,
        threshold=0.837,
        source="fitted on LFW pairsDevTrain.txt (2199 pairs, 2026-11-30)",
    ),
}

#: For ONNX / unknown models without a fitted calibration: ArcFace-style models put the
#: same/different boundary near cosine 0.3 (squared distance 1.4), like the reference demo.
GENERIC_ARCFACE_CALIBRATION = Calibration(
    mean=1.40, std=0.20, threshold=0.60, source="generic ArcFace default, not fitted for this model"
)


class RandomWeightsWarning(UserWarning):
    """A network is used without trained weights: its embeddings mean nothing."""


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
    batch_size : int
        Chips per network call.
    multithreaded : bool
        Whether the pipeline embeds in its own process, in batches on the cores the pool leaves
        (PyTorch networks); otherwise (dlib's own engine, onnxruntime on the CPU) each pool worker
        embeds the chips it made, one thread each -- no chips to send, no parent to wait for --
        from the embedder's :meth:`spec`.
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
        """Raw (un-normalised) embeddings of one batch of validated uint8 chips."""

    def _batches(self, chips: np.ndarray):
        for i in range(0, len(chips), self.batch_size):
            yield chips[i : i + self.batch_size]

    def embed_raw(self, chips) -> np.ndarray:
        """The network's output for each chip, before L2 normalisation and without flip averaging.

        Returns
        -------
        numpy.ndarray
            ``(N, embedding_size)`` float32 (for a mirror image's, pass the mirrored chips).
        """
        chips = _check_chips(chips, self.chip_size, type(self).__name__)
        out = [np.asarray(self._forward(b), dtype=np.float32) for b in self._batches(chips)]
        return np.concatenate(out) if out else np.zeros((0, self.embedding_size), dtype=np.float32)

    def embed(self, chips) -> np.ndarray:
        """Embed ``(N, H, W, 3)`` uint8 RGB chips (one ``(H, W, 3)`` chip is accepted too).

        Returns
        -------
        numpy.ndarray
            ``(N, embedding_size)`` float32, every row of unit L2 norm (with :attr:`flip`, the
            normalised mean of the chip's and its mirror image's unit vectors).
        """
        chips = _check_chips(chips, self.chip_size, type(self).__name__)
        if len(chips) == 0:
            return np.zeros((0, self.embedding_size), dtype=np.float32)
        out = []
        for batch in self._batches(chips):
            e = unit_rows(self._forward(batch), dtype=np.float32)
            if self.flip:
                e = e + unit_rows(self._forward(np.ascontiguousarray(batch[:, :, ::-1])), dtype=np.float32)
            out.append(unit_rows(e, dtype=np.float32))
        return np.concatenate(out)

    def fingerprint(self) -> Optional[str]:
        """A string that changes whenever the embeddings would; None when not reproducible."""
        return None

    def spec(self) -> Optional[dict]:
        """Keyword arguments of :func:`facelab.embedders.create_embedder` that rebuild this embedder, or None."""
        return None

    def describe(self) -> str:
        flip = ", flip TTA" if self.flip else ""
        return (
            f"{self.name}: {self.embedding_size}-d, {self.alignment} chips "
            f"({self.chip_size}x{self.chip_size}), network input {self.input_size}{flip}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


def _discover() -> None:
    """Import every module of :mod:`facelab.embedders`, so that their ``@register_embedder`` run."""
    package = __name__.rpartition(".")[0]
    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{package}.{mod.name}")


#: Ready embedders by name: ``@register_embedder("name", **info)`` on a factory
#: ``factory(*, weights=None, flip=False, **opts) -> Embedder``. Architectures of
#: :data:`facelab.models.MODELS` (``ir_18`` ...) are embedders too, through
#: :class:`facelab.embedders.torch.TorchEmbedder` (see :func:`facelab.embedders.create_embedder`).
EMBEDDERS = Registry("embedder", discover=_discover)
register_embedder = EMBEDDERS.register
