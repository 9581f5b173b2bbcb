"""Embedding files: the reference JSON ``{image_id: [floats]}`` or a compact ``.npz`` (``ids``, ``embeddings``)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from facelab.core.atomic import atomic_write_bytes
from facelab.core.errors import EmbeddingsFileError

__all__ = ["read_embeddings", "write_embeddings"]


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
