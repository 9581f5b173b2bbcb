"""The result of an embedding run: one row per image (or face), the vectors, the typed faces (and chips).

:class:`EmbeddingResult` is what :func:`facelab.engine.pipeline.embed_images` returns, whichever
cache answered and whichever executor computed (this process, a process pool, a Dask cluster):
:func:`build_result` is its only builder, so every engine gives the same result.

The face index
--------------
With one face per photo (``policy`` ``largest`` / ``central``) a row is a photo. In every-face
mode (``policy="all"``) a photo with ``K`` faces has ``K`` rows, told apart by the ``face``
column (0 .. K-1, largest box first), and a photo without a face keeps one row (``face`` empty)
with its reason. The face index is a **column**, not a rewritten id (``image_id#k``), because
``image_id`` then stays the photo's id in every table -- it joins with the dataset's images,
identities and pairs without parsing strings, and an id that itself contains ``#`` stays
unambiguous -- and the photo's rows group with ``groupby("image_id")``. The one string per face
that flat ``{key: vector}`` files need is derived from the two columns by
:func:`facelab.stages.faces.face_id`: ``image_id#k`` in every-face mode, the bare ``image_id``
otherwise, so one-face files are unchanged. :attr:`EmbeddingResult.ids`, :meth:`~EmbeddingResult.rows_of`,
:meth:`~EmbeddingResult.write` and the store's export all use it; the caches keep one entry per
photo holding its faces in the same order, and the store one row per face with the same ``face``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.calibration import Calibration
from facelab.stages.faces import Face

__all__ = ["EmbeddingResult", "TABLE_COLUMNS", "build_result", "image_columns"]

#: Columns of :attr:`EmbeddingResult.table`.
TABLE_COLUMNS = [
    "image_id", "face", "path", "identity", "status", "reason", "n_faces", "box", "landmarks", "residual", "row",
    "sha256",
]


@dataclass
class EmbeddingResult:
    """Embeddings of a set of images, with what happened to each image.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per input image (every-face mode: per face, see the module's docstring), columns
        :data:`TABLE_COLUMNS`: ``face`` the face's number in its photo in every-face mode
        (nullable ``Int64``: empty with one face per photo and for photos without a face),
        ``status`` is ``ok`` / ``no_face`` / ``error``, ``reason`` says why when not ok,
        ``n_faces`` how many faces were found in the photo, ``box`` / ``landmarks`` the face
        (image pixels; kept for CSV export -- use ``faces`` for the typed face), ``residual`` the
        alignment residual, ``row`` the index into ``embeddings`` (-1 when not ok), ``sha256`` the
        file's content hash (the cache key; None when the cache was not used).
    embeddings : numpy.ndarray
        ``(N_ok, D)`` float32, L2-normalised.
    model : str
        Embedder name.
    calibration : Calibration
    faces : list of (Face or None)
        One per ``table`` row: the face the policy chose, or the row's face in every-face mode
        (also for images whose embedding failed), with its box, score, five landmarks and, from
        dlib, the 68 points.
    chips : numpy.ndarray or None
        With ``keep_chips=True``: ``(N_ok, H, W, 3)`` uint8 aligned chips, in embedding order
        (``chips[row]`` is what ``embeddings[row]`` was computed from); else None.
    stages : list of (str or None)
        One per ``table`` row: the stage that failed (``load`` / ``detect`` / ``align`` /
        ``embed``; :attr:`facelab.stages.prepare.PreparedImage.stage`), None when ok.
    cacheable : list of bool
        One per ``table`` row: whether the outcome follows from the file's content alone
        (:attr:`facelab.stages.prepare.PreparedImage.cacheable`); the cache and the store keep only
        those rows. Default (a result built by hand): ``ok`` and ``no_face`` rows, not ``error``.
    settings : dict
        What the run used: the cache settings (embedder fingerprint, detector, policy, alignment,
        upsample), ``version``, ``embedder_description``, and where the entries are kept
        (``cache``: the file cache's folder or None; a store's ``store``, ``settings_key`` and
        ``quarantined``), plus ``engine="dask"`` for a run on a cluster.
    folder_skipped : pandas.DataFrame
        Files a dataset reader skipped before embedding (``image``, ``reason``).
    n_cached, n_computed : int
        Images answered by the cache / computed in this run.
    timings : dict
        Seconds: ``load`` / ``detect`` / ``align`` summed over the computed images (time of every
        worker, so they can add up to more than the wall time with a pool), ``embed`` (the batched
        network calls: in the calling process, or summed over the workers for a single-threaded
        embedder such as dlib's own engine),
        ``pool_start`` (the ``Pool`` call), ``worker_init`` (imports and set-up in the workers,
        summed; 0 without a pool), ``realign`` (re-aligning cached faces for ``keep_chips``),
        ``wall`` (the whole call) and, on a cluster, ``workers`` (partitions each worker ran).
    """

    table: pd.DataFrame
    embeddings: np.ndarray
    model: str
    calibration: Calibration
    settings: dict = field(default_factory=dict)
    folder_skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["image", "reason"]))
    n_cached: int = 0
    n_computed: int = 0
    timings: dict = field(default_factory=dict)
    faces: Optional[list] = None
    chips: Optional[np.ndarray] = None
    stages: Optional[list] = None
    cacheable: Optional[list] = None

    def __post_init__(self):
        if self.faces is None:
            self.faces = [None] * len(self.table)
        if self.stages is None:
            self.stages = [None] * len(self.table)
        if self.cacheable is None:
            self.cacheable = [s != "error" for s in self.table.status]
        for name in ("faces", "stages", "cacheable"):
            if len(getattr(self, name)) != len(self.table):
                raise ValueError(f"{len(getattr(self, name))} {name} for {len(self.table)} table rows")

    @property
    def embedded(self) -> pd.DataFrame:
        """The rows with an embedding, in embedding order."""
        t = self.table[self.table.status == "ok"]
        return t.sort_values("row")

    @property
    def every_face(self) -> bool:
        """Whether the run kept every face of a photo (``policy="all"``)."""
        from facelab.stages.detection import EVERY_FACE

        return self.settings.get("policy") == EVERY_FACE or self._face_column().notna().any()

    def _face_column(self) -> pd.Series:
        if "face" in self.table:
            return self.table["face"]
        return pd.Series(pd.NA, index=self.table.index, dtype="Int64")

    def _keys(self, table: pd.DataFrame) -> list[str]:
        from facelab.stages.faces import face_id

        faces = table["face"] if "face" in table else [None] * len(table)
        return [face_id(i, f) for i, f in zip(table.image_id.astype(str), faces)]

    @property
    def ids(self) -> list[str]:
        """The face ids of the embedding rows (:func:`facelab.stages.faces.face_id`): the image
        ids with one face per photo, ``image_id#k`` in every-face mode."""
        return self._keys(self.embedded)

    @property
    def identities(self) -> list[str]:
        """Identities of the embedding rows."""
        return list(self.embedded.identity)

    @property
    def embedded_faces(self) -> list[Face]:
        """The faces of the embedding rows, in embedding order."""
        # By position: a partition's table keeps its rows' labels in the whole input.
        ok = np.flatnonzero(self.table.status.to_numpy() == "ok")
        order = ok[np.argsort(self.table.row.to_numpy()[ok], kind="stable")]
        return [self.faces[i] for i in order]

    @property
    def skipped(self) -> pd.DataFrame:
        """Every image without an embedding and every file the reader skipped: ``image``, ``reason``."""
        bad = self.table[self.table.status != "ok"]
        rows = pd.DataFrame({"image": bad.path.astype(str), "reason": bad.status + ": " + bad.reason.astype(str)})
        parts = [df for df in (rows, self.folder_skipped) if len(df)]
        if not parts:
            return pd.DataFrame(columns=["image", "reason"])
        return pd.concat(parts, ignore_index=True)

    def rows_of(self, ids=None) -> dict[str, int]:
        """``{face id: row of embeddings}`` of the faces that have an embedding: image ids with
        one face per photo, ``image_id#k`` in every-face mode (see :attr:`ids`).

        Parameters
        ----------
        ids : iterable of str, optional
            Only these (default: every embedded face, in embedding order). An id that has no
            embedding (no face, unreadable) is left out, so a caller can tell it by its absence
            (as :func:`facelab.verification.lfw.lfw_pair_scores` does).

        Raises
        ------
        KeyError
            For an id that is not in the result at all (a typo, another dataset).
        """
        ok = self.embedded
        rows = dict(zip(self._keys(ok), ok.row.astype(int).tolist()))
        if ids is None:
            return rows
        ids = [str(i) for i in ids]
        unknown = set(ids) - set(self._keys(self.table))
        if unknown:
            raise KeyError(f"{len(unknown)} ids are not in the result, e.g. {sorted(unknown)[0]!r}")
        return {i: rows[i] for i in ids if i in rows}

    @property
    def settings_key(self) -> str:
        """The settings fingerprint caches and stores file these embeddings under
        (:func:`facelab.engine.settings.settings_key` of the model, weights, flip, detector,
        policy, alignment and upsampling in :attr:`settings`)."""
        from facelab.engine.settings import SETTINGS_FIELDS, settings_key

        if "settings_key" in self.settings:  # a result the store answered
            return str(self.settings["settings_key"])
        return settings_key({k: v for k, v in self.settings.items() if k in SETTINGS_FIELDS})

    def vector(self, image_id: str) -> np.ndarray:
        """The embedding of one image (every-face mode: one face, ``image_id#k``); KeyError (with its
        status and reason) when it has none."""
        hit = self.table[np.asarray(self._keys(self.table)) == str(image_id)]
        if hit.empty:
            raise KeyError(f"no image {image_id!r}")
        r = hit.iloc[0]
        if r.status != "ok":
            raise KeyError(f"{image_id!r} has no embedding ({r.status}: {r.reason})")
        return self.embeddings[int(r.row)]

    def write(self, path):
        """Write the embeddings (``.json`` reference layout or ``.npz``)."""
        from facelab.embedders.files import write_embeddings

        return write_embeddings(path, self.ids, self.embeddings)

    def summary(self) -> str:
        counts = self.table.status.value_counts()
        if self.every_face:
            photos = self.table.drop_duplicates("image_id")
            with_face = photos[photos.status == "ok"]
            s = (
                f"{len(photos)} images: {int(counts.get('ok', 0))} faces embedded from {len(with_face)} of them, "
                f"{int(counts.get('no_face', 0))} without a face, {int(counts.get('error', 0))} unreadable"
            )
        else:
            s = (
                f"{len(self.table)} images: {int(counts.get('ok', 0))} embedded, "
                f"{int(counts.get('no_face', 0))} without a face, {int(counts.get('error', 0))} unreadable"
            )
        if len(self.folder_skipped):
            s += f"; {len(self.folder_skipped)} non-image files skipped"
        where = " on a Dask cluster" if self.settings.get("engine") == "dask" else ""
        return s + f" (model {self.model}; {self.n_cached} from cache, {self.n_computed} computed{where})"


def image_columns(images_df: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """``(image_ids, paths, identities)`` of an input table, checked (columns present, ids unique)."""
    missing = {"image_id", "path"} - set(images_df.columns)
    if missing:
        raise ValueError(f"images_df needs columns image_id and path (missing: {', '.join(sorted(missing))})")
    df = images_df.reset_index(drop=True)
    ids = [str(i) for i in df.image_id]
    paths = [str(p) for p in df.path]
    identities = [str(i) for i in df.identity] if "identity" in df else [""] * len(df)
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"repeated image_id values: {', '.join(dup)}")
    return ids, paths, identities


def build_result(ids, paths, identities, prepared, vecs, digests, embedder, *, keep_chips: bool, settings: dict,
                 n_cached: int, n_computed: int, timings: dict) -> EmbeddingResult:
    """The :class:`EmbeddingResult` of images whose stages are done (locally or on a cluster).

    One entry per input image in each list: ``prepared`` (:class:`~facelab.stages.prepare.PreparedImage`),
    ``vecs`` (the vector, or None; every-face mode: ``(K, D)``), ``digests`` (content hash or
    None). Rows, typed faces and chips are built here only, so every engine gives the same result;
    an every-face image with ``K`` faces becomes ``K`` rows (``face`` 0 .. K-1).
    """
    out_rows, out_vecs, faces, chips, stages, cacheable = [], [], [], [], [], []

    def add(i, prep, face, k, residual, vec, chip):
        r = {
            "image_id": ids[i], "face": k, "path": paths[i], "identity": identities[i], "status": prep.status.value,
            "reason": prep.reason, "n_faces": prep.n_faces,
            "box": None if face is None else [float(v) for v in face.box],
            "landmarks": None if face is None else face.landmarks.tolist(),
            "residual": residual, "row": -1, "sha256": digests[i],
        }
        if prep.ok:
            r["row"] = len(out_vecs)
            out_vecs.append(vec)
            if keep_chips:
                chips.append(chip)
        out_rows.append(r)
        faces.append(face)
        stages.append(prep.stage)
        cacheable.append(prep.cacheable)

    for i, prep in enumerate(prepared):
        if prep.every_face and prep.ok:
            vs = np.asarray(vecs[i]).reshape(len(prep.faces), -1)
            for k, face in enumerate(prep.faces):
                chip = prep.alignments[k].image if keep_chips else None
                add(i, prep, face, k, prep.residuals[k], vs[k], chip)
        else:
            add(i, prep, prep.face, pd.NA, prep.residual, vecs[i], prep.chip if keep_chips else None)
    table = pd.DataFrame(out_rows, columns=TABLE_COLUMNS)
    table["face"] = table["face"].astype("Int64")
    table["n_faces"] = table["n_faces"].astype(int)
    table["row"] = table["row"].astype(int)
    emb = np.stack(out_vecs).astype(np.float32) if out_vecs else np.zeros((0, embedder.embedding_size), np.float32)
    chip_arr = None
    if keep_chips:
        s = embedder.chip_size
        chip_arr = np.stack(chips) if chips else np.zeros((0, s, s, 3), np.uint8)
    return EmbeddingResult(
        table=table,
        embeddings=emb,
        model=embedder.name,
        calibration=embedder.calibration,
        settings=settings,
        n_cached=n_cached,
        n_computed=n_computed,
        timings=timings,
        faces=faces,
        chips=chip_arr,
        stages=stages,
        cacheable=cacheable,
    )
