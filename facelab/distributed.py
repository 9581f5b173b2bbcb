"""Past one machine: embedding and all-pairs ROC as Dask tasks on a ``dask.distributed`` cluster.

:func:`embed_images_distributed` sends load -> detect -> align -> embed to a cluster in
partitions of images; each partition is one task that runs the pipeline's own per-image
preparation and embedder on a worker, so the result is the single-machine
:func:`facelab.pipeline.embed_images` result (same statuses, boxes and landmarks; vectors equal to
float32 rounding, as batching differs). Workers need facelab installed and the images reachable at
the same paths (a shared file system).

Faults: a task whose worker dies is rescheduled by the scheduler on another worker, a task that
raises is retried (``retries=``); results are gathered by partition, so every image appears
exactly once, and an image that cannot be read is a row with ``status="error"`` and its reason.

:func:`streaming_roc_distributed` computes :func:`facelab.verification.streaming_roc` on a
cluster: each task bins the scores of a block of rows against the rows after it into
genuine / impostor histograms (memory bounded by the block), and the histograms are summed.

The scheduler address comes from the argument, else ``$FACELAB_SCHEDULER``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

import numpy as np
import pandas as pd

from facelab.errors import FacelabError

__all__ = [
    "SCHEDULER_ENV",
    "scheduler_address",
    "connect",
    "embed_images_distributed",
    "embed_folder_distributed",
    "iter_embed_partitions",
    "embed_partition",
    "prepare_image",
    "streaming_roc_distributed",
    "DistributedError",
]

#: Environment variable naming the scheduler (``tcp://host:8786``).
SCHEDULER_ENV = "FACELAB_SCHEDULER"


class DistributedError(FacelabError):
    """The cluster cannot be reached or cannot run the work."""


def scheduler_address(address: Optional[str] = None) -> Optional[str]:
    """``address``, else ``$FACELAB_SCHEDULER``, else None (run on this machine)."""
    return address or os.environ.get(SCHEDULER_ENV) or None


@contextmanager
def connect(client_or_address=None, *, timeout: float = 30):
    """A :class:`distributed.Client`: the one given, or a new one to an address (closed on exit)."""
    from distributed import Client

    if client_or_address is not None and not isinstance(client_or_address, str):
        yield client_or_address
        return
    address = scheduler_address(client_or_address)
    if not address:
        raise DistributedError(f"no scheduler address: pass one (--scheduler tcp://host:8786) or set ${SCHEDULER_ENV}")
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise DistributedError(f"cannot reach the Dask scheduler at {address} ({exc})") from exc
    try:
        yield client
    finally:
        client.close()


# ------------------------------------------------------------------------------------------
# One partition of images, on a worker
# ------------------------------------------------------------------------------------------


def prepare_image(path: str, detector, preset, policy: str, times: dict):
    """Load, detect and align one image: ``(row fields, chip or None)``.

    The one place that calls the pipeline's per-image preparation, so that the cluster path and
    the local path run the same code (to become ``facelab.prepare.prepare_image`` when the
    pipeline is split).
    """
    from facelab.pipeline import _prepare

    return _prepare(path, detector, preset, policy, times)


# Objects built once per worker process and reused by every task with the same settings.
_WORKER_OBJECTS: dict = {}


def _worker_objects(spec_json: str):
    hit = _WORKER_OBJECTS.get(spec_json)
    if hit is not None:
        return hit
    import warnings

    from facelab.alignment import get_preset
    from facelab.embedding import create_embedder
    from facelab.pipeline import _make_detector

    spec = json.loads(spec_json)
    emb_spec = dict(spec["embedder"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedder = create_embedder(emb_spec.pop("name"), **emb_spec)
    if embedder.multithreaded:
        try:  # one worker thread per core the worker was given: no oversubscription
            import torch
            from distributed import get_worker

            torch.set_num_threads(max(1, int(get_worker().state.nthreads)))
        except (ImportError, ValueError):
            pass
    objs = (_make_detector(spec["detector"], spec["upsample"]), get_preset(embedder.alignment), embedder)
    _WORKER_OBJECTS.clear()  # one settings set at a time: models are large
    _WORKER_OBJECTS[spec_json] = objs
    return objs


def embed_partition(records: list, spec_json: str, *, chunk_size: int = 16) -> dict:
    """Embed one partition of images (runs on a worker; also callable in-process).

    Parameters
    ----------
    records : list of (index, image_id, path)
    spec_json : str
        JSON of ``{"embedder": create_embedder kwargs, "detector", "upsample", "policy"}``.
    chunk_size : int
        Faces per embedder call (as the local pipeline).

    Returns
    -------
    dict
        ``index`` / ``rows`` (row fields with ``image_id``, ``path``, ``sha256``), ``vectors``
        (one per row, None without an embedding), ``times`` (seconds per stage), ``worker``.
    """
    from facelab.hashing import file_sha256
    from facelab.pipeline import _embed_prepared

    t0 = time.perf_counter()
    spec = json.loads(spec_json)
    times: dict = {}
    detector, preset, embedder = _worker_objects(spec_json)
    times["worker_init"] = time.perf_counter() - t0
    prepared, digests = [], []
    for _, _, path in records:
        try:
            digests.append(file_sha256(path))
        except OSError:
            digests.append(None)
        prepared.append(prepare_image(str(path), detector, preset, spec["policy"], times))
    vecs: list = []
    for k in range(0, len(prepared), chunk_size):
        vecs.extend(_embed_prepared(prepared[k : k + chunk_size], embedder, times))
    rows = []
    for (idx, image_id, path), (row, _), h, v in zip(records, prepared, digests, vecs):
        if row["status"] == "ok" and v is None:  # the embedder call failed: _embed_prepared marked it
            row.update(status="error")
        rows.append(dict(row, image_id=str(image_id), path=str(path), sha256=h))
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    return {
        "index": [int(r[0]) for r in records],
        "rows": rows,
        "vectors": [None if v is None else np.asarray(v, np.float32) for v in vecs],
        "times": times,
        "worker": worker,
    }


# ------------------------------------------------------------------------------------------
# The client side
# ------------------------------------------------------------------------------------------


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        return type(get_ipython()).__name__ == "ZMQInteractiveShell"
    except ImportError:
        return False


def _spec_json(embedder, detector: str, upsample, policy: str) -> str:
    spec = embedder.spec()
    if spec is None:
        raise DistributedError(
            f"{embedder.name}: this embedder cannot be rebuilt on a worker (random weights or an object "
            "built in memory); pass a model name and --weights"
        )
    if not isinstance(detector, str):
        raise DistributedError("on a cluster the detector is given by name ('dlib' or 'mtcnn')")
    return json.dumps({"embedder": spec, "detector": detector, "upsample": upsample, "policy": policy}, sort_keys=True)


def _check_images(images_df: pd.DataFrame) -> pd.DataFrame:
    missing = {"image_id", "path"} - set(images_df.columns)
    if missing:
        raise ValueError(f"images_df needs columns image_id and path (missing: {', '.join(sorted(missing))})")
    df = images_df.reset_index(drop=True)
    ids = [str(i) for i in df.image_id]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"repeated image_id values: {', '.join(dup)}")
    return df


def _result(df: pd.DataFrame, payloads: list, embedder, settings: dict, timings: dict):
    """An :class:`EmbeddingResult` of the images of ``df`` from partition payloads (any order)."""
    from facelab.pipeline import TABLE_COLUMNS, EmbeddingResult

    by_index: dict = {}
    for p in payloads:
        for i, row, v in zip(p["index"], p["rows"], p["vectors"]):
            if i in by_index:
                raise DistributedError(f"image {row['image_id']} came back twice")  # cannot happen: one result per partition
            by_index[i] = (row, v)
    identities = [str(x) for x in df.identity] if "identity" in df else [""] * len(df)
    out_rows, out_vecs = [], []
    for i in range(len(df)):
        if i not in by_index:
            raise DistributedError(f"image {df.image_id.iloc[i]} is missing from the cluster's results")
        row, v = by_index[i]
        row = dict(row, identity=identities[i])
        row["row"] = len(out_vecs) if row["status"] == "ok" else -1
        if row["status"] == "ok":
            out_vecs.append(v)
        out_rows.append(row)
    table = pd.DataFrame(out_rows, columns=TABLE_COLUMNS)
    table["n_faces"] = table["n_faces"].astype(int)
    table["row"] = table["row"].astype(int)
    emb = np.stack(out_vecs).astype(np.float32) if out_vecs else np.zeros((0, embedder.embedding_size), np.float32)
    return EmbeddingResult(table=table, embeddings=emb, model=embedder.name, calibration=embedder.calibration,
                           settings=settings, n_cached=0, n_computed=len(df), timings=timings)


def iter_embed_partitions(
    images_df: pd.DataFrame,
    *,
    client_or_address=None,
    model="dlib",
    weights=None,
    detector: str = "dlib",
    policy: str = "largest",
    flip: bool = False,
    upsample: Optional[int] = None,
    partition_size: int = 32,
    chunk_size: int = 16,
    retries: int = 3,
    progress: bool = True,
) -> Iterator:
    """Embed on a cluster, yielding one :class:`~facelab.pipeline.EmbeddingResult` per partition as it finishes.

    Options as :func:`embed_images_distributed`. A consumer can store each partition at once
    (:func:`facelab.store.embed_to_store`), so an interrupted run keeps what was finished.
    """
    from distributed import as_completed

    from facelab.embedding import Embedder, create_embedder

    df = _check_images(images_df)
    embedder = model if isinstance(model, Embedder) else create_embedder(str(model), weights=weights, flip=flip)
    spec_json = _spec_json(embedder, detector, upsample, policy)
    settings = dict(json.loads(spec_json), embedder_fingerprint=embedder.fingerprint(),
                    embedder_description=embedder.describe(), engine="dask")
    step = max(1, int(partition_size))
    records = [(i, str(a), str(p)) for i, (a, p) in enumerate(zip(df.image_id, df.path))]
    parts = [records[k : k + step] for k in range(0, len(records), step)]
    if not parts:
        return
    with connect(client_or_address) as client:
        if progress:
            print(f"dask: {len(df)} images in {len(parts)} partitions on {client.scheduler.address}; "
                  f"dashboard {client.dashboard_link}", file=sys.stderr)
        run = uuid.uuid4().hex[:8]
        futures = [
            client.submit(embed_partition, part, spec_json, chunk_size=chunk_size, retries=retries, pure=False,
                          key=f"facelab-embed-{run}-{k}")
            for k, part in enumerate(parts)
        ]
        bar = None
        if progress:
            if _in_notebook():
                from distributed import progress as dask_progress

                dask_progress(futures, notebook=True, multi=False)
            else:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(df), desc=f"embed on dask ({embedder.name})", unit="img")
        try:
            for fut in as_completed(futures, loop=client.loop):
                payload = fut.result()
                sub = df.iloc[payload["index"]]
                payload = dict(payload, index=list(range(len(sub))))
                res = _result(sub.reset_index(drop=True), [payload], embedder, settings,
                              dict(payload["times"], worker=payload["worker"]))
                res.table.index = sub.index  # positions in the input table
                if bar is not None:
                    bar.update(len(sub))
                fut.release()
                yield res
        finally:
            if bar is not None:
                bar.close()
            for f in futures:
                f.cancel()


def embed_images_distributed(
    images_df: pd.DataFrame,
    *,
    client_or_address=None,
    model="dlib",
    weights=None,
    detector: str = "dlib",
    policy: str = "largest",
    flip: bool = False,
    upsample: Optional[int] = None,
    partition_size: int = 32,
    chunk_size: int = 16,
    retries: int = 3,
    progress: bool = True,
):
    """:func:`facelab.pipeline.embed_images` on a Dask cluster.

    Parameters
    ----------
    images_df : pandas.DataFrame
        ``image_id``, ``path`` (reachable from every worker) and optionally ``identity``.
    client_or_address : distributed.Client or str, optional
        A client, or a scheduler address (``tcp://host:8786``); default ``$FACELAB_SCHEDULER``.
    model, weights, detector, policy, flip, upsample
        As :func:`facelab.pipeline.embed_images` (the embedder must be rebuildable from its name).
    partition_size : int
        Images per task.
    chunk_size : int
        Faces per embedder call inside a task.
    retries : int
        Times a task that raised is retried (a task whose worker died is always rescheduled).
    progress : bool
        A progress bar (Dask's widget in Jupyter, tqdm elsewhere) and the dashboard link.

    Returns
    -------
    facelab.pipeline.EmbeddingResult
        One row per input image, in input order; ``timings`` sums the workers' stage seconds and
        adds ``wall`` and ``workers`` (how many partitions each worker ran).
    """
    t0 = time.perf_counter()
    df = _check_images(images_df)
    from facelab.embedding import Embedder, create_embedder

    embedder = model if isinstance(model, Embedder) else create_embedder(str(model), weights=weights, flip=flip)
    payload_tables, payload_vecs, timings, workers = [], [], {}, {}
    settings = None
    for res in iter_embed_partitions(df, client_or_address=client_or_address, model=embedder, detector=detector,
                                     policy=policy, upsample=upsample, partition_size=partition_size,
                                     chunk_size=chunk_size, retries=retries, progress=progress):
        settings = res.settings
        payload_tables.append(res.table)
        payload_vecs.append([res.embeddings[int(r)] if s == "ok" else None for s, r in zip(res.table.status, res.table.row)])
        w = res.timings.pop("worker", None)
        workers[w] = workers.get(w, 0) + 1
        for k, v in res.timings.items():
            timings[k] = timings.get(k, 0.0) + v
    payloads = [
        {"index": list(t.index), "rows": t.drop(columns=["row"]).to_dict("records"), "vectors": v}
        for t, v in zip(payload_tables, payload_vecs)
    ]
    settings = settings or {"engine": "dask"}
    return _result(df, payloads, embedder, settings, dict(timings, wall=time.perf_counter() - t0, workers=workers))


def embed_folder_distributed(root, **kwargs):
    """:func:`embed_images_distributed` over a folder-per-identity dataset (skipped files carried over)."""
    from facelab.datasets import read_identity_folders

    ds = read_identity_folders(root)
    result = embed_images_distributed(ds.images, **kwargs)
    result.folder_skipped = ds.skipped.reset_index(drop=True)
    return result


# ------------------------------------------------------------------------------------------
# All-pairs ROC
# ------------------------------------------------------------------------------------------


def _roc_task(e, codes, starts: list, step: int, bins: int) -> np.ndarray:
    from facelab.verification.streaming import pair_block_counts

    counts = np.zeros(2 * bins, dtype=np.int64)
    for s in starts:
        counts += pair_block_counts(e, codes, s, min(e.shape[0], s + step), bins=bins)
    return counts


def streaming_roc_distributed(
    embeddings,
    identities,
    *,
    client_or_address=None,
    bins: int = 65536,
    chunk_size: Optional[int] = None,
    blocks_per_task: int = 4,
):
    """:func:`facelab.verification.streaming_roc` with the row blocks as Dask tasks.

    The embeddings are sent to every worker once; each task bins ``blocks_per_task`` row blocks
    of ``chunk_size`` rows against the rows after them (the same blocks as the single-machine
    function, so the histograms are identical) and returns ``2 * bins`` counts; the client sums
    them. A worker holds the embeddings plus one block of scores (``chunk_size * N`` floats).

    Returns
    -------
    facelab.verification.StreamingRoc
    """
    from distributed import as_completed

    from facelab.errors import EvaluationError
    from facelab.vectors import unit_rows
    from facelab.verification.streaming import roc_from_histograms

    # The single-machine preparation (unit rows in float32, integer identity codes), so each
    # block is the very same matrix product as in score_histograms.
    e = unit_rows(embeddings).astype(np.float32)
    ids = np.asarray(identities)
    if ids.ndim != 1 or ids.size != e.shape[0]:
        raise EvaluationError(f"{e.shape[0]} embeddings but identities of shape {ids.shape}")
    codes = np.unique(ids, return_inverse=True)[1].ravel()
    n = e.shape[0]
    bins = int(bins)
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    step = int(chunk_size) if chunk_size else max(1, 4_000_000 // max(n, 1))  # score_histograms' default
    starts = list(range(0, n - 1, step))
    groups = [starts[k : k + blocks_per_task] for k in range(0, len(starts), max(1, blocks_per_task))]
    counts = np.zeros(2 * bins, dtype=np.int64)
    with connect(client_or_address) as client:
        e_f, c_f = client.scatter([e, codes], broadcast=True, hash=False)  # own keys: released below
        futures = client.map(_roc_task, [e_f] * len(groups), [c_f] * len(groups), groups, step=step, bins=bins,
                             pure=False, retries=3)
        for fut in as_completed(futures, loop=client.loop):
            counts += fut.result()
            fut.release()
        e_f.release()
        c_f.release()
    return roc_from_histograms(counts[bins:], counts[:bins], np.linspace(-1.0, 1.0, bins + 1))
