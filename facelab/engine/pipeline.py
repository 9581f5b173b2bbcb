"""Images -> faces -> aligned chips -> embeddings, with a content-addressed cache.

:func:`embed_images` runs every stage for a table of images (``image_id``, ``path``,
``identity``): :func:`facelab.stages.prepare.prepare_image` (load, detect with a
:mod:`facelab.stages.detection` detector, align with the embedder's :mod:`facelab.stages.alignment` preset)
and the embedder itself. Every input image gets a row in the result's ``table`` -- ``ok``,
``no_face`` or ``error`` with its reason -- and an entry in ``faces`` (the chosen
:class:`~facelab.stages.faces.Face` or None), so nothing is silently dropped and nothing downstream has
to detect again; ``keep_chips=True`` also keeps the aligned chips.

The cache (:class:`facelab.engine.cache.EmbeddingCache`) keeps one small entry per image content and
settings; the worker pool (:mod:`facelab.engine.pool`) loads, detects and aligns in processes.

Speed (see ``benchmarks/throughput.py``): each image is decoded once; the dlib HOG detector first
looks at the image's own scale and upsamples it only when that does not find exactly one face
(``upsample=None``, the default; LFW-sized faces never need the 2x pass, which costs four times
as much); only the chosen face is aligned and embedded. With a pool, the workers load, detect and
align (dlib workers never import torch) while this process embeds their chips in batches on
every core -- dlib's ResNet runs in PyTorch (:mod:`facelab.models.dlib_resnet`), several times
faster than dlib's own engine (which, single-threaded, runs inside each worker instead).
:attr:`EmbeddingResult.timings` says where the time went.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.calibration import Calibration
from facelab.core.devices import torch_threads
from facelab.engine.cache import CACHE_VERSION, CacheEntry, EmbeddingCache, cache_dir, content_hash, embedding_settings
from facelab.engine.pool import MIN_POOL_IMAGES, POOL_TASK_SIZE, _worker_chunk, make_detector, open_pool
from facelab.stages.detection import DLIB_UPSAMPLE_LADDER
from facelab.stages.faces import Face
from facelab.stages.prepare import STAGES, PreparedImage, embed_prepared, fill_residual, prepare_image

__all__ = ["EmbeddingResult", "embed_images", "embed_folder", "TABLE_COLUMNS"]

# Re-exported for callers of their old home.
__all__ += ["cache_dir", "CACHE_VERSION", "DLIB_UPSAMPLE_LADDER", "MIN_POOL_IMAGES", "POOL_TASK_SIZE", "STAGES"]

#: Columns of :attr:`EmbeddingResult.table`.
TABLE_COLUMNS = [
    "image_id", "path", "identity", "status", "reason", "n_faces", "box", "landmarks", "residual", "row", "sha256",
]


@dataclass
class EmbeddingResult:
    """Embeddings of a set of images, with what happened to each image.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per input image, columns :data:`TABLE_COLUMNS`: ``status`` is ``ok`` /
        ``no_face`` / ``error``, ``reason`` says why when not ok, ``n_faces`` how many faces were
        found, ``box`` / ``landmarks`` the chosen face (image pixels; kept for CSV export -- use
        ``faces`` for the typed face), ``residual`` the alignment residual, ``row`` the index into
        ``embeddings`` (-1 when not ok), ``sha256`` the file's content hash (the cache key; None
        when the cache was not used).
    embeddings : numpy.ndarray
        ``(N_ok, D)`` float32, L2-normalised.
    model : str
        Embedder name.
    calibration : Calibration
    faces : list of (Face or None)
        One per ``table`` row: the face the policy chose (also for images whose embedding failed),
        with its box, score, five landmarks and, from dlib, the 68 points.
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
        Detector, policy, alignment, embedder description and fingerprint.
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
        summed; 0 without a pool), ``realign`` (re-aligning cached faces for ``keep_chips``) and
        ``wall`` (the whole call).
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
    def ids(self) -> list[str]:
        """Image ids of the embedding rows."""
        return list(self.embedded.image_id)

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

    def vector(self, image_id: str) -> np.ndarray:
        """The embedding of one image; KeyError (with its status and reason) when it has none."""
        hit = self.table[self.table.image_id == image_id]
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
        s = (
            f"{len(self.table)} images: {int(counts.get('ok', 0))} embedded, "
            f"{int(counts.get('no_face', 0))} without a face, {int(counts.get('error', 0))} unreadable"
        )
        if len(self.folder_skipped):
            s += f"; {len(self.folder_skipped)} non-image files skipped"
        where = " on a Dask cluster" if self.settings.get("engine") == "dask" else ""
        return s + f" (model {self.model}; {self.n_cached} from cache, {self.n_computed} computed{where})"


def _realign(prep: PreparedImage, preset, times: dict) -> None:
    """The chip of a cached ok image: its cached face aligned again (no detection)."""
    from facelab.data.imageio import ImageLoadError, load_image
    from facelab.stages.prepare import stage_timer

    try:
        with stage_timer(times, "realign"):
            aligned = preset(load_image(prep.path), prep.face)
        prep.aligned = aligned
    except (ImageLoadError, OSError, ValueError) as exc:
        prep.failed("align", f"alignment failed ({type(exc).__name__}: {exc})")


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
    ``vecs`` (the vector, or None), ``digests`` (content hash or None). Rows, typed faces and
    chips are built here only, so every engine gives the same result.
    """
    out_rows, out_vecs, faces, chips = [], [], [], []
    for i, prep in enumerate(prepared):
        face = prep.face
        r = {
            "image_id": ids[i], "path": paths[i], "identity": identities[i], "status": prep.status.value,
            "reason": prep.reason, "n_faces": prep.n_faces,
            "box": None if face is None else [float(v) for v in face.box],
            "landmarks": None if face is None else face.landmarks.tolist(),
            "residual": prep.residual, "row": -1, "sha256": digests[i],
        }
        if prep.ok:
            r["row"] = len(out_vecs)
            out_vecs.append(vecs[i])
            if keep_chips:
                chips.append(prep.chip)
        out_rows.append(r)
        faces.append(face)
    table = pd.DataFrame(out_rows, columns=TABLE_COLUMNS)
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
        stages=[prep.stage for prep in prepared],
        cacheable=[prep.cacheable for prep in prepared],
    )


def embed_images(
    images_df: pd.DataFrame,
    *,
    model="dlib",
    weights=None,
    detector="dlib",
    policy: str = "largest",
    flip: bool = False,
    cache: bool = True,
    progress: bool = True,
    workers: Optional[int] = None,
    chunk_size: int = 16,
    upsample: Optional[int] = None,
    keep_chips: bool = False,
    device: str = "auto",
    scheduler=None,
) -> EmbeddingResult:
    """Detect, align and embed every image of a table.

    Parameters
    ----------
    images_df : pandas.DataFrame
        Columns ``image_id``, ``path`` and (optionally) ``identity``.
    model : str or Embedder
        ``"dlib"``, a registered name, an ``.onnx`` path (see :func:`facelab.embedders.create_embedder`),
        or a ready :class:`~facelab.embedders.base.Embedder`.
    weights : path-like, optional
        Checkpoint for a registry model.
    detector : str or Detector
        A registered name (``"dlib"``, ``"mtcnn"``) or a ready :class:`~facelab.stages.detection.Detector`
        (then neither the cache nor the pool is used: its settings are not known by name).
    policy : {"largest", "central"}
        Which face to embed when an image has several.
    flip : bool
        Flip test-time augmentation.
    cache : bool
        Read and write the embedding cache (never used for random-weight models).
    progress : bool
        tqdm progress bar.
    workers : int, optional
        Processes for loading, detection and alignment (default: every core). A pool is only used
        for at least ``MIN_POOL_IMAGES`` images to compute and a detector given by name.
    chunk_size : int
        Faces per embedding batch; pool tasks take at most :data:`POOL_TASK_SIZE` images.
    upsample : int, optional
        dlib HOG upsampling. None (default): the image's own scale first, then
        :data:`DLIB_UPSAMPLE_LADDER` upward for images without exactly one face there (see
        :class:`~facelab.stages.detection.LadderDetector`); an int fixes it (``1`` is dlib's and
        face_recognition's default).
    keep_chips : bool
        Keep the aligned chips in :attr:`EmbeddingResult.chips`. Cached images are re-aligned
        from their cached face (the chip is not stored in the cache; see :mod:`facelab.engine.cache`).

    Returns
    -------
    EmbeddingResult
    """
    from tqdm.auto import tqdm

    from facelab.embedders import create_embedder
    from facelab.embedders.base import Embedder
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import DETECTORS, create_detector

    t_start = time.perf_counter()
    if scheduler is not None:
        # The cluster's workers run every stage: this machine's cache and pool do not apply.
        from facelab.engine.dask import embed_images_distributed

        return embed_images_distributed(images_df, client_or_address=scheduler, model=model, weights=weights,
                                        detector=detector, policy=policy, flip=flip, upsample=upsample,
                                        chunk_size=chunk_size, keep_chips=keep_chips, progress=progress,
                                        device=device)
    ids, paths, identities = image_columns(images_df)

    embedder = model if isinstance(model, Embedder) else create_embedder(str(model), weights=weights, flip=flip,
                                                                                 device=device)
    by_name = isinstance(detector, str)
    if by_name:
        DETECTORS.get(detector)  # an unknown name fails now, before any work
    det_obj = None if by_name else create_detector(detector)  # a ready Detector: used as it is
    det_name = detector if by_name else det_obj.name
    fingerprint = embedder.fingerprint()
    settings = embedding_settings(embedder, detector=det_name if by_name else repr(det_obj), policy=policy,
                                  upsample=upsample)
    use_cache = bool(cache) and fingerprint is not None and by_name
    store = EmbeddingCache(settings)
    preset = get_preset(embedder.alignment)

    prepared: list = [None] * len(ids)
    vecs: list = [None] * len(ids)
    digests: list = [None] * len(ids)
    n_cached = 0
    times = {k: 0.0 for k in STAGES}
    times["pool_start"] = times["worker_init"] = times["realign"] = 0.0
    todo = []
    for i, p in enumerate(paths):
        if use_cache:
            digests[i] = content_hash(p)
            hit = store.get(digests[i]) if digests[i] else None
            if hit is not None:
                prepared[i], vecs[i] = fill_residual(hit.prepared(p), preset), hit.vector
                n_cached += 1
                if keep_chips and prepared[i].ok:
                    _realign(prepared[i], preset, times)
                continue
        todo.append(i)

    if todo:
        n_workers = int(workers or os.cpu_count() or 1)
        use_pool = n_workers > 1 and len(todo) >= MIN_POOL_IMAGES and by_name
        # Multithreaded networks run batched here; single-threaded ones (dlib's engine) in every worker.
        worker_spec = None if embedder.multithreaded else embedder.spec()
        step = max(1, min(chunk_size, POOL_TASK_SIZE) if use_pool else chunk_size)
        chunks = [todo[k : k + step] for k in range(0, len(todo), step)]
        bar = tqdm(total=len(todo), desc=f"embed ({embedder.name})", unit="img", disable=not progress)
        pending: list = []  # (index, PreparedImage) waiting for the next embedding batch

        def keep(i, prep, vec):
            prepared[i], vecs[i] = prep, vec
            if not keep_chips and prep.aligned is not None:
                prep.aligned.image = None  # chips are large: drop them once embedded

        def flush():
            got = embed_prepared([prep for _, prep in pending], embedder, times)
            for (i, prep), v in zip(pending, got):
                keep(i, prep, v)
            bar.update(len(pending))
            pending.clear()

        try:
            if use_pool:
                # Workers load, detect and align; this process embeds their chips in batches with
                # every core (the embedder is not rebuilt in a worker, so any embedder can use the
                # pool) -- unless the embedder is single-threaded and can be rebuilt there.
                n_pool = min(n_workers, len(chunks))
                # The workers take the cores; a CPU network here gets what is left (at least one
                # thread), as more threads than cores make PyTorch's threads spin against them.
                on_cpu = worker_spec is None and str(getattr(embedder, "device", "cpu")) == "cpu"
                parent_threads = max(1, (os.cpu_count() or 1) - n_pool) if on_cpu else None
                with open_pool(n_pool, detector=det_name, preset=embedder.alignment, upsample=upsample,
                               spec=worker_spec, device=device, times=times) as pool, torch_threads(parent_threads):
                    tasks = [([paths[i] for i in c], policy, keep_chips) for c in chunks]
                    for c, (preps, done, tm) in zip(chunks, pool.imap(_worker_chunk, tasks)):
                        for k, sec in tm.items():
                            times[k] = times.get(k, 0.0) + sec
                        if done is not None:
                            for i, prep, v in zip(c, preps, done):
                                keep(i, prep, v)
                            bar.update(len(c))
                            continue
                        pending.extend(zip(c, preps))
                        if len(pending) >= chunk_size:
                            flush()
                    flush()
            else:
                det = make_detector(det_name, upsample, device=device) if by_name else det_obj
                for c in chunks:
                    pending.extend((i, prepare_image(paths[i], det, preset, policy=policy, times=times)) for i in c)
                    flush()
        finally:
            bar.close()
        if use_cache:
            for i in todo:
                # Cache what the file's content decides (a face, no face, undecodable bytes); not
                # failures of our own stages, which a fix or a retry may change.
                prep = prepared[i]
                if digests[i] and prep.cacheable:
                    store.put(digests[i], CacheEntry.from_prepared(prep, vecs[i]))

    settings = dict(store.settings, embedder_description=embedder.describe(),
                    cache=str(store.folder) if use_cache else None)
    return build_result(ids, paths, identities, prepared, vecs, digests, embedder, keep_chips=keep_chips,
                        settings=settings, n_cached=n_cached, n_computed=len(todo),
                        timings=dict(times, wall=time.perf_counter() - t_start))


def embed_folder(root, **kwargs) -> EmbeddingResult:
    """:func:`embed_images` over a folder-per-identity dataset (:func:`facelab.data.datasets.read_identity_folders`).

    Files the reader skipped (not images) are carried into the result's ``skipped``.
    """
    from facelab.data.datasets import read_identity_folders

    ds = read_identity_folders(root)
    result = embed_images(ds.images, **kwargs)
    result.folder_skipped = ds.skipped.reset_index(drop=True)
    return result
