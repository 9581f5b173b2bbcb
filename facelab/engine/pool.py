"""The worker pool of :func:`facelab.engine.pipeline.embed_images`: workers load, detect and align.

Workers run :func:`facelab.stages.prepare.prepare_image` on a few paths per task and send back
:class:`~facelab.stages.prepare.PreparedImage` results (chips included) for the parent to embed in
batches on every core. dlib workers never import torch (seconds per worker). A single-threaded
embedder (dlib's own engine) is rebuilt in every worker from its ``spec`` and run there instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

__all__ = ["make_detector", "open_pool", "MIN_POOL_IMAGES", "POOL_TASK_SIZE"]

#: Below this many images to compute, a process pool costs more than it saves.
MIN_POOL_IMAGES = 48
#: Most images per pool task: small tasks keep the workers busy to the end (while the last task
#: runs the other workers idle). Embedding batches are formed in the parent.
POOL_TASK_SIZE = 4


def make_detector(name: str, upsample: Optional[int] = None, *, device: str = "cpu"):
    """The pipeline's detector for a backend name (dlib: the upsample ladder unless fixed).

    ``device`` goes to the detectors that run in PyTorch (MTCNN; see :func:`facelab.core.devices.resolve_device`).
    """
    from facelab.stages.detection import create_detector, hog_detector

    if name == "dlib":
        return hog_detector(upsample)
    if name == "mtcnn":
        return create_detector(name, device=device)
    if name == "dlib_mtcnn":
        return create_detector(name, upsample=upsample, device=device)
    return create_detector(name)


# Per-process objects of a pool worker (built once per worker).
_WORKER_STATE: dict = {}


def _worker_init(detector: str, preset: str, upsample: Optional[int] = None, spec: Optional[dict] = None,
                 device: str = "cpu"):
    t0 = time.perf_counter()
    if detector != "dlib" or (spec is not None and spec.get("name") != "dlib"):
        import torch  # MTCNN and torch models need it; dlib workers skip the seconds an import costs

        torch.set_num_threads(1)  # the pool is the parallelism
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
    from facelab.stages.prepare import embed_prepared, prepare_image

    paths, policy, keep_chips = args
    st = _WORKER_STATE
    times: dict = {"worker_init": st.pop("init_s", 0.0)}  # reported once per worker
    prepared = [prepare_image(p, st["detector"], st["preset"], policy=policy, times=times) for p in paths]
    if st["embedder"] is None:
        return prepared, None, times
    vecs = embed_prepared(prepared, st["embedder"], times)
    if not keep_chips:
        for p in prepared:
            if p.aligned is not None:
                p.aligned.image = None  # not needed in the parent: spare the transfer
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
