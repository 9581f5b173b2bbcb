"""Past one machine: embedding and all-pairs ROC as Dask tasks on a ``dask.distributed`` cluster.

:func:`embed_images_distributed` (or ``embed_images(..., scheduler=)``) sends load -> detect ->
align -> embed to a cluster in partitions of images; each partition is one task that runs the
pipeline's own stages on a worker (:func:`facelab.stages.prepare.prepare_image`,
:func:`facelab.stages.prepare.embed_prepared`) and the result is built by the pipeline's own
:func:`facelab.engine.pipeline.build_result`, so it is the single-machine
:func:`facelab.engine.pipeline.embed_images` result: same statuses, reasons, typed faces (and chips with
``keep_chips``), vectors equal to float32 rounding (batching may differ). Workers need facelab installed and the images reachable at
the same paths (a shared file system).

Faults: a task whose worker dies is rescheduled by the scheduler on another worker, a task that
raises is retried (``retries=``); results are gathered by partition, so every image appears
exactly once, and an image that cannot be read is a row with ``status="error"`` and its reason.

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

from facelab.core.errors import FacelabError

__all__ = [
    "SCHEDULER_ENV",
    "scheduler_address",
    "connect",
    "embed_images_distributed",
    "embed_folder_distributed",
    "iter_embed_partitions",
    "embed_partition",
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

# Objects built once per worker process and reused by every task with the same settings.
_WORKER_OBJECTS: dict = {}


def _worker_objects(spec_json: str):
    hit = _WORKER_OBJECTS.get(spec_json)
    if hit is not None:
        return hit
    import warnings

    from facelab.embedders import create_embedder
    from facelab.engine.pool import make_detector
    from facelab.stages.alignment import get_preset

    spec = json.loads(spec_json)
    emb_spec = dict(spec["embedder"])
    device = spec.get("device") or "auto"  # resolved here: the worker's own GPU, if it has one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedder = create_embedder(emb_spec.pop("name"), device=device, **emb_spec)
    if embedder.multithreaded:
        try:  # one worker thread per core the worker was given: no oversubscription
            import torch
            from distributed import get_worker

            torch.set_num_threads(max(1, int(get_worker().state.nthreads)))
        except (ImportError, ValueError):
            pass
    objs = (make_detector(spec["detector"], spec["upsample"], device=device), get_preset(embedder.alignment), embedder)
    _WORKER_OBJECTS.clear()  # one settings set at a time: models are large
    _WORKER_OBJECTS[spec_json] = objs
    return objs


def embed_partition(records: list, spec_json: str, *, chunk_size: int = 16, keep_chips: bool = False) -> dict:
    """Embed one partition of images (runs on a worker; also callable in-process).

    The local pipeline's stages: :func:`facelab.stages.prepare.prepare_image` per image and
    :func:`facelab.stages.prepare.embed_prepared` per batch of ``chunk_size`` chips.

    Parameters
    ----------
    records : list of (index, image_id, path)
    spec_json : str
        JSON of ``{"embedder": create_embedder kwargs, "detector", "upsample", "policy", "device"}``.
    chunk_size : int
        Faces per embedder call (as the local pipeline).
    keep_chips : bool
        Send the aligned chips back (else they are dropped here, sparing the transfer).

    Returns
    -------
    dict
        ``index``, ``prepared`` (:class:`~facelab.stages.prepare.PreparedImage` per record, without its
        detection list), ``vectors`` (one per record, None without an embedding), ``digests``
        (content hashes), ``times`` (seconds per stage), ``worker`` (its address, or None).
    """
    from facelab.engine.cache import content_hash
    from facelab.stages.prepare import embed_prepared, prepare_image

    t0 = time.perf_counter()
    spec = json.loads(spec_json)
    times: dict = {}
    detector, preset, embedder = _worker_objects(spec_json)
    times["worker_init"] = time.perf_counter() - t0
    digests = [content_hash(path) for _, _, path in records]
    prepared = [prepare_image(path, detector, preset, policy=spec["policy"], times=times) for _, _, path in records]
    vecs: list = []
    for k in range(0, len(prepared), chunk_size):
        vecs.extend(embed_prepared(prepared[k : k + chunk_size], embedder, times))
    for p in prepared:
        p.detection = None  # every face found: not part of the result
        if not keep_chips and p.aligned is not None:
            p.aligned.image = None
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    return {
        "index": [int(r[0]) for r in records],
        "prepared": prepared,
        "vectors": [None if v is None else np.asarray(v, np.float32) for v in vecs],
        "digests": digests,
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


def _spec_json(embedder, detector: str, upsample, policy: str, device: Optional[str]) -> str:
    spec = embedder.spec()
    if spec is None:
        raise DistributedError(
            f"{embedder.name}: this embedder cannot be rebuilt on a worker (random weights or an object "
            "built in memory); pass a model name and --weights"
        )
    if not isinstance(detector, str):
        raise DistributedError("on a cluster the detector is given by name ('dlib' or 'mtcnn')")
    return json.dumps({"embedder": spec, "detector": detector, "upsample": upsample, "policy": policy,
                       "device": device}, sort_keys=True)


class _Run:
    """One embedding run on a cluster: the checked inputs, the settings and the partition payloads."""

    def __init__(self, images_df, *, model, weights, detector, policy, flip, upsample, device):
        from facelab.embedders import create_embedder
        from facelab.embedders.base import Embedder
        from facelab.engine.cache import EmbeddingCache, embedding_settings
        from facelab.engine.pipeline import image_columns

        self.ids, self.paths, self.identities = image_columns(images_df)
        # Built here only for its spec, fingerprint and calibration: on the CPU.
        self.embedder = model if isinstance(model, Embedder) else create_embedder(str(model), weights=weights,
                                                                                   flip=flip)
        self.spec_json = _spec_json(self.embedder, detector, upsample, policy, device)
        # The local pipeline's settings (the cache's key), plus where they were computed.
        cache = EmbeddingCache(embedding_settings(self.embedder, detector=detector, policy=policy, upsample=upsample))
        self.settings = dict(cache.settings, embedder_description=self.embedder.describe(), cache=None, engine="dask")

    def result(self, positions, prepared, vecs, digests, *, keep_chips, timings):
        """The :class:`~facelab.engine.pipeline.EmbeddingResult` of the images at ``positions``."""
        from facelab.engine.pipeline import build_result

        return build_result([self.ids[i] for i in positions], [self.paths[i] for i in positions],
                            [self.identities[i] for i in positions], prepared, vecs, digests, self.embedder,
                            keep_chips=keep_chips, settings=dict(self.settings), n_cached=0,
                            n_computed=len(positions), timings=timings)

    def payloads(self, client_or_address, *, partition_size, chunk_size, retries, keep_chips, progress) -> Iterator:
        """Partition payloads (:func:`embed_partition`) as they finish, each exactly once."""
        from distributed import as_completed

        step = max(1, int(partition_size))
        records = [(i, a, p) for i, (a, p) in enumerate(zip(self.ids, self.paths))]
        parts = [records[k : k + step] for k in range(0, len(records), step)]
        if not parts:
            return
        with connect(client_or_address) as client:
            if progress:
                print(f"dask: {len(records)} images in {len(parts)} partitions on {client.scheduler.address}; "
                      f"dashboard {client.dashboard_link}", file=sys.stderr)
            run = uuid.uuid4().hex[:8]
            futures = [
                client.submit(embed_partition, part, self.spec_json, chunk_size=chunk_size, keep_chips=keep_chips,
                              retries=retries, pure=False, key=f"facelab-embed-{run}-{k}")
                for k, part in enumerate(parts)
            ]
            bar = None
            if progress:
                if _in_notebook():
                    from distributed import progress as dask_progress

                    dask_progress(futures, notebook=True, multi=False)
                else:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=len(records), desc=f"embed on dask ({self.embedder.name})", unit="img")
            seen: set = set()
            try:
                for fut in as_completed(futures, loop=client.loop):
                    payload = fut.result()
                    if seen.intersection(payload["index"]):  # one result per partition: cannot happen
                        raise DistributedError(f"partition {fut.key} came back twice")
                    seen.update(payload["index"])
                    if bar is not None:
                        bar.update(len(payload["index"]))
                    fut.release()
                    yield payload
            finally:
                if bar is not None:
                    bar.close()
                for f in futures:
                    f.cancel()
            if len(seen) != len(records):
                raise DistributedError(f"{len(records) - len(seen)} images are missing from the cluster's results")


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
    keep_chips: bool = False,
    device: Optional[str] = "auto",
    progress: bool = True,
) -> Iterator:
    """Embed on a cluster, yielding one :class:`~facelab.engine.pipeline.EmbeddingResult` per partition as it finishes.

    Options as :func:`embed_images_distributed`. Each result's ``table.index`` holds the rows'
    positions in ``images_df``. A consumer can store each partition at once
    (:func:`facelab.engine.store.embed_to_store`), so an interrupted run keeps what was finished.
    """
    run = _Run(images_df, model=model, weights=weights, detector=detector, policy=policy, flip=flip,
               upsample=upsample, device=device)
    for p in run.payloads(client_or_address, partition_size=partition_size, chunk_size=chunk_size, retries=retries,
                          keep_chips=keep_chips, progress=progress):
        res = run.result(p["index"], p["prepared"], p["vectors"], p["digests"], keep_chips=keep_chips,
                         timings=dict(p["times"], worker=p["worker"]))
        res.table.index = p["index"]  # positions in the input table
        yield res


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
    keep_chips: bool = False,
    device: Optional[str] = "auto",
    progress: bool = True,
):
    """:func:`facelab.engine.pipeline.embed_images` on a Dask cluster.

    Parameters
    ----------
    images_df : pandas.DataFrame
        ``image_id``, ``path`` (reachable from every worker) and optionally ``identity``.
    client_or_address : distributed.Client or str, optional
        A client, or a scheduler address (``tcp://host:8786``); default ``$FACELAB_SCHEDULER``.
    model, weights, detector, policy, flip, upsample, keep_chips
        As :func:`facelab.engine.pipeline.embed_images` (the embedder must be rebuildable from its name).
    partition_size : int
        Images per task.
    chunk_size : int
        Faces per embedder call inside a task.
    retries : int
        Times a task that raised is retried (a task whose worker died is always rescheduled).
    device : {"auto", "cpu", "cuda"}
        Where each worker runs the PyTorch parts (``auto``: its own GPU when it has one).
    progress : bool
        A progress bar (Dask's widget in Jupyter, tqdm elsewhere) and the dashboard link.

    Returns
    -------
    facelab.engine.pipeline.EmbeddingResult
        One row per input image, in input order, with the typed ``faces`` (and ``chips``) of
        the local pipeline; ``timings`` sums the workers' stage seconds and adds ``wall`` and
        ``workers`` (how many partitions each worker ran).
    """
    t0 = time.perf_counter()
    run = _Run(images_df, model=model, weights=weights, detector=detector, policy=policy, flip=flip,
               upsample=upsample, device=device)
    n = len(run.ids)
    prepared: list = [None] * n
    vecs: list = [None] * n
    digests: list = [None] * n
    timings: dict = {}
    workers: dict = {}
    for p in run.payloads(client_or_address, partition_size=partition_size, chunk_size=chunk_size, retries=retries,
                          keep_chips=keep_chips, progress=progress):
        for i, prep, v, h in zip(p["index"], p["prepared"], p["vectors"], p["digests"]):
            prepared[i], vecs[i], digests[i] = prep, v, h
        workers[p["worker"]] = workers.get(p["worker"], 0) + 1
        for k, sec in p["times"].items():
            timings[k] = timings.get(k, 0.0) + sec
    return run.result(range(n), prepared, vecs, digests, keep_chips=keep_chips,
                      timings=dict(timings, wall=time.perf_counter() - t0, workers=workers))


def embed_folder_distributed(root, **kwargs):
    """:func:`embed_images_distributed` over a folder-per-identity dataset (skipped files carried over)."""
    from facelab.data.datasets import read_identity_folders

    ds = read_identity_folders(root)
    result = embed_images_distributed(ds.images, **kwargs)
    result.folder_skipped = ds.skipped.reset_index(drop=True)
    return result
