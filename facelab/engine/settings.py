"""What decides an image's embedding: the seven settings of a run, and the key caches file them under.

:class:`EmbedSettings` carries the model (and its ``weights``), the ``detector`` and multi-face
``policy``, ``flip`` test-time augmentation, dlib's ``upsample`` and the ``device``, from the
command line through the driver (:func:`facelab.engine.pipeline.embed_images`) to every executor.
It builds what those settings describe (:meth:`EmbedSettings.build_embedder`,
:meth:`EmbedSettings.build_detector`) and the dictionary a cache keys on
(:meth:`EmbedSettings.cache_settings`; :func:`settings_key` hashes it). The file cache
(:class:`facelab.engine.cache.EmbeddingCache`) and the Parquet store
(:class:`facelab.engine.store.EmbeddingStore`) use the same key, so an entry one of them holds is
an entry the other would hold.

The key hashes the embedder's fingerprint (model, weights' SHA-256, flip), the detector and
policy, the alignment preset, dlib's upsampling and :data:`CACHE_VERSION`. The device is not
part of it: it changes vectors only to float rounding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace
from typing import Any, Optional

__all__ = ["EmbedSettings", "CACHE_VERSION", "SETTINGS_FIELDS", "settings_key", "make_detector"]

#: Bump when the cached content or its meaning changes.
#: 2: the dlib detection-scale ladder (exactly-one-face rule) is part of the key;
#: 3: entries hold the whole chosen face (score, 68 points) and the failing stage;
#: 4: detection at a bounded working resolution (a photo over 1,280 px finds other faces), dlib150
#: is dlib150_five for faces without dlib's 68 points, and chips come from OpenCV's warp.
CACHE_VERSION = 4

#: The keys of :meth:`EmbedSettings.cache_settings` (what identifies an embedding space and its faces).
SETTINGS_FIELDS = ("embedder", "detector", "policy", "alignment", "upsample")


def settings_key(settings: dict) -> str:
    """The short fingerprint of a settings dictionary (with :data:`CACHE_VERSION`): the file
    cache's folder name and the store's ``settings_key`` column."""
    blob = json.dumps(dict(settings, version=CACHE_VERSION), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def make_detector(name: str, upsample: Optional[int] = None, *, device: str = "cpu"):
    """The engine's detector for a registered name (dlib: the upsample ladder unless fixed).

    ``device`` goes to the detectors that run in PyTorch (MTCNN; see
    :func:`facelab.core.devices.resolve_device`).
    """
    from facelab.stages.detection import create_detector, hog_detector

    if name == "dlib":
        return hog_detector(upsample)
    if name == "mtcnn":
        return create_detector(name, device=device)
    if name == "dlib_mtcnn":
        return create_detector(name, upsample=upsample, device=device)
    return create_detector(name)


@dataclass(frozen=True)
class EmbedSettings:
    """The settings of an embedding run (frozen: one value travels from the command line to the workers).

    Parameters
    ----------
    model : str or Embedder
        ``"dlib"``, a registered name, an ``.onnx`` path (see
        :func:`facelab.embedders.create_embedder`) or a ready
        :class:`~facelab.embedders.base.Embedder` (then ``weights`` and ``flip`` are its own).
    weights : path-like, optional
        Checkpoint for a registry model.
    detector : str or Detector
        A registered name (``"dlib"``, ``"mtcnn"``, ``"dlib_mtcnn"``) or a ready
        :class:`~facelab.stages.detection.Detector` (then neither a cache nor a process pool nor
        a cluster is used: its settings are not known by name).
    policy : {"largest", "central", "all"}
        Which face to embed when an image has several; ``"all"`` (every-face mode,
        :data:`~facelab.stages.detection.EVERY_FACE`): every face, a result row per face (see
        :mod:`facelab.engine.result`), cached under its own key.
    flip : bool
        Flip test-time augmentation.
    upsample : int, optional
        dlib HOG upsampling. None (default): the image's own scale first, then
        :data:`~facelab.stages.detection.DLIB_UPSAMPLE_LADDER` upward for images without exactly
        one face there (:class:`~facelab.stages.detection.LadderDetector`); an int fixes it. In
        every-face mode None means the ladder's last rung (see :attr:`detection_upsample`).
    device : {"auto", "cpu", "cuda"}
        Where the PyTorch parts run (the networks, MTCNN); on a cluster, each worker's own.

    Raises
    ------
    facelab.core.errors.UnknownNameError
        For a detector name or policy that does not exist (before any work).
    """

    model: Any = "dlib"
    weights: Any = None
    detector: Any = "dlib"
    policy: str = "largest"
    flip: bool = False
    upsample: Optional[int] = None
    device: str = "auto"

    def __post_init__(self):
        from facelab.core.errors import UnknownNameError
        from facelab.stages.detection import DETECTORS, FACE_SELECTIONS

        if self.policy not in FACE_SELECTIONS:
            raise UnknownNameError("policy", self.policy, FACE_SELECTIONS)
        if isinstance(self.detector, str):
            DETECTORS.get(self.detector)  # an unknown name fails now, before any work

    @classmethod
    def of(cls, settings: Optional[EmbedSettings] = None, **changes) -> EmbedSettings:
        """``settings`` (default: the defaults) with some fields changed by keyword.

        Raises
        ------
        TypeError
            For a keyword that is not a setting (the message lists them).
        """
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unknown embedding setting {', '.join(map(repr, unknown))}; "
                            f"the settings are {', '.join(names)}")
        base = settings if settings is not None else cls()
        return replace(base, **changes) if changes else base

    @property
    def by_name(self) -> bool:
        """Whether the detector is given by name (what caches, pools and clusters need)."""
        return isinstance(self.detector, str)

    @property
    def every_face(self) -> bool:
        """Whether every face of a photo is kept (``policy="all"``)."""
        from facelab.stages.detection import EVERY_FACE

        return self.policy == EVERY_FACE

    @property
    def detection_upsample(self) -> Optional[int]:
        """The dlib HOG upsampling detection runs with: ``upsample``, except that in every-face
        mode None means the ladder's last rung (2x, dlib's own setting) on every photo -- one face
        found at a photo's own scale, which ends the ladder, says nothing about smaller faces
        beside it, and every-face mode is there to find them."""
        if self.upsample is None and self.every_face:
            from facelab.stages.detection import DLIB_UPSAMPLE_LADDER

            return DLIB_UPSAMPLE_LADDER[-1]
        return self.upsample

    @property
    def detector_name(self) -> str:
        """The detector's registered name, or a ready detector's ``name``."""
        return self.detector if self.by_name else str(getattr(self.detector, "name", type(self.detector).__name__))

    def build_embedder(self, *, remote: bool = False):
        """The embedder (``model`` itself when it is one), on ``device``.

        ``remote=True``: built here only for its fingerprint, calibration and spec, as the
        network runs on a cluster's workers: on the class's default device (the CPU).
        """
        from facelab.embedders import create_embedder
        from facelab.embedders.base import Embedder

        if isinstance(self.model, Embedder):
            return self.model
        return create_embedder(str(self.model), weights=self.weights, flip=self.flip,
                               device=None if remote else self.device)

    def build_detector(self):
        """The detector (``detector`` itself when it is one; see :func:`make_detector`)."""
        if self.by_name:
            return make_detector(self.detector, self.detection_upsample, device=self.device)
        from facelab.stages.detection import create_detector

        return create_detector(self.detector)

    def cache_settings(self, embedder) -> dict:
        """What decides an image's outcome with ``embedder`` (built from these settings): the
        dictionary caches and stores key on (:func:`settings_key`).

        The embedder's ``fingerprint()`` and ``alignment``, the detector (its name, or a ready
        detector's ``repr``), the policy and, for the dlib detector only, the upsampling (as a
        different detection scale can pick a slightly different box).
        """
        detector = self.detector if self.by_name else repr(self.detector)
        s = {"embedder": embedder.fingerprint(), "detector": detector, "policy": self.policy,
             "alignment": embedder.alignment}
        if detector == "dlib":
            from facelab.stages.detection import DLIB_UPSAMPLE_LADDER

            up = self.detection_upsample
            s["upsample"] = list(DLIB_UPSAMPLE_LADDER) if up is None else int(up)
        return s

    def key(self, embedder) -> str:
        """:func:`settings_key` of :meth:`cache_settings`."""
        return settings_key(self.cache_settings(embedder))
