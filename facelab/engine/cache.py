"""Finished images kept between runs: the cache protocol, its entry, and the file cache.

A cache answers "what do you hold for these file contents under these settings?" and keeps what
a run finished. :class:`EntryCache` is that protocol -- :meth:`~EntryCache.lookup` by content hash
(SHA-256 of the file's bytes) and :meth:`~EntryCache.put` of a finished partition, both under a
settings key (:func:`facelab.engine.settings.settings_key`) -- and the driver
(:func:`facelab.engine.pipeline.embed_images`) knows caches by it alone. Two implement it: the
file cache here (:class:`EmbeddingCache`, this machine's default) and the Parquet store
(:class:`facelab.engine.store.EmbeddingStore`, a dataset that scales and resumes). Both answer
with a :class:`CacheEntry`; only outcomes the file's content decides are kept
(:attr:`facelab.stages.prepare.PreparedImage.cacheable`).

The file cache lives under ``$FACELAB_CACHE`` (default ``~/.cache/facelab``) in
``embeddings/<settings key>/``, one ``.npz`` per image content hash. Renaming or moving images
keeps their entries; editing one does not. An entry holds what the driver needs to rebuild its
result without the image: the status and reason, the face count, the chosen
:class:`~facelab.stages.faces.Face` (box, score, five landmarks, the 68 points when the detector
gives them), the alignment residual and the vector. It does not hold the aligned chip: chips are
~67 kB each (150x150x3) against ~1 kB for the rest, which would make LFW's cache ~60 times larger
(about 0.9 GB instead of ~15 MB) for a value that is cheap to recompute exactly (the driver
re-aligns the cached face on a hit when ``keep_chips=True``: one image decode and one warp, no
detection). Entries are written atomically; a damaged one is treated as absent and recomputed.

Every-face mode (``policy="all"``, its own settings key) keeps one entry per photo too, holding
every face: the entry's ``faces`` and ``residuals`` (face ``k`` is ``faces[k]``, largest first)
and a ``(K, D)`` ``vector``. In the file cache such an entry adds ``faces`` and ``residuals`` to
the ``row`` and stores the 2-D array; a one-face entry is written exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol, runtime_checkable

import numpy as np

from facelab.core.atomic import atomic_write_bytes
from facelab.core.errors import FacelabError
from facelab.core.hashing import file_sha256
from facelab.core.paths import cache_dir
from facelab.stages.faces import Face

__all__ = ["EntryCache", "CacheEntry", "CacheRecord", "CacheError", "EmbeddingCache", "content_hash"]


class CacheError(FacelabError):
    """A cache cannot be used as asked (e.g. a store for a model whose embeddings are not reproducible)."""


def content_hash(path) -> Optional[str]:
    """SHA-256 of a file's bytes, or None when it cannot be read."""
    try:
        return file_sha256(path)
    except OSError:
        return None


@dataclass
class CacheEntry:
    """What a cache knows about one image content.

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
        ``(D,)`` float32 when ok (every-face mode: ``(K, D)``, one row per face).
    faces : list of Face or None
        Every-face mode: every face of the photo, largest first (``face`` is ``faces[0]``); None
        for an entry of one face per photo.
    residuals : list of float or None
        Every-face mode: each face's alignment residual.
    """

    status: str
    reason: Optional[str]
    stage: Optional[str]
    n_faces: int
    face: Optional[Face]
    residual: float
    vector: Optional[np.ndarray]
    faces: Optional[list] = None
    residuals: Optional[list] = None

    @classmethod
    def from_prepared(cls, prep, vector) -> CacheEntry:
        """The entry of a :class:`~facelab.stages.prepare.PreparedImage` and its vector (or None)."""
        return cls(prep.status.value, prep.reason, prep.stage, prep.n_faces, prep.face, prep.residual,
                   None if vector is None else np.asarray(vector, dtype=np.float32),
                   faces=None if prep.faces is None else list(prep.faces),
                   residuals=None if prep.residuals is None else [float(r) for r in prep.residuals])

    def prepared(self, path: str, *, every_face: bool = False):
        """The :class:`~facelab.stages.prepare.PreparedImage` this entry stands for (without the chip).

        ``every_face``: the run keeps every face, so an entry kept without a face list (a photo
        without a face, or a store's one-face rows) gets one.
        """
        from facelab.stages.faces import DetectionStatus
        from facelab.stages.prepare import PreparedImage

        faces, residuals = self.faces, self.residuals
        if every_face and faces is None:
            faces = [] if self.face is None else [self.face]
            residuals = [] if self.face is None else [self.residual]
        return PreparedImage(str(path), DetectionStatus(self.status), reason=self.reason, stage=self.stage,
                             face=self.face, n_faces=self.n_faces, residual=self.residual, content_decided=True,
                             faces=None if faces is None else list(faces),
                             residuals=None if residuals is None else list(residuals))

    def vectors(self) -> Optional[np.ndarray]:
        """The vectors as ``(K, D)`` rows (one row for a one-face entry), or None without a face."""
        return None if self.vector is None else np.asarray(self.vector, np.float32).reshape(-1, self.vector.shape[-1])


@dataclass(frozen=True)
class CacheRecord:
    """One finished image handed to :meth:`EntryCache.put`: where it came from and its entry."""

    image_id: str
    path: str
    identity: str
    sha256: str
    entry: CacheEntry


@runtime_checkable
class EntryCache(Protocol):
    """Finished images by content hash, under a settings key: what the driver needs of a cache.

    Attributes
    ----------
    required : bool
        Whether a run whose settings cannot be cached (a model with random weights, a ready
        detector object) is an error (True: the store, as storing is what was asked) or simply
        runs without the cache (False: the file cache, an optimisation).
    """

    required: bool

    def lookup(self, digests: Iterable[Optional[str]], *, settings_key: str) -> dict[str, CacheEntry]:
        """``{sha256: CacheEntry}`` for the content hashes held (None and unknown ones are left out)."""
        ...

    def put(self, records: Sequence[CacheRecord], *, settings_key: str, dim: int) -> None:
        """Keep one finished partition (``dim``: the vector length, for a partition without a face)."""
        ...

    def describe(self, settings_key: str) -> dict:
        """What a result's ``settings`` record about this cache (where it is)."""
        ...


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


def _float(x) -> float:
    return float("nan") if x is None else float(x)


def _json_float(x) -> Optional[float]:
    return None if x is None or np.isnan(x) else float(x)


class EmbeddingCache:
    """The file cache: one small ``.npz`` per image content, in one folder per settings key.

    Parameters
    ----------
    root : path-like, optional
        Default :func:`facelab.core.paths.cache_dir`; entries go to ``root/embeddings/<settings key>/``.
    """

    required = False

    def __init__(self, root=None):
        self.root = Path(root if root is not None else cache_dir())

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    def folder(self, settings_key: str) -> Path:
        """The folder of one settings key."""
        return self.root / "embeddings" / settings_key

    def path(self, digest: str, *, settings_key: str) -> Path:
        return self.folder(settings_key) / digest[:2] / f"{digest}.npz"

    def describe(self, settings_key: str) -> dict:
        return {"cache": str(self.folder(settings_key))}

    def get(self, digest: str, *, settings_key: str) -> Optional[CacheEntry]:
        """The entry for a content hash, or None (absent, or damaged: then it is recomputed)."""
        f = self.path(digest, settings_key=settings_key)
        if not f.is_file():
            return None
        try:
            with np.load(f, allow_pickle=False) as z:
                row = json.loads(str(z["row"]))
                vec = np.asarray(z["vector"], dtype=np.float32) if row["status"] == "ok" else None
            faces = None if "faces" not in row else [_face_from_json(f) for f in row["faces"]]
            residuals = None if "residuals" not in row else [_float(r) for r in row["residuals"]]
            if faces is not None and vec is not None and vec.shape != (len(faces), vec.shape[-1]):
                return None  # vectors that do not match the faces: damaged
            return CacheEntry(
                status=row["status"],
                reason=row["reason"],
                stage=row.get("stage"),
                n_faces=int(row["n_faces"]),
                face=_face_from_json(row["face"]),
                residual=_float(row["residual"]),
                vector=vec,
                faces=faces,
                residuals=residuals,
            )
        except Exception:  # a damaged or foreign entry is recomputed
            return None

    def lookup(self, digests: Iterable[Optional[str]], *, settings_key: str) -> dict[str, CacheEntry]:
        out = {}
        for d in digests:
            if d and d not in out:
                hit = self.get(d, settings_key=settings_key)
                if hit is not None:
                    out[d] = hit
        return out

    def put_entry(self, digest: str, entry: CacheEntry, *, settings_key: str) -> None:
        """Store one entry atomically (a failure to write is not an error: the cache is optional)."""
        row = {
            "status": entry.status,
            "reason": entry.reason,
            "stage": entry.stage,
            "n_faces": int(entry.n_faces),
            "face": _face_to_json(entry.face),
            "residual": _json_float(entry.residual),
        }
        if entry.faces is not None:  # every-face mode: one entry holds the photo's faces
            row["faces"] = [_face_to_json(f) for f in entry.faces]
            row["residuals"] = [_json_float(r) for r in (entry.residuals or [])]
        vec = np.zeros(0, np.float32) if entry.vector is None else np.asarray(entry.vector, np.float32)
        try:
            atomic_write_bytes(self.path(digest, settings_key=settings_key),
                               lambda fh: np.savez(fh, row=np.array(json.dumps(row)), vector=vec))
        except OSError:
            pass

    def put(self, records: Sequence[CacheRecord], *, settings_key: str, dim: int = 0) -> None:
        for r in records:
            self.put_entry(r.sha256, r.entry, settings_key=settings_key)
