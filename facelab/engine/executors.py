"""Where the images a cache did not answer are computed: the executor seam of the driver.

An executor takes a :class:`Job` -- the settings, the embedder built for them, the images and
their partitions -- and yields one :class:`Partition` per partition as it finishes: the
:class:`~facelab.stages.prepare.PreparedImage` of each image (status, reason, typed face, chip
on request) and its vector. The driver (:func:`facelab.engine.pipeline.embed_images`) puts each
finished partition in its cache at once and builds the result; an executor never sees the cache.

Three executors run the same stages (:func:`facelab.stages.prepare.prepare_image`, then
:func:`facelab.stages.prepare.embed_prepared` in batches of ``batch_size`` faces):

* :class:`SerialExecutor` -- this process, partition after partition;
* :class:`facelab.engine.pool.PoolExecutor` -- worker processes load, detect and align while
  this process embeds their chips in batches (the default; serial below a few dozen images);
* :class:`facelab.engine.dask.DaskExecutor` -- one task per partition on a Dask cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional, Protocol, runtime_checkable

from facelab.engine.settings import EmbedSettings
from facelab.stages.prepare import embed_prepared, prepare_image

__all__ = ["Executor", "Job", "Partition", "SerialExecutor"]


@dataclass
class Job:
    """What an executor computes.

    Attributes
    ----------
    settings : EmbedSettings
    embedder : Embedder
        Built for ``settings`` in this process (for an executor that embeds elsewhere: only for
        its spec, name and alignment).
    ids, paths : list of str
        Every image of the run (``partitions`` index into them).
    partitions : list of list of int
        The images to compute, in partitions: the unit an executor yields (and a cache keeps) at once.
    batch_size : int
        Faces per embedder call.
    keep_chips : bool
        Keep the aligned chips (else they are dropped as soon as embedded).
    progress : bool
        A progress bar.
    """

    settings: EmbedSettings
    embedder: object
    ids: list
    paths: list
    partitions: list
    batch_size: int = 16
    keep_chips: bool = False
    progress: bool = True

    @property
    def n_images(self) -> int:
        return sum(len(p) for p in self.partitions)

    def bar(self, desc: Optional[str] = None):
        """A tqdm bar over the job's images (disabled without ``progress``)."""
        from tqdm.auto import tqdm

        return tqdm(total=self.n_images, desc=desc or f"embed ({self.embedder.name})", unit="img",
                    disable=not self.progress)


@dataclass
class Partition:
    """One finished partition, as an executor yields it.

    Attributes
    ----------
    positions : list of int
        The images' indices in the job's ``ids`` / ``paths``.
    prepared : list of PreparedImage
        One per image: status, reason, stage, typed face, chip (with ``keep_chips``).
    vectors : list of (ndarray or None)
        One per image: the ``(D,)`` float32 vector, None without one.
    digests : list of (str or None), optional
        Content hashes, when the executor computed them (on a cluster's workers).
    times : dict
        Seconds per stage spent on this partition (and executor costs such as ``pool_start``).
    worker : str, optional
        The cluster worker that ran it.
    """

    positions: list
    prepared: list
    vectors: list
    digests: Optional[list] = None
    times: dict = field(default_factory=dict)
    worker: Optional[str] = None


@runtime_checkable
class Executor(Protocol):
    """Computes a :class:`Job`'s partitions, yielding each as it finishes (in any order).

    Attributes
    ----------
    partition_size : int
        Images per partition when the caller does not say.
    embeds_here : bool
        Whether the network runs in this process (then the driver builds the embedder on the
        settings' device; else only for its spec, on the CPU).
    result_settings : dict
        Added to the result's ``settings`` (e.g. ``{"engine": "dask"}``).
    """

    partition_size: int
    embeds_here: bool
    result_settings: dict

    def run(self, job: Job) -> Iterator[Partition]: ...


def drop_chips(prepared) -> None:
    """Free the chips of embedded images (they are large; ``keep_chips`` keeps them)."""
    for p in prepared:
        for a in [p.aligned] + list(p.alignments or []):
            if a is not None:
                a.image = None


class SerialExecutor:
    """Every stage in this process, partition after partition, ``batch_size`` faces per embedder call."""

    partition_size = 256
    embeds_here = True
    result_settings: dict = {}

    def __repr__(self) -> str:
        return "SerialExecutor()"

    def run(self, job: Job) -> Iterator[Partition]:
        from facelab.stages.alignment import get_preset

        detector = job.settings.build_detector()
        preset = get_preset(job.embedder.alignment)
        step = max(1, int(job.batch_size))
        bar = job.bar()
        try:
            for part in job.partitions:
                times: dict = {}
                prepared, vectors = [], []
                for k in range(0, len(part), step):
                    batch = [prepare_image(job.paths[i], detector, preset, policy=job.settings.policy, times=times)
                             for i in part[k : k + step]]
                    vectors.extend(embed_prepared(batch, job.embedder, times))
                    if not job.keep_chips:
                        drop_chips(batch)
                    prepared.extend(batch)
                    bar.update(len(batch))
                yield Partition(list(part), prepared, vectors, times=times)
        finally:
            bar.close()
