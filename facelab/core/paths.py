"""Where facelab keeps what it computes for itself: the cache folder.

``$FACELAB_CACHE`` (default ``~/.cache/facelab``) holds the embedding cache
(:class:`facelab.engine.cache.EmbeddingCache`, ``embeddings/``) and the networks exported to ONNX
(:mod:`facelab.models.onnx_runtime`, ``onnx/``). Everything in it can be deleted: it is made again.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV_VAR", "cache_dir"]

#: Environment variable naming the cache folder.
CACHE_ENV_VAR = "FACELAB_CACHE"


def cache_dir() -> Path:
    """``$FACELAB_CACHE`` or ``~/.cache/facelab``."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facelab"
