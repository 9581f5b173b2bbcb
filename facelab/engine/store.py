"""An embedding store that scales: a partitioned Parquet dataset, appended atomically.

One row per image and settings (every-face mode: per face, ``face`` 0, 1, ... as in
:mod:`facelab.engine.result`; empty with one face per photo): ``image_id``, ``face``, ``path``,
``identity``, ``sha256`` (the file's
content hash), ``settings_key`` (:func:`facelab.engine.settings.settings_key` of
:meth:`facelab.engine.settings.EmbedSettings.cache_settings`: the file cache's own key -- model,
weights, flip, detector, policy, alignment), and what a :class:`facelab.engine.cache.CacheEntry` holds: ``status``,
``reason``, ``stage`` (the stage that failed), ``n_faces``, the chosen face (``box``, ``score``,
``landmarks``, ``landmarks68``), ``residual`` and ``vector`` (a fixed-size ``list<float32>``,
null without a face). Like the cache, the store keeps only outcomes the file's content decides
(:attr:`facelab.stages.prepare.PreparedImage.cacheable`); failures of our own stages are retried.

The store is a folder of ``part-<seq>-<random>.parquet`` files, one per appended partition. A
partition is written to a hidden temporary file in the folder and renamed into place
(``os.replace``), so a reader (or a run that is killed) sees it whole or not at all; hidden
(``.``) and ``_``-prefixed files are ignored by pandas, pyarrow and Dask, so the folder is read
directly by any of them::

    pandas.read_parquet("store/")                  # or pyarrow.dataset.dataset("store/")
    dask.dataframe.read_parquet("store/")

The store is a cache of the driver (it implements :class:`facelab.engine.cache.EntryCache`:
``embed_images(..., cache=EmbeddingStore(path))``, ``facelab embed --store``): it answers
``(sha256, settings_key)``, and each partition the executor finishes is appended at once, so a run
that was interrupted resumes by computing only the images it does not hold yet. A damaged
partition (a truncated file, a bad page checksum, a foreign schema) is found by
:meth:`EmbeddingStore.check` and moved aside by :meth:`EmbeddingStore.quarantine` (to a
``_damaged-`` name that readers skip) before a lookup reads the store; its images are then simply
recomputed.

JSON ``{image_id: [floats]}`` and ``.npz`` remain the export formats (:meth:`EmbeddingStore.export`;
every-face rows are keyed ``image_id#k``, :func:`facelab.stages.faces.face_id`).

Format 3 added the ``face`` column; partitions of format 2 (without it) are still read, as rows of
one face per photo.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.engine.cache import CacheEntry, CacheError, CacheRecord
from facelab.stages.faces import Face

__all__ = ["EmbeddingStore", "StoreError", "DamagedPartition", "STORE_COLUMNS"]

#: Columns of every partition, in order.
STORE_COLUMNS = [
    "image_id", "face", "path", "identity", "sha256", "settings_key", "status", "reason", "stage",
    "n_faces", "box", "score", "landmarks", "landmarks68", "residual", "vector",
]
#: Columns of a format-2 partition (before the face index): read as rows without ``face``.
_FORMAT2_COLUMNS = [c for c in STORE_COLUMNS if c != "face"]
_META_KEY = b"facelab.engine.store"
#: 2: rows carry the cache entry's stage and whole face (score, 68 points). Partitions of
#: format 1 fail :meth:`EmbeddingStore.check` (other columns): quarantined and recomputed.
#: 3: the ``face`` column (every-face mode); format 2 partitions are read as they are.
_FORMAT = 3


class StoreError(CacheError):
    """An embedding store cannot be used as asked (dimension mismatch, not a store, ...)."""


@dataclass(frozen=True)
class DamagedPartition:
    """A partition file that cannot be read back: ``path`` and why."""

    path: Path
    reason: str


def _schema(dim: int):
    import pyarrow as pa

    return pa.schema(
        [
            ("image_id", pa.string()),
            ("face", pa.int32()),  # every-face mode: the face's number in its photo; null otherwise
            ("path", pa.string()),
            ("identity", pa.string()),
            ("sha256", pa.string()),
            ("settings_key", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("stage", pa.string()),
            ("n_faces", pa.int32()),
            ("box", pa.list_(pa.float64(), 4)),
            ("score", pa.float64()),
            ("landmarks", pa.list_(pa.float64(), 10)),  # 5 (x, y) points, flattened
            ("landmarks68", pa.list_(pa.float64(), 136)),  # dlib's 68 points, flattened (null otherwise)
            ("residual", pa.float64()),
            ("vector", pa.list_(pa.float32(), int(dim))),
        ],
        metadata={_META_KEY: json.dumps({"format": _FORMAT, "dim": int(dim)}).encode()},
    )


def _text(x) -> Optional[str]:
    """A string cell, None for missing (None, NaN, pandas' NA)."""
    return None if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)) else str(x)


def _flat(v, n: int):
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.size != n:
        raise StoreError(f"expected {n} numbers, got {a.size}")
    return a.tolist()


def _row_face(r) -> Optional[Face]:
    if r.box is None or r.landmarks is None:
        return None
    return Face(box=r.box, score=r.score, landmarks=r.landmarks,
                landmarks68=None if r.landmarks68 is None else np.asarray(r.landmarks68, float))


def _row_vector(r) -> Optional[np.ndarray]:
    return None if r.vector is None else np.asarray(r.vector, dtype=np.float32)


class EmbeddingStore:
    """A folder of Parquet partitions holding embeddings and what happened to each image.

    Parameters
    ----------
    path : path-like
        The dataset folder (created on the first append).
    """

    #: A run whose settings cannot be stored is an error (see :class:`facelab.engine.cache.EntryCache`).
    required = True

    def __init__(self, path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} is a file, not an embedding store folder")
        self.quarantined: list[Path] = []  # damaged partitions a lookup moved aside (their old paths)

    def __repr__(self) -> str:
        return f"EmbeddingStore({str(self.path)!r}, {len(self.partitions())} partitions)"

    # -- files ---------------------------------------------------------------------------

    def partitions(self) -> list[Path]:
        """Partition files in append order (hidden and quarantined files excluded)."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.glob("part-*.parquet") if p.is_file())

    def _next_name(self) -> str:
        parts = self.partitions()
        seq = int(parts[-1].name.split("-")[1]) + 1 if parts else 0
        # The random suffix keeps two writers that race for the same number from clobbering each other.
        return f"part-{seq:08d}-{uuid.uuid4().hex[:8]}.parquet"

    def dim(self) -> Optional[int]:
        """Vector length recorded in the partitions (None for an empty store)."""
        import pyarrow.parquet as pq

        for p in self.partitions():
            try:
                meta = pq.read_schema(p).metadata or {}
                return int(json.loads(meta[_META_KEY])["dim"])
            except Exception:
                continue
        return None

    # -- writing -------------------------------------------------------------------------

    def append(self, table: pd.DataFrame, vectors: Iterable, *, settings_key: str, dim: Optional[int] = None) -> Optional[Path]:
        """Append one partition atomically.

        Parameters
        ----------
        table : pandas.DataFrame
            One row per image with (at least) ``image_id``, ``path``, ``status`` and optionally
            ``identity``, ``sha256``, ``reason``, ``stage``, ``n_faces``, ``box``, ``score``,
            ``landmarks``, ``landmarks68``, ``residual`` (:meth:`append_result` adds ``stage``
            and the face's ``score`` and ``landmarks68`` to an
            :attr:`facelab.engine.result.EmbeddingResult.table`).
        vectors : iterable
            One entry per row: the embedding, or None for a row without one.
        settings_key : str
            The settings fingerprint (:func:`settings_key`).
        dim : int, optional
            Vector length, needed only when neither the store nor ``vectors`` tells it.

        Returns
        -------
        pathlib.Path or None
            The new partition (None when ``table`` is empty).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        vecs = list(vectors)
        if len(vecs) != len(table):
            raise StoreError(f"{len(table)} rows but {len(vecs)} vectors")
        if len(table) == 0:
            return None
        dims = {int(np.asarray(v).size) for v in vecs if v is not None}
        have = self.dim()
        for d in (have, dim):
            if d is not None:
                dims.add(int(d))
        if len(dims) > 1:
            raise StoreError(f"{self.path}: vectors of different lengths {sorted(dims)} cannot share a store")
        dim = dims.pop() if dims else 0
        if dim == 0:
            raise StoreError("a store's first partition needs an embedding or dim= (the vector length fixes the schema)")
        t = table.reset_index(drop=True)

        def col(name, default=None):
            return list(t[name]) if name in t else [default] * len(t)

        data = {
            "image_id": [str(x) for x in t["image_id"]],
            "face": [None if x is None or pd.isna(x) else int(x) for x in col("face")],
            "path": [str(x) for x in t["path"]],
            "identity": [None if x is None else str(x) for x in col("identity")],
            "sha256": [_text(x) for x in col("sha256")],
            "settings_key": [str(settings_key)] * len(t),
            "status": [str(x) for x in t["status"]],
            "reason": [_text(x) for x in col("reason")],
            "stage": [_text(x) for x in col("stage")],
            "n_faces": [int(x) for x in col("n_faces", 0)],
            "box": [_flat(x, 4) for x in col("box")],
            "score": [float(x) if x is not None else float("nan") for x in col("score", float("nan"))],
            "landmarks": [_flat(x, 10) for x in col("landmarks")],
            "landmarks68": [_flat(x, 136) for x in col("landmarks68")],
            "residual": [float(x) if x is not None else float("nan") for x in col("residual", float("nan"))],
            "vector": [None if v is None else np.asarray(v, dtype=np.float32).reshape(-1) for v in vecs],
        }
        schema = _schema(dim)
        arrays = [pa.array(data[f.name], type=f.type) for f in schema]
        at = pa.Table.from_arrays(arrays, schema=schema)
        self.path.mkdir(parents=True, exist_ok=True)
        final = self.path / self._next_name()
        tmp = self.path / f".{final.name}.{os.getpid()}.tmp"
        try:
            # Page checksums let a reader tell a damaged page from data.
            pq.write_table(at, tmp, write_page_checksum=True, compression="zstd")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    def append_result(self, result, *, settings_key: Optional[str] = None, dim: Optional[int] = None) -> Optional[Path]:
        """Append the rows of an :class:`~facelab.engine.result.EmbeddingResult` that its content
        decides (``result.cacheable``) as one partition, with their stage and typed face."""
        key = settings_key or result.settings_key
        t = result.table.assign(
            stage=result.stages,
            score=[None if f is None else float(f.score) for f in result.faces],
            landmarks68=[None if f is None else f.landmarks68 for f in result.faces],
        )
        vecs = [result.embeddings[int(r)] if s == "ok" else None for s, r in zip(t.status, t.row)]
        keep = list(result.cacheable)
        return self.append(t[keep], [v for v, k in zip(vecs, keep) if k], settings_key=key, dim=dim)

    def put(self, records: Sequence[CacheRecord], *, settings_key: str, dim: int) -> None:
        """Append finished images (:class:`facelab.engine.cache.CacheRecord`) as one partition
        (:class:`facelab.engine.cache.EntryCache`); an every-face entry as a row per face."""
        rows, vecs = [], []
        for r in records:
            e = r.entry
            # (face number, face, residual, vector) of each row this entry becomes
            if e.faces and e.vector is not None:
                parts = [(k, f, res, v) for k, (f, res, v) in enumerate(zip(e.faces, e.residuals, e.vectors()))]
            else:
                parts = [(None, e.face, e.residual, e.vector)]
            for k, f, res, v in parts:
                rows.append({
                    "image_id": r.image_id, "face": k, "path": r.path, "identity": r.identity, "sha256": r.sha256,
                    "status": e.status, "reason": e.reason, "stage": e.stage, "n_faces": e.n_faces,
                    "box": None if f is None else [float(x) for x in f.box],
                    "score": None if f is None else float(f.score),
                    "landmarks": None if f is None else f.landmarks,
                    "landmarks68": None if f is None else f.landmarks68, "residual": res,
                })
                vecs.append(v)
        self.append(pd.DataFrame(rows), vecs, settings_key=settings_key, dim=dim)

    def describe(self, settings_key: str) -> dict:
        return {"store": str(self.path), "settings_key": settings_key,
                "quarantined": [str(p) for p in self.quarantined]}

    # -- checking ------------------------------------------------------------------------

    def check(self, *, full: bool = True) -> list[DamagedPartition]:
        """Partitions that cannot be read back, with the reason.

        ``full=False`` reads each footer only (finds truncated files and foreign schemas);
        ``full=True`` also reads every page with its checksum verified.
        """
        import pyarrow.parquet as pq

        bad = []
        for p in self.partitions():
            try:
                md = pq.read_metadata(p)
                meta = md.schema.to_arrow_schema().metadata or {}
                if _META_KEY not in meta:
                    raise StoreError("not a facelab store partition (no store metadata)")
                names = md.schema.to_arrow_schema().names
                if names not in (STORE_COLUMNS, _FORMAT2_COLUMNS):
                    raise StoreError(f"columns {names} differ from the store's")
                if full:
                    t = pq.read_table(p, page_checksum_verification=True)
                    if t.num_rows != md.num_rows:
                        raise StoreError(f"{t.num_rows} rows read, footer says {md.num_rows}")
            except Exception as exc:  # any failure to read back is damage, whatever pyarrow calls it
                bad.append(DamagedPartition(p, f"{type(exc).__name__}: {exc}"))
        return bad

    def quarantine(self, damaged: Optional[Iterable[DamagedPartition]] = None) -> list[Path]:
        """Move damaged partitions aside (``_damaged-<name>``, skipped by every reader).

        Their images are missing from the store afterwards, so the next run that uses the store
        as its cache recomputes them. Returns the new paths.
        """
        damaged = self.check() if damaged is None else list(damaged)
        moved = []
        for d in damaged:
            dest = d.path.with_name(f"_damaged-{int(time.time())}-{d.path.name}")
            os.replace(d.path, dest)
            moved.append(dest)
        return moved

    # -- reading -------------------------------------------------------------------------

    def read(self, *, settings_key: Optional[str] = None, columns: Optional[list] = None, latest: bool = True) -> pd.DataFrame:
        """Rows of the store as a DataFrame (``vector`` holds float32 arrays, or None).

        Parameters
        ----------
        settings_key : str, optional
            Only rows computed with these settings.
        columns : list, optional
        latest : bool
            Keep the last appended row of each ``(settings_key, image_id, face)``.
        """
        import pyarrow.dataset as ds

        parts = self.partitions()
        cols = list(columns) if columns else list(STORE_COLUMNS)
        if not parts:
            return pd.DataFrame(columns=cols)
        need = list(dict.fromkeys(cols + (["settings_key", "image_id", "face"] if latest else [])))
        # The store's schema for every partition: a format-2 file's missing ``face`` reads as null.
        dset = ds.dataset([str(p) for p in parts], format="parquet", schema=self._read_schema(parts))
        filt = ds.field("settings_key") == settings_key if settings_key is not None else None
        df = dset.to_table(columns=need, filter=filt).to_pandas()
        if "face" in df:
            df["face"] = df["face"].astype("Int64")
        if latest and len(df):
            df = df.drop_duplicates(["settings_key", "image_id", "face"], keep="last")
        return df[cols].reset_index(drop=True)

    def _read_schema(self, parts):
        import pyarrow.parquet as pq

        return _schema(self.dim() or pq.read_schema(parts[0]).field("vector").type.list_size)

    def settings_keys(self) -> list[str]:
        return sorted(self.read(columns=["settings_key"], latest=False).settings_key.unique())

    def lookup(self, digests: Iterable[Optional[str]], *, settings_key: str) -> dict[str, CacheEntry]:
        """``{sha256: CacheEntry}`` for the digests the store already holds (what the file cache
        would answer: status, reason, stage, face count, typed face, residual, vector).

        Damaged partitions are moved aside first (:meth:`check` of the footers,
        :meth:`quarantine`; listed in :attr:`quarantined`): their images are then not held, and
        a run computes them again.
        """
        damaged = self.check(full=False)
        if damaged:
            self.quarantine(damaged)
            self.quarantined.extend(d.path for d in damaged)
        want = {d for d in digests if d}
        if not want:
            return {}
        df = self.read(settings_key=settings_key, latest=False)
        df = df[df.sha256.isin(want)]
        every = df.face.notna()
        out = {}
        # One face per photo: the last row of each content hash.
        for r in df[~every].drop_duplicates("sha256", keep="last").itertuples(index=False):
            out[r.sha256] = CacheEntry(
                status=r.status, reason=_text(r.reason), stage=_text(r.stage), n_faces=int(r.n_faces),
                face=_row_face(r), residual=float(r.residual), vector=_row_vector(r),
            )
        # Every face: the last row of each (content hash, face), the faces in order.
        multi = df[every].drop_duplicates(["sha256", "face"], keep="last").sort_values(["sha256", "face"])
        for digest, grp in multi.groupby("sha256", sort=False):
            rows = list(grp.itertuples(index=False))
            if [int(r.face) for r in rows] != list(range(len(rows))):
                continue  # faces missing: not a whole entry, so the photo is computed again
            faces = [_row_face(r) for r in rows]
            r0 = rows[0]
            out[digest] = CacheEntry(
                status=r0.status, reason=_text(r0.reason), stage=_text(r0.stage), n_faces=int(r0.n_faces),
                face=faces[0], residual=float(r0.residual), vector=np.stack([_row_vector(r) for r in rows]),
                faces=faces, residuals=[float(r.residual) for r in rows],
            )
        return out

    def embeddings(self, *, settings_key: Optional[str] = None) -> tuple[list[str], np.ndarray, list[str]]:
        """``(face ids, (N, D) float32 vectors, identities)`` of the rows with an embedding (face
        ids: :func:`facelab.stages.faces.face_id`, the image id with one face per photo)."""
        from facelab.stages.faces import face_id

        keys = self.settings_keys() if settings_key is None else [settings_key]
        if len(keys) > 1:
            raise StoreError(f"{self.path} holds embeddings of {len(keys)} settings; pick one with settings_key ({', '.join(keys)})")
        df = self.read(settings_key=keys[0] if keys else None)
        df = df[df.status == "ok"]
        vecs = np.stack([np.asarray(v, np.float32) for v in df.vector]) if len(df) else np.zeros((0, self.dim() or 0), np.float32)
        return [face_id(i, f) for i, f in zip(df.image_id, df.face)], vecs, [str(i) for i in df.identity]

    def export(self, path, *, settings_key: Optional[str] = None) -> Path:
        """Write the embeddings in a seed format (``.json`` ``{image_id: [floats]}`` or ``.npz``)."""
        from facelab.embedders.files import write_embeddings

        ids, vecs, _ = self.embeddings(settings_key=settings_key)
        return write_embeddings(path, ids, vecs)
