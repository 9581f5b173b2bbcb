"""Images -> faces -> aligned chips -> embeddings, with a content-addressed cache.

:func:`embed_images` runs every stage for a table of images (``image_id``, ``path``,
``identity``): :func:`facelab.imageio.load_image`, a :mod:`facelab.detection` detector, the
embedder's :mod:`facelab.alignment` preset and the embedder itself. Every input image gets a row
in the result's ``table`` -- ``ok``, ``no_face`` or ``error`` with its reason -- so nothing is
silently dropped.

The cache lives under ``$FACELAB_CACHE`` (default ``~/.cache/facelab``) in ``embeddings/<key>/``,
where ``<key>`` hashes the embedder's fingerprint (model, weights' SHA-256, flip) and the
detector / policy / alignment settings; inside, one small ``.npz`` per image content hash (SHA-256
of the file's bytes). Renaming or moving images keeps their cache entries; editing one does not.

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

import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.calibration import Calibration
from facelab.hashing import file_sha256

__all__ = ["EmbeddingResult", "embed_images", "embed_folder", "cache_dir", "TABLE_COLUMNS", "LadderDetector", "DLIB_UPSAMPLE_LADDER"]

#: Bump when the cached content or its meaning changes.
CACHE_VERSION = 2  # 2: the dlib detection-scale ladder (exactly-one-face rule) is part of the key
#: Columns of :attr:`EmbeddingResult.table`.
TABLE_COLUMNS = [
    "image_id", "path", "identity", "status", "reason", "n_faces", "box", "landmarks", "residual", "row", "sha256",
]
#: Below this many images to compute, a process pool costs more than it saves.
MIN_POOL_IMAGES = 48
#: Most images per pool task: small tasks keep the workers busy to the end (while the last task
#: runs the other workers idle). Embedding batches are formed in the parent (``chunk_size``).
POOL_TASK_SIZE = 4
#: dlib HOG upsampling tried in turn when ``upsample=None``: the next unless exactly one face was found.
DLIB_UPSAMPLE_LADDER = (0, 1)
#: Stages of :attr:`EmbeddingResult.timings` summed over images (seconds of worker time).
STAGES = ("load", "detect", "align", "embed")
_NOT_CACHED_REASONS = ("detector failed", "alignment failed", "embedding failed", "cannot read")


def cache_dir() -> Path:
    """``$FACELAB_CACHE`` or ``~/.cache/facelab``."""
    env = os.environ.get("FACELAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facelab"


@dataclass
class EmbeddingResult:
    """Embeddings of a set of images, with what happened to each image.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per input image, columns :data:`TABLE_COLUMNS`: ``status`` is ``ok`` /
        ``no_face`` / ``error``, ``reason`` says why when not ok, ``n_faces`` how many faces were
        found, ``box`` / ``landmarks`` the chosen face (image pixels), ``residual`` the alignment
        residual, ``row`` the index into ``embeddings`` (-1 when not ok), ``sha256`` the file's
        content hash (the cache key; None when the cache was not used).
    embeddings : numpy.ndarray
        ``(N_ok, D)`` float32, L2-normalised.
    model : str
        Embedder name.
    calibration : Calibration
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
        summed; 0 without a pool) and ``wall`` (the whole call).
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

    @property
    def ok(self) -> pd.DataFrame:
        """The rows with an embedding, in embedding order."""
        t = self.table[self.table.status == "ok"]
        return t.sort_values("row")

    @property
    def ids(self) -> list[str]:
        """Image ids of the embedding rows."""
        return list(self.ok.image_id)

    @property
    def identities(self) -> list[str]:
        """Identities of the embedding rows."""
        return list(self.ok.identity)

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

    def write(self, path) -> Path:
        """Write the embeddings (``.json`` reference layout or ``.npz``)."""
        from facelab.embedding import write_embeddings

        return write_embeddings(path, self.ids, self.embeddings)

    def summary(self) -> str:
        counts = self.table.status.value_counts()
        s = (
            f"{len(self.table)} images: {int(counts.get('ok', 0))} embedded, "
            f"{int(counts.get('no_face', 0))} without a face, {int(counts.get('error', 0))} unreadable"
        )
        if len(self.folder_skipped):
            s += f"; {len(self.folder_skipped)} non-image files skipped"
        return s + f" (model {self.model}; {self.n_cached} from cache, {self.n_computed} computed)"


# ------------------------------------------------------------------------------------------
# One image, start to finish (without the embedding network)
# ------------------------------------------------------------------------------------------


@contextmanager
def _stage(times: dict, name: str):
    """Add the seconds the block takes (also when it raises) to ``times[name]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        times[name] = times.get(name, 0.0) + (time.perf_counter() - t0)


def _prepare(path: str, detector, preset, policy: str, times: Optional[dict] = None) -> tuple[dict, Optional[np.ndarray]]:
    """Load, detect, align one image: ``(row fields, chip or None)``; adds stage seconds to ``times``."""
    from facelab.imageio import ImageLoadError, load_image

    times = {} if times is None else times
    row = {"status": "error", "reason": None, "n_faces": 0, "box": None, "landmarks": None, "residual": float("nan")}
    try:
        with _stage(times, "load"):
            image = load_image(path)
    except ImageLoadError as exc:
        row["reason"] = exc.reason
        return row, None
    except OSError as exc:
        row["reason"] = f"cannot read ({exc.strerror or exc})"
        return row, None
    try:
        with _stage(times, "detect"):
            det = detector.detect(image, path=path, policy=policy)
    except Exception as exc:
        row["reason"] = f"detector failed ({type(exc).__name__}: {exc})"
        return row, None
    row["n_faces"] = len(det.faces)
    if not det.ok or det.face is None:
        row["status"] = det.status.value if not det.ok else "no_face"
        row["reason"] = det.reason or "no face found"
        return row, None
    face = det.face
    row["box"] = [float(v) for v in face.box]
    row["landmarks"] = face.landmarks.tolist()
    try:
        with _stage(times, "align"):
            aligned = preset(image, face)
    except Exception as exc:
        row["reason"] = f"alignment failed ({type(exc).__name__}: {exc})"
        return row, None
    row["status"] = "ok"
    row["residual"] = float(aligned.residual)
    return row, aligned.image


class LadderDetector:
    """dlib HOG at the image's own scale first, upsampled only when that is not conclusive.

    HOG with ``upsample=1`` scans a 2x image (about four times the work) to find faces under
    ~80 pixels. A rung of :data:`DLIB_UPSAMPLE_LADDER` is accepted when it finds exactly one
    face; with none, or with several (box sizes differ between scales, so the multi-face policy
    could pick another person than the ``upsample=1`` pass would), the next rung decides, and the
    last rung (``upsample=1``, dlib's and face_recognition's setting) always does. So a face is
    found in every image that pass finds one in, multi-face images get that pass's choice, and
    single-face images (most photos) cost a quarter.
    """

    name = "dlib"

    def __init__(self, ladder=DLIB_UPSAMPLE_LADDER):
        from facelab.detection import create_detector

        self.ladder = tuple(int(u) for u in ladder)
        self.rungs = [create_detector("dlib", upsample=u) for u in self.ladder]

    def __repr__(self) -> str:
        return f"LadderDetector(dlib hog, upsample {' then '.join(map(str, self.ladder))})"

    def detect(self, image, *, path=None, policy: str = "largest"):
        for det in self.rungs[:-1]:
            res = det.detect(image, path=path, policy=policy)
            if len(res.faces) == 1:
                return res
        return self.rungs[-1].detect(image, path=path, policy=policy)


def _make_detector(name: str, upsample: Optional[int]):
    """The pipeline's detector for a backend name (dlib: the upsample ladder unless fixed)."""
    from facelab.detection import create_detector

    if name == "dlib":
        return LadderDetector() if upsample is None else create_detector("dlib", upsample=int(upsample))
    return create_detector(name)


# Per-process objects for pool workers (built once per worker).
_WORKER_STATE: dict = {}


def _worker_init(detector: str, preset: str, upsample: Optional[int] = None, spec: Optional[dict] = None):
    t0 = time.perf_counter()
    if detector != "dlib" or (spec is not None and spec.get("name") != "dlib"):
        import torch  # MTCNN and torch models need it; dlib workers skip the seconds an import costs

        torch.set_num_threads(1)  # the pool is the parallelism
    from facelab.alignment import get_preset

    _WORKER_STATE["detector"] = _make_detector(detector, upsample)
    _WORKER_STATE["preset"] = get_preset(preset)
    _WORKER_STATE["embedder"] = None
    if spec is not None:  # a single-threaded embedder: each worker runs its own copy
        import warnings

        from facelab.embedding import create_embedder

        spec = dict(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _WORKER_STATE["embedder"] = create_embedder(spec.pop("name"), **spec)
    _WORKER_STATE["init_s"] = time.perf_counter() - t0


def _worker_chunk(args):
    """Load, detect and align (and embed, with a worker embedder) a few images in a worker.

    Returns ``([(row, chip or None)], vectors or None, seconds per stage)``: chips go back to the
    parent for batching unless the worker embedded them itself.
    """
    paths, policy = args
    st = _WORKER_STATE
    times: dict = {"worker_init": st.pop("init_s", 0.0)}  # reported once per worker
    prepared = [_prepare(p, st["detector"], st["preset"], policy, times) for p in paths]
    if st["embedder"] is None:
        return prepared, None, times
    vecs = _embed_prepared(prepared, st["embedder"], times)
    return [(row, None) for row, _ in prepared], vecs, times


def _embed_prepared(prepared, embedder, times: dict) -> list:
    """Vectors for ``[(row, chip or None)]`` with one embedder call; a failure marks those rows."""
    where = [k for k, (_, chip) in enumerate(prepared) if chip is not None]
    vecs: list = [None] * len(prepared)
    if not where:
        return vecs
    try:
        with _stage(times, "embed"):
            emb = embedder.embed(np.stack([prepared[k][1] for k in where]))
        for j, k in enumerate(where):
            vecs[k] = emb[j]
    except Exception as exc:
        for k in where:
            prepared[k][0].update(status="error", reason=f"embedding failed ({type(exc).__name__}: {exc})")
    return vecs


# ------------------------------------------------------------------------------------------
# Cache
# ------------------------------------------------------------------------------------------


def _content_hash(path: str) -> Optional[str]:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _cache_get(folder: Path, digest: str):
    f = folder / digest[:2] / f"{digest}.npz"
    if not f.is_file():
        return None
    try:
        with np.load(f, allow_pickle=False) as z:
            row = json.loads(str(z["row"]))
            vec = np.asarray(z["vector"], dtype=np.float32) if row["status"] == "ok" else None
        return row, vec
    except Exception:  # a damaged entry is recomputed
        return None


def _cache_put(folder: Path, digest: str, row: dict, vec) -> None:
    import tempfile

    d = folder / digest[:2]
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, row=np.array(json.dumps(row)), vector=np.zeros(0, np.float32) if vec is None else vec)
        os.replace(tmp, d / f"{digest}.npz")
    except OSError:
        Path(tmp).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------
# Public entry points
# ------------------------------------------------------------------------------------------


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
) -> EmbeddingResult:
    """Detect, align and embed every image of a table.

    Parameters
    ----------
    images_df : pandas.DataFrame
        Columns ``image_id``, ``path`` and (optionally) ``identity``.
    model : str or Embedder
        ``"dlib"``, a registry name, an ``.onnx`` path (see :func:`facelab.embedding.create_embedder`),
        or a ready :class:`~facelab.embedding.Embedder`.
    weights : path-like, optional
        Checkpoint for a registry model.
    detector : {"dlib", "mtcnn"}
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
        :class:`LadderDetector`); an int fixes it (``1`` is dlib's and face_recognition's default).

    Returns
    -------
    EmbeddingResult
    """
    from tqdm.auto import tqdm

    from facelab.embedding import Embedder, create_embedder

    t_start = time.perf_counter()
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

    embedder = model if isinstance(model, Embedder) else create_embedder(str(model), weights=weights, flip=flip)
    det_name = detector if isinstance(detector, str) else getattr(detector, "name", type(detector).__name__)
    fingerprint = embedder.fingerprint()
    settings = {
        "version": CACHE_VERSION,
        "embedder": fingerprint,
        "detector": det_name if isinstance(detector, str) else repr(detector),
        "policy": policy,
        "alignment": embedder.alignment,
    }
    if det_name == "dlib" and isinstance(detector, str):
        # Part of the cache key: a different detection scale can pick a slightly different box.
        settings["upsample"] = list(DLIB_UPSAMPLE_LADDER) if upsample is None else int(upsample)
    use_cache = bool(cache) and fingerprint is not None and isinstance(detector, str)
    folder = cache_dir() / "embeddings" / hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]

    rows: list = [None] * len(df)
    vecs: list = [None] * len(df)
    digests: list = [None] * len(df)
    n_cached = 0
    times = {k: 0.0 for k in STAGES}
    times["pool_start"] = times["worker_init"] = 0.0
    todo = []
    for i, p in enumerate(paths):
        if use_cache:
            digests[i] = _content_hash(p)
            hit = _cache_get(folder, digests[i]) if digests[i] else None
            if hit is not None:
                rows[i], vecs[i] = hit
                n_cached += 1
                continue
        todo.append(i)

    if todo:
        n_workers = int(workers or os.cpu_count() or 1)
        use_pool = n_workers > 1 and len(todo) >= MIN_POOL_IMAGES and isinstance(detector, str)
        # Multithreaded networks run batched here; single-threaded ones (dlib's engine) in every worker.
        worker_spec = None if embedder.multithreaded else embedder.spec()
        step = max(1, min(chunk_size, POOL_TASK_SIZE) if use_pool else chunk_size)
        chunks = [todo[k : k + step] for k in range(0, len(todo), step)]
        bar = tqdm(total=len(todo), desc=f"embed ({embedder.name})", unit="img", disable=not progress)
        pending: list = []  # (index, row, chip) waiting for the next embedding batch

        def flush():
            got = _embed_prepared([(r, chip) for _, r, chip in pending], embedder, times)
            for (i, r, _), v in zip(pending, got):
                rows[i], vecs[i] = r, v
            bar.update(len(pending))
            pending.clear()

        try:
            if use_pool:
                # Workers load, detect and align; this process embeds their chips in batches with
                # every core (the embedder is not rebuilt in a worker, so any embedder can use the
                # pool) -- unless the embedder is single-threaded and can be rebuilt there.
                import multiprocessing as mp

                ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
                t0 = time.perf_counter()
                with ctx.Pool(min(n_workers, len(chunks)), initializer=_worker_init,
                              initargs=(det_name, embedder.alignment, upsample, worker_spec)) as pool:
                    times["pool_start"] = time.perf_counter() - t0  # the workers start as the tasks go out
                    tasks = [([paths[i] for i in c], policy) for c in chunks]
                    for c, (prepared, done, tm) in zip(chunks, pool.imap(_worker_chunk, tasks)):
                        for k, sec in tm.items():
                            times[k] = times.get(k, 0.0) + sec
                        if done is not None:
                            for i, (r, _), v in zip(c, prepared, done):
                                rows[i], vecs[i] = r, v
                            bar.update(len(c))
                            continue
                        pending.extend((i, r, chip) for i, (r, chip) in zip(c, prepared))
                        if len(pending) >= chunk_size:
                            flush()
                    flush()
            else:
                from facelab.alignment import get_preset
                from facelab.detection import create_detector

                det = _make_detector(detector, upsample) if isinstance(detector, str) else create_detector(detector)
                preset = get_preset(embedder.alignment)
                for c in chunks:
                    pending.extend((i, *_prepare(paths[i], det, preset, policy, times)) for i in c)
                    flush()
        finally:
            bar.close()
        if use_cache:
            for i in todo:
                # Cache what the file's content decides (a face, no face, undecodable bytes); not
                # failures of our own stages, which a fix or a retry may change.
                if digests[i] and not str(rows[i]["reason"]).startswith(_NOT_CACHED_REASONS):
                    _cache_put(folder, digests[i], rows[i], vecs[i])

    out_rows, out_vecs = [], []
    for i in range(len(df)):
        r = dict(rows[i])
        r.update(image_id=ids[i], path=paths[i], identity=identities[i], sha256=digests[i])
        if r["status"] == "ok":
            r["row"] = len(out_vecs)
            out_vecs.append(vecs[i])
        else:
            r["row"] = -1
        out_rows.append(r)
    table = pd.DataFrame(out_rows, columns=TABLE_COLUMNS)
    table["n_faces"] = table["n_faces"].astype(int)
    table["row"] = table["row"].astype(int)
    emb = np.stack(out_vecs).astype(np.float32) if out_vecs else np.zeros((0, embedder.embedding_size), np.float32)
    settings = dict(settings, embedder_description=embedder.describe(), cache=str(folder) if use_cache else None)
    return EmbeddingResult(
        table=table,
        embeddings=emb,
        model=embedder.name,
        calibration=embedder.calibration,
        settings=settings,
        n_cached=n_cached,
        n_computed=len(todo),
        timings=dict(times, wall=time.perf_counter() - t_start),
    )


def embed_folder(root, **kwargs) -> EmbeddingResult:
    """:func:`embed_images` over a folder-per-identity dataset (:func:`facelab.datasets.read_identity_folders`).

    Files the reader skipped (not images) are carried into the result's ``skipped``.
    """
    from facelab.datasets import read_identity_folders

    ds = read_identity_folders(root)
    result = embed_images(ds.images, **kwargs)
    result.folder_skipped = ds.skipped.reset_index(drop=True)
    return result
