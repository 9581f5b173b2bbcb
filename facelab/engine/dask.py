"""The Dask executor: one task per partition of images on a ``dask.distributed`` cluster.

:class:`DaskExecutor` (``embed_images(..., scheduler=ADDRESS)``, ``--scheduler``) sends load ->
detect -> align -> embed to a cluster; each partition is one task that runs the engine's own
stages on a worker (:func:`embed_partition`: :func:`facelab.stages.prepare.prepare_image`,
:func:`facelab.stages.prepare.embed_prepared`), and the driver builds the result with the same
:func:`facelab.engine.result.build_result` as on one machine: same statuses, reasons, typed faces
(and chips with ``keep_chips``), vectors equal to float32 rounding (batching may differ). Workers
need facelab installed and the images reachable at the same paths (a shared file system).
Partitions come back as they finish, so a store (the cluster's cache: ``--store``) appends each
at once.

Faults: a task whose worker dies is rescheduled by the scheduler on another worker, a task that
raises is retried (``retries=``); results are gathered by partition, so every image appears
exactly once, and an image that cannot be read is a row with ``status="error"`` and its reason.

``scheduler`` is an address (``tcp://host:8786``) or a :class:`distributed.Client`; without one,
``$FACELAB_SCHEDULER``. :func:`connect` is shared with
:func:`facelab.verification.streaming.streaming_roc_distributed`.
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

from facelab.core.errors import FacelabError
from facelab.engine.executors import Job, Partition, drop_chips

__all__ = ["SCHEDULER_ENV", "scheduler_address", "connect", "DaskExecutor", "embed_partition", "DistributedError"]

#: Environment variable naming the scheduler (``tcp://host:8786``).
SCHEDULER_ENV = "FACELAB_SCHEDULER"


class DistributedError(FacelabError):
    """The cluster cannot be reached or cannot run the work."""


def scheduler_address(address: Optional[str] = None) -> Optional[str]:
    """``address``, else ``$FACELAB_SCHEDULER``, else None (run on this machine)."""
    return address or os.environ.get(SCHEDULER_ENV) or None


@contextmanager
def connect(scheduler=None, *, timeout: float = 30):
    """A :class:`distributed.Client`: ``scheduler`` itself when it is one, else a new one to that
    address (default ``$FACELAB_SCHEDULER``), closed on exit."""
    from distributed import Client

    if scheduler is not None and not isinstance(scheduler, str):
        yield scheduler
        return
    address = scheduler_address(scheduler)
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
    from facelab.engine.settings import make_detector
    from facelab.stages.alignment import get_preset

    spec = json.loads(spec_json)
    emb_spec = dict(spec["embedder"])
    device = spec.get("device") or "auto"  # resolved here: the worker's own GPU, if it has one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedder = create_embedder(emb_spec.pop("name"), device=device, **emb_spec)
    try:  # one network thread per core the worker was given: no oversubscription
        from distributed import get_worker

        from facelab.core.devices import set_cpu_threads

        set_cpu_threads(max(1, int(get_worker().state.nthreads)))
    except (ImportError, ValueError):
        pass
    objs = (make_detector(spec["detector"], spec["upsample"], device=device), get_preset(embedder.alignment), embedder)
    _WORKER_OBJECTS.clear()  # one settings set at a time: models are large
    _WORKER_OBJECTS[spec_json] = objs
    return objs


def embed_partition(records: list, spec_json: str, *, batch_size: int = 16, keep_chips: bool = False) -> dict:
    """Embed one partition of images (runs on a worker; also callable in-process).

    The engine's stages: :func:`facelab.stages.prepare.prepare_image` per image and
    :func:`facelab.stages.prepare.embed_prepared` per batch of ``batch_size`` chips.

    Parameters
    ----------
    records : list of (index, image_id, path)
    spec_json : str
        JSON of ``{"embedder": create_embedder kwargs, "detector", "upsample", "policy", "device"}``
        (:func:`worker_spec`).
    batch_size : int
        Faces per embedder call (as on one machine).
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
    for k in range(0, len(prepared), batch_size):
        vecs.extend(embed_prepared(prepared[k : k + batch_size], embedder, times))
    for p in prepared:
        p.detection = None  # every face found: not part of the result (every-face mode keeps its own list)
    if not keep_chips:
        drop_chips(prepared)
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


def worker_spec(settings, embedder) -> str:
    """What a worker rebuilds its detector and embedder from (:func:`embed_partition`'s ``spec_json``).

    Raises
    ------
    DistributedError
        For an embedder that cannot be rebuilt from a name (random weights, built in memory) or a
        detector object.
    """
    spec = embedder.spec()
    if spec is None:
        raise DistributedError(
            f"{embedder.name}: this embedder cannot be rebuilt on a worker (random weights or an object "
            "built in memory); pass a model name and --weights"
        )
    if not settings.by_name:
        raise DistributedError("on a cluster the detector is given by name ('dlib' or 'mtcnn')")
    return json.dumps({"embedder": spec, "detector": settings.detector, "upsample": settings.detection_upsample,
                       "policy": settings.policy, "device": settings.device}, sort_keys=True)


class DaskExecutor:
    """One task per partition on a Dask cluster, partitions yielded as they finish.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        A scheduler address (``tcp://host:8786``) or a client; default ``$FACELAB_SCHEDULER``.
    retries : int
        Times a task that raised is retried (a task whose worker died is always rescheduled).

    Each worker runs the PyTorch parts on the settings' ``device`` (``auto``: its own GPU when it
    has one). The progress bar is Dask's widget in Jupyter, tqdm elsewhere, with the dashboard link.
    """

    #: Images per task: small enough to spread a few hundred images over the workers.
    partition_size = 32
    embeds_here = False
    result_settings = {"engine": "dask"}

    def __init__(self, scheduler=None, *, retries: int = 3):
        self.scheduler = scheduler
        self.retries = int(retries)

    def __repr__(self) -> str:
        return f"DaskExecutor({self.scheduler!r})"

    def run(self, job: Job) -> Iterator[Partition]:
        from distributed import as_completed

        spec_json = worker_spec(job.settings, job.embedder)
        parts = [[(i, job.ids[i], job.paths[i]) for i in part] for part in job.partitions]
        n = sum(len(p) for p in parts)
        if not n:
            return
        with connect(self.scheduler) as client:
            if job.progress:
                print(f"dask: {n} images in {len(parts)} partitions on {client.scheduler.address}; "
                      f"dashboard {client.dashboard_link}", file=sys.stderr)
            run = uuid.uuid4().hex[:8]
            futures = [
                client.submit(embed_partition, part, spec_json, batch_size=job.batch_size, keep_chips=job.keep_chips,
                              retries=self.retries, pure=False, key=f"facelab-embed-{run}-{k}")
                for k, part in enumerate(parts)
            ]
            bar = None
            if job.progress:
                if _in_notebook():
                    from distributed import progress as dask_progress

                    dask_progress(futures, notebook=True, multi=False)
                else:
                    bar = job.bar(f"embed on dask ({job.embedder.name})")
            seen: set = set()
            try:
                for fut in as_completed(futures, loop=client.loop):
                    p = fut.result()
                    if seen.intersection(p["index"]):  # one result per partition: cannot happen
                        raise DistributedError(f"partition {fut.key} came back twice")
                    seen.update(p["index"])
                    if bar is not None:
                        bar.update(len(p["index"]))
                    fut.release()
                    yield Partition(p["index"], p["prepared"], p["vectors"], digests=p["digests"], times=p["times"],
                                    worker=p["worker"])
            finally:
                if bar is not None:
                    bar.close()
                for f in futures:
                    f.cancel()
            if len(seen) != n:
                raise DistributedError(f"{n - len(seen)} images are missing from the cluster's results")
