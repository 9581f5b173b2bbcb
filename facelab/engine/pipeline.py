"""The driver: images -> faces -> aligned chips -> embeddings, with a cache and an executor.

:func:`embed_images` is the one way a set of images is run, on this machine, on a cluster, into
the file cache or a Parquet store:

1. **look up** each image's content hash in the cache (:class:`facelab.engine.cache.EntryCache`:
   the file cache :class:`~facelab.engine.cache.EmbeddingCache` by default, or the store
   :class:`~facelab.engine.store.EmbeddingStore`) under the key of the run's
   :class:`~facelab.engine.settings.EmbedSettings`;
2. **compute** the misses with an executor (:mod:`facelab.engine.executors`: this process, the
   process pool of :mod:`facelab.engine.pool` by default, or a Dask cluster,
   :mod:`facelab.engine.dask`), which yields them partition by partition;
3. **put** each finished partition in the cache at once (an interrupted run keeps what it finished,
   and the next one resumes from there);
4. **assemble** every image, cached or computed, with :func:`facelab.engine.result.build_result`.

Every input image gets a row in the result's ``table`` -- ``ok``, ``no_face`` or ``error`` with its
reason -- and an entry in ``faces`` (the chosen :class:`~facelab.stages.faces.Face` or None), so
nothing is silently dropped and nothing downstream has to detect again; ``keep_chips=True`` also
keeps the aligned chips. With ``policy="all"`` (every face) a photo gets a row per face instead
(``face`` 0, 1, ... largest first; see :mod:`facelab.engine.result`), and still one row, with its
reason, when it has none.

Speed (see ``benchmarks/throughput.py``): each image is decoded once; the dlib HOG detector first
looks at the image's own scale and upsamples it only when that does not find exactly one face
(``upsample=None``, the default; LFW-sized faces never need the 2x pass, which costs four times
as much); only the chosen face is aligned and embedded. With the pool, the workers load, detect
and align (dlib workers never import torch) while this process embeds their chips in batches on
every core -- dlib's ResNet runs in PyTorch (:mod:`facelab.models.dlib_resnet`), several times
faster than dlib's own engine (which, single-threaded, runs inside each worker instead).
:attr:`EmbeddingResult.timings` says where the time went.
"""

from __future__ import annotations

import time
from typing import Optional

import pandas as pd

from facelab.engine.cache import CacheEntry, CacheError, CacheRecord, EmbeddingCache, EntryCache, content_hash
from facelab.engine.executors import Executor, Job
from facelab.engine.result import EmbeddingResult, build_result, image_columns
from facelab.engine.settings import CACHE_VERSION, EmbedSettings, settings_key
from facelab.stages.prepare import STAGES, PreparedImage, fill_residual

__all__ = ["embed_images", "embed_folder"]


def _realign(prep: PreparedImage, preset, times: dict) -> None:
    """The chip of a cached ok image: its cached face (every-face mode: faces) aligned again (no detection)."""
    from facelab.data.imageio import ImageLoadError, load_image
    from facelab.stages.prepare import stage_timer

    try:
        with stage_timer(times, "realign"):
            image = load_image(prep.path)
            if prep.every_face:
                prep.alignments = [preset(image, f) for f in prep.faces]
                prep.aligned = prep.alignments[0]
            else:
                prep.aligned = preset(image, prep.face)
    except (ImageLoadError, OSError, ValueError) as exc:
        prep.failed("align", f"alignment failed ({type(exc).__name__}: {exc})")


def _executor(executor, scheduler, workers) -> Executor:
    if executor is not None:
        if scheduler is not None:
            raise ValueError("give executor= or scheduler=, not both")
        return executor
    if scheduler is not None:
        from facelab.engine.dask import DaskExecutor

        return DaskExecutor(scheduler)
    from facelab.engine.pool import PoolExecutor

    return PoolExecutor(workers)


def embed_images(
    images_df: pd.DataFrame,
    settings: Optional[EmbedSettings] = None,
    *,
    cache=True,
    executor: Optional[Executor] = None,
    scheduler=None,
    workers: Optional[int] = None,
    batch_size: int = 16,
    partition_size: Optional[int] = None,
    keep_chips: bool = False,
    progress: bool = True,
    **setting_fields,
) -> EmbeddingResult:
    """Detect, align and embed every image of a table: look up, compute the misses, put, assemble.

    Parameters
    ----------
    images_df : pandas.DataFrame
        Columns ``image_id``, ``path`` and (optionally) ``identity``.
    settings : EmbedSettings, optional
        Model, weights, detector, policy, flip, upsample, device (default: dlib's model and detector).
    cache : bool or EntryCache
        ``True`` (default): the file cache of this machine (:class:`~facelab.engine.cache.EmbeddingCache`,
        ``$FACELAB_CACHE``) -- except on a cluster, whose workers do not share it; ``False``: none;
        or a cache object, e.g. an :class:`~facelab.engine.store.EmbeddingStore` (also on a
        cluster). A cache is never used for settings that cannot be keyed (random weights, a
        ready detector object); a store then refuses the run.
    executor : Executor, optional
        Where the misses are computed: :class:`~facelab.engine.executors.SerialExecutor`,
        :class:`~facelab.engine.pool.PoolExecutor` (default, with ``workers``) or
        :class:`~facelab.engine.dask.DaskExecutor` (``scheduler=`` is its short form).
    scheduler : str or distributed.Client, optional
        Compute on this Dask cluster (an address ``tcp://host:8786`` or a client).
    workers : int, optional
        Processes of the default pool (default: every core; a pool is used only for at least
        :data:`~facelab.engine.pool.MIN_POOL_IMAGES` images to compute and a detector given by name).
    batch_size : int
        Faces per embedder call.
    partition_size : int, optional
        Images an executor returns, and the cache keeps, at once (default: the executor's; 32 per
        task on a cluster, 256 otherwise).
    keep_chips : bool
        Keep the aligned chips in :attr:`EmbeddingResult.chips`. Cached images are re-aligned
        from their cached face (the chip is not cached; see :mod:`facelab.engine.cache`).
    progress : bool
        A progress bar.
    **setting_fields
        Fields of :class:`EmbedSettings` by keyword, replacing those of ``settings``
        (``model="edgeface_xs"``, ``detector="mtcnn"``, ``flip=True`` ...).

    Returns
    -------
    EmbeddingResult
        One row per input image, in input order; ``n_cached`` of them answered by the cache.

    Raises
    ------
    facelab.engine.cache.CacheError
        A store given settings whose embeddings cannot be stored (not reproducible, or a ready
        detector object).
    """
    t_start = time.perf_counter()
    settings = EmbedSettings.of(settings, **setting_fields)
    ids, paths, identities = image_columns(images_df)
    executor = _executor(executor, scheduler, workers)
    if cache is True:
        cache = EmbeddingCache() if executor.embeds_here else None
    elif cache is False:
        cache = None
    elif cache is not None and not isinstance(cache, EntryCache):
        raise TypeError(f"cache must be True, False or an EntryCache (EmbeddingCache, EmbeddingStore), got {cache!r}")

    # On a cluster the network runs on the workers: built here only for its spec and fingerprint.
    embedder = settings.build_embedder(remote=not executor.embeds_here)
    base = settings.cache_settings(embedder)
    key = settings_key(base)
    if cache is not None and (embedder.fingerprint() is None or not settings.by_name):
        if cache.required:
            why = ("its embeddings are not reproducible (random weights?)" if embedder.fingerprint() is None
                   else "a ready detector object has no settings to key on; give the detector by name")
            raise CacheError(f"{embedder.name}: {why}; nothing can be kept in {cache!r}")
        cache = None
    from facelab.stages.alignment import get_preset

    preset = get_preset(embedder.alignment)
    every = settings.every_face

    n = len(ids)
    prepared: list = [None] * n
    vecs: list = [None] * n
    digests: list = [None] * n
    times = {k: 0.0 for k in STAGES}
    times["pool_start"] = times["worker_init"] = times["realign"] = 0.0
    workers_used: dict = {}
    if cache is not None:
        digests = [content_hash(p) for p in paths]
        hits = cache.lookup(digests, settings_key=key)
        for i, d in enumerate(digests):
            if d in hits:
                prepared[i] = fill_residual(hits[d].prepared(paths[i], every_face=every), preset)
                vecs[i] = hits[d].vectors() if every else hits[d].vector
                if keep_chips and prepared[i].ok:
                    _realign(prepared[i], preset, times)
    todo = [i for i in range(n) if prepared[i] is None]

    if todo:
        size = max(1, int(partition_size or executor.partition_size))
        job = Job(settings, embedder, ids, paths, [todo[k : k + size] for k in range(0, len(todo), size)],
                  batch_size=batch_size, keep_chips=keep_chips, progress=progress)
        for part in executor.run(job):
            for k, i in enumerate(part.positions):
                prepared[i], vecs[i] = part.prepared[k], part.vectors[k]
                if part.digests is not None and digests[i] is None:
                    digests[i] = part.digests[k]  # hashed on a cluster's worker
            for k, sec in part.times.items():
                times[k] = times.get(k, 0.0) + sec
            if part.worker is not None:
                workers_used[part.worker] = workers_used.get(part.worker, 0) + 1
            if cache is not None:
                # Keep what the file's content decides (a face, no face, undecodable bytes); not
                # failures of our own stages, which a fix or a retry may change.
                done = [CacheRecord(ids[i], paths[i], identities[i], digests[i],
                                    CacheEntry.from_prepared(prepared[i], vecs[i]))
                        for i in part.positions if digests[i] and prepared[i].cacheable]
                if done:
                    cache.put(done, settings_key=key, dim=embedder.embedding_size)

    where = cache.describe(key) if cache is not None else {"cache": None}
    out_settings = dict(base, version=CACHE_VERSION, embedder_description=embedder.describe(), **where,
                        **executor.result_settings)
    timings = dict(times, wall=time.perf_counter() - t_start)
    if workers_used:
        timings["workers"] = workers_used  # partitions per cluster worker
    return build_result(ids, paths, identities, prepared, vecs, digests, embedder, keep_chips=keep_chips,
                        settings=out_settings, n_cached=n - len(todo), n_computed=len(todo), timings=timings)


def embed_folder(root, settings: Optional[EmbedSettings] = None, *, layout: str = "identity",
                 **kwargs) -> EmbeddingResult:
    """:func:`embed_images` over a folder of images.

    ``layout``: ``"identity"`` (default) a folder per identity
    (:func:`facelab.data.datasets.read_identity_folders`), ``"flat"`` a flat folder of photos with
    empty identities (:func:`~facelab.data.datasets.read_photo_folder`, e.g. with ``policy="all"``),
    ``"any"`` whichever the folder is (:func:`~facelab.data.datasets.read_folder`). Files the
    reader skipped (not images) are carried into the result's ``skipped``.
    """
    from facelab.data.datasets import read_folder, read_identity_folders, read_photo_folder

    readers = {"identity": read_identity_folders, "flat": read_photo_folder, "any": read_folder}
    if layout not in readers:
        raise ValueError(f"layout must be one of {sorted(readers)}, got {layout!r}")
    ds = readers[layout](root)
    result = embed_images(ds.images, settings, **kwargs)
    result.folder_skipped = ds.skipped.reset_index(drop=True)
    return result
