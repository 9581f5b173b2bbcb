"""The process-pool executor: worker processes load, detect and align; this process embeds.

Workers run :func:`facelab.stages.prepare.prepare_image` on a few paths per task
(:data:`POOL_TASK_SIZE`) and send back :class:`~facelab.stages.prepare.PreparedImage` results
(chips included) for this process to embed in batches on every core. dlib workers never import
torch (seconds per worker). A single-threaded embedder (dlib's own engine) is rebuilt in every
worker from its ``spec`` and run there instead. While the workers take the cores, a CPU network
here gets what they leave (:func:`facelab.core.devices.torch_threads`).

Tasks flow across partition boundaries (no worker waits for a partition to end); a partition is
yielded when its last image is embedded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

from facelab.core.devices import torch_threads
from facelab.engine.executors import Job, Partition, SerialExecutor, drop_chips
from facelab.engine.settings import make_detector
from facelab.stages.prepare import embed_prepared

__all__ = ["PoolExecutor", "open_pool", "MIN_POOL_IMAGES", "POOL_TASK_SIZE"]

#: Below this many images to compute, a process pool costs more than it saves.
MIN_POOL_IMAGES = 48
#: Most images per pool task: small tasks keep the workers busy to the end (while the last task
#: runs the other workers idle). Embedding batches are formed in the parent.
POOL_TASK_SIZE = 4


#: Detectors that run in PyTorch (a worker imports it, one thread); the others (dlib's, YuNet in
#: onnxruntime) never import it: seconds and a few hundred MB per worker.
TORCH_DETECTORS = ("mtcnn", "dlib_mtcnn")

# Per-process objects of a pool worker (built once per worker).
_WORKER_STATE: dict = {}


def _worker_init(detector: str, preset: str, upsample: Optional[int] = None, spec: Optional[dict] = None,
                 device: str = "cpu"):
    t0 = time.perf_counter()
    if detector in TORCH_DETECTORS or (spec is not None and spec.get("engine") == "torch"):
        pass  # MTCNN and torch models need it; dlib, YuNet and onnxruntime workers skip the seconds

    import cv2

    from facelab.core.devices import set_cpu_threads

    set_cpu_threads(1)  # the pool is the parallelism: one thread for PyTorch and onnxruntime networks
    cv2.setNumThreads(1)  # and for the alignment warp
    from facelab.stages.alignment import get_preset

    _WORKER_STATE["detector"] = make_detector(detector, upsample, device=device)
    _WORKER_STATE["preset"] = get_preset(preset)
    _WORKER_STATE["embedder"] = None
    if spec is not None:  # a single-threaded embedder: each worker runs its own copy
        import warnings

        from facelab.embedders import create_embedder

        spec = dict(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _WORKER_STATE["embedder"] = create_embedder(spec.pop("name"), **spec)
    _WORKER_STATE["init_s"] = time.perf_counter() - t0


def _worker_chunk(args):
    """Prepare (and embed, with a worker embedder) a few images in a worker.

    Returns ``(prepared, vectors or None, seconds per stage)``: chips go back to the parent for
    batching unless the worker embedded them itself (then they are dropped, unless asked for).
    """
    from facelab.stages.prepare import prepare_image

    paths, policy, keep_chips = args
    st = _WORKER_STATE
    times: dict = {"worker_init": st.pop("init_s", 0.0)}  # reported once per worker
    prepared = [prepare_image(p, st["detector"], st["preset"], policy=policy, times=times) for p in paths]
    if st["embedder"] is None:
        return prepared, None, times
    vecs = embed_prepared(prepared, st["embedder"], times)
    if not keep_chips:
        drop_chips(prepared)  # not needed in the parent: spare the transfer
    return prepared, vecs, times


@contextmanager
def open_pool(n_workers: int, *, detector: str, preset: str, upsample: Optional[int], spec: Optional[dict],
              times: dict, device: str = "cpu") -> Iterator:
    """A started pool whose ``imap(tasks)`` yields :func:`_worker_chunk` results.

    ``tasks`` are ``(paths, policy, keep_chips)``. ``times["pool_start"]`` gets the seconds the
    ``Pool`` call took (the workers start as the tasks go out).
    """
    import multiprocessing as mp

    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    t0 = time.perf_counter()
    with ctx.Pool(n_workers, initializer=_worker_init, initargs=(detector, preset, upsample, spec, device)) as pool:
        times["pool_start"] = time.perf_counter() - t0
        yield pool


class PoolExecutor:
    """Load, detect and align in worker processes; embed here in batches (the default executor).

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: every core).
    min_images : int, optional
        Fewer images to compute than this (default :data:`MIN_POOL_IMAGES`), one worker, or a
        ready detector object (its settings are not known by name, so a worker cannot rebuild
        it): the :class:`~facelab.engine.executors.SerialExecutor` runs them instead.
    """

    partition_size = 256
    embeds_here = True
    result_settings: dict = {}

    def __init__(self, workers: Optional[int] = None, *, min_images: Optional[int] = None):
        self.workers = workers
        self.min_images = min_images

    def __repr__(self) -> str:
        return f"PoolExecutor(workers={self.workers})"

    def run(self, job: Job) -> Iterator[Partition]:
        n_workers = int(self.workers or os.cpu_count() or 1)
        min_images = MIN_POOL_IMAGES if self.min_images is None else int(self.min_images)
        if n_workers <= 1 or job.n_images < min_images or not job.settings.by_name:
            yield from SerialExecutor().run(job)
            return
        embedder, s = job.embedder, job.settings
        # Multithreaded networks (PyTorch) run batched here; the others (dlib's engine, onnxruntime on
        # the CPU) in every worker, one thread each: no chips to send, no parent to wait for.
        worker_spec = None if embedder.multithreaded else embedder.spec()
        step = max(1, min(job.batch_size, POOL_TASK_SIZE))
        tasks = [(p, part[k : k + step]) for p, part in enumerate(job.partitions) for k in range(0, len(part), step)]
        n_pool = min(n_workers, len(tasks))
        # The workers take the cores; a CPU network here gets what is left (at least one thread),
        # as more threads than cores make PyTorch's threads spin against them.
        on_cpu = worker_spec is None and str(getattr(embedder, "device", "cpu")) == "cpu"
        parent_threads = max(1, (os.cpu_count() or 1) - n_pool) if on_cpu else None

        done: list = [{} for _ in job.partitions]  # per partition: position -> (prepared, vector)
        times: dict = {}  # seconds since the last partition was yielded
        pending: list = []  # (partition, position, PreparedImage) waiting for the next embedding batch
        bar = job.bar()
        nxt = 0

        def keep(p, i, prep, vec):
            if not job.keep_chips:
                drop_chips([prep])
            done[p][i] = (prep, vec)

        def flush():
            got = embed_prepared([prep for _, _, prep in pending], embedder, times)
            for (p, i, prep), v in zip(pending, got):
                keep(p, i, prep, v)
            bar.update(len(pending))
            pending.clear()

        def ready() -> Iterator[Partition]:
            nonlocal nxt, times
            while nxt < len(job.partitions) and len(done[nxt]) == len(job.partitions[nxt]):
                part = job.partitions[nxt]
                yield Partition(list(part), [done[nxt][i][0] for i in part], [done[nxt][i][1] for i in part],
                                times=times)
                done[nxt], times, nxt = {}, {}, nxt + 1

        try:
            # Workers load, detect and align; this process embeds their chips in batches with every
            # core (the embedder is not rebuilt in a worker, so any embedder can use the pool) --
            # unless the embedder is single-threaded and can be rebuilt there.
            with open_pool(n_pool, detector=s.detector, preset=embedder.alignment, upsample=s.detection_upsample,
                           spec=worker_spec, device=s.device, times=times) as pool, torch_threads(parent_threads):
                args = [([job.paths[i] for i in c], s.policy, job.keep_chips) for _, c in tasks]
                for (p, c), (preps, vecs, tm) in zip(tasks, pool.imap(_worker_chunk, args)):
                    for k, sec in tm.items():
                        times[k] = times.get(k, 0.0) + sec
                    if vecs is not None:
                        for i, prep, v in zip(c, preps, vecs):
                            keep(p, i, prep, v)
                        bar.update(len(c))
                    else:
                        pending.extend((p, i, prep) for i, prep in zip(c, preps))
                        if len(pending) >= job.batch_size:
                            flush()
                    yield from ready()
                if pending:
                    flush()
                yield from ready()
        finally:
            bar.close()
