"""The embedding cache: one small file per image content, per set of settings.

The cache lives under ``$FACELAB_CACHE`` (default ``~/.cache/facelab``) in ``embeddings/<key>/``,
where ``<key>`` hashes the settings (embedder fingerprint: model, weights' SHA-256, flip; the
detector, policy and alignment; :data:`CACHE_VERSION`); inside, one ``.npz`` per image content
hash (SHA-256 of the file's bytes). Renaming or moving images keeps their entries; editing one
does not.

An entry holds what :func:`facelab.engine.pipeline.embed_images` needs to rebuild its result without
the image: the status and reason, the face count, the chosen :class:`~facelab.stages.faces.Face` (box,
score, five landmarks, the 68 points when the detector gives them), the alignment residual and
the vector. It does not hold the aligned chip: chips are ~67 kB each (150x150x3) against ~1 kB
for the rest, which would make LFW's cache ~60 times larger (about 0.9 GB instead of ~15 MB)
for a value that is cheap to recompute exactly (the pipeline re-aligns the cached face on a hit
when ``keep_chips=True``: one image decode and one warp, no detection). Entries are written
atomically; a damaged one is treated as absent and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.atomic import atomic_write_bytes
from facelab.core.hashing import file_sha256
from facelab.stages.faces import Face

__all__ = ["CACHE_VERSION", "cache_dir", "content_hash", "embedding_settings", "settings_key", "CacheEntry",
           "EmbeddingCache"]

#: Bump when the cached content or its meaning changes.
#: 2: the dlib detection-scale ladder (exactly-one-face rule) is part of the key;
#: 3: entries hold the whole chosen face (score, 68 points) and the failing stage.
CACHE_VERSION = 3


def cache_dir() -> Path:
    """``$FACELAB_CACHE`` or ``~/.cache/facelab``."""
    env = os.environ.get("FACELAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facelab"


def content_hash(path) -> Optional[str]:
    """SHA-256 of a file's bytes, or None when it cannot be read."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def embedding_settings(embedder, *, detector: str = "dlib", policy: str = "largest", upsample=None) -> dict:
    """The settings that decide an image's outcome: what the cache and the Parquet store key on.

    Parameters
    ----------
    embedder : Embedder
        Its ``fingerprint()`` (model, weights' SHA-256, flip) and ``alignment`` preset.
    detector : str
        The detector's registered name (or, for a ready detector object, its ``repr``).
    policy : str
    upsample : int, optional
        dlib HOG upsampling (None: the ladder); part of the settings for the dlib detector only,
        as a different detection scale can pick a slightly different box.

    The device (CPU / CUDA) is not part of them: it changes vectors only to float rounding.
    """
    s = {"embedder": embedder.fingerprint(), "detector": detector, "policy": policy, "alignment": embedder.alignment}
    if detector == "dlib":
        from facelab.stages.detection import DLIB_UPSAMPLE_LADDER

        s["upsample"] = list(DLIB_UPSAMPLE_LADDER) if upsample is None else int(upsample)
    return s


def settings_key(settings: dict) -> str:
    """The short fingerprint of a settings dictionary (with :data:`CACHE_VERSION`): the cache folder's name."""
    blob = json.dumps(dict(settings, version=CACHE_VERSION), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _face_to_json(face: Optional[Face]) -> Optional[dict]:
    if face is None:
        return None
    return {
        "box": [float(v) for v in face.box],
        "score": float(face.score),
        "landmarks": np.asarray(face.landmarks, dtype=np.float64).tolist(),
        "landmarks68": None if face.landmarks68 is None else np.asarray(face.landmarks68, dtype=np.float64).tolist(),
    }


def _face_from_json(d: Optional[dict]) -> Optional[Face]:
    if d is None:
        return None
    return Face(box=d["box"], score=d["score"], landmarks=np.asarray(d["landmarks"]), landmarks68=d["landmarks68"])


@dataclass
class CacheEntry:
    """What the cache knows about one image content.

    Attributes
    ----------
    status : str
        ``ok``, ``no_face`` or ``error`` (undecodable bytes).
    reason : str or None
    stage : str or None
        The stage that failed (``load`` / ``detect``) or None.
    n_faces : int
    face : Face or None
        The chosen face.
    residual : float
    vector : numpy.ndarray or None
        ``(D,)`` float32 when ok.
    """

    status: str
    reason: Optional[str]
    stage: Optional[str]
    n_faces: int
    face: Optional[Face]
    residual: float
    vector: Optional[np.ndarray]

    @classmethod
    def from_prepared(cls, prep, vector) -> CacheEntry:
        """The entry of a :class:`~facelab.stages.prepare.PreparedImage` and its vector (or None)."""
        return cls(prep.status.value, prep.reason, prep.stage, prep.n_faces, prep.face, prep.residual,
                   None if vector is None else np.asarray(vector, dtype=np.float32))

    def prepared(self, path: str):
        """The :class:`~facelab.stages.prepare.PreparedImage` this entry stands for (without the chip)."""
        from facelab.stages.faces import DetectionStatus
        from facelab.stages.prepare import PreparedImage

        return PreparedImage(str(path), DetectionStatus(self.status), reason=self.reason, stage=self.stage,
                             face=self.face, n_faces=self.n_faces, residual=self.residual, content_decided=True)


class EmbeddingCache:
    """The cache folder of one set of settings.

    Parameters
    ----------
    settings : dict
        JSON-able (:func:`embedding_settings`); hashed with :data:`CACHE_VERSION` into the folder
        name (:func:`settings_key`).
    root : path-like, optional
        Default :func:`cache_dir`.
    """

    def __init__(self, settings: dict, *, root=None):
        self.settings = dict(settings, version=CACHE_VERSION)
        self.key = settings_key(settings)
        self.folder = Path(root if root is not None else cache_dir()) / "embeddings" / self.key

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.folder)!r})"

    def path(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.npz"

    def get(self, digest: str) -> Optional[CacheEntry]:
        """The entry for a content hash, or None (absent, or damaged: then it is recomputed)."""
        f = self.path(digest)
        if not f.is_file():
            return None
        try:
            with np.load(f, allow_pickle=False) as z:
                row = json.loads(str(z["row"]))
                vec = np.asarray(z["vector"], dtype=np.float32) if row["status"] == "ok" else None
            return CacheEntry(
                status=row["status"],
                reason=row["reason"],
                stage=row.get("stage"),
                n_faces=int(row["n_faces"]),
                face=_face_from_json(row["face"]),
                residual=float("nan") if row["residual"] is None else float(row["residual"]),
                vector=vec,
            )
        except Exception:  # a damaged or foreign entry is recomputed
            return None

    def put(self, digest: str, entry: CacheEntry) -> None:
        """Store an entry atomically (a failure to write is not an error: the cache is optional)."""
        row = {
            "status": entry.status,
            "reason": entry.reason,
            "stage": entry.stage,
            "n_faces": int(entry.n_faces),
            "face": _face_to_json(entry.face),
            "residual": None if entry.residual is None or np.isnan(entry.residual) else float(entry.residual),
        }
        vec = np.zeros(0, np.float32) if entry.vector is None else np.asarray(entry.vector, np.float32)
        try:
            atomic_write_bytes(self.path(digest), lambda fh: np.savez(fh, row=np.array(json.dumps(row)), vector=vec))
        except OSError:
            pass
