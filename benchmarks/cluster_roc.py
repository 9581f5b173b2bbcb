"""All-pairs ROC on a Dask LocalCluster: time and peak memory per worker.

    python benchmarks/cluster_roc.py [--n 100000] [--workers 2] [--bins 65536] [--blocks-per-task 25]
                                     [--check]

Synthetic 128-d embeddings with identity structure (10 images per identity, a random centre plus
noise): all N (N - 1) / 2 pairs are scored and binned by
:func:`facelab.verification.streaming.streaming_roc_distributed` on a ``LocalCluster`` of ``--workers``
single-thread worker processes. Reported: wall time, pairs/s, AUC / EER, and each worker's peak
resident memory (``ru_maxrss``, read on the worker after the run). ``--check`` also runs the
single-machine :func:`facelab.verification.streaming_roc` and compares the histograms.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _peak_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bins", type=int, default=65536)
    ap.add_argument("--blocks-per-task", type=int, default=25)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    from distributed import Client, LocalCluster

    from facelab import verification as V
    from facelab.verification.streaming import streaming_roc_distributed

    rng = np.random.default_rng(0)
    people = a.n // 10
    ids = np.arange(a.n) % people
    e = rng.standard_normal((people, 128)).astype(np.float32)[ids] + 1.2 * rng.standard_normal((a.n, 128)).astype(np.float32)
    pairs = a.n * (a.n - 1) // 2
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as client:
        base = client.run(_peak_mb)
        t0 = time.perf_counter()
        r = streaming_roc_distributed(e, ids, scheduler=client, bins=a.bins, blocks_per_task=a.blocks_per_task)
        wall = time.perf_counter() - t0
        peaks = client.run(_peak_mb)
    print(f"N={a.n:,} ({pairs:,} pairs) on a LocalCluster of {a.workers} x 1 thread: {wall:.1f} s, "
          f"{pairs / wall / 1e6:.1f} M pairs/s; AUC {r.auc:.4f}, EER {r.eer:.4f}")
    for w in peaks:
        print(f"  worker {w}: peak RSS {peaks[w]:.0f} MB (at start {base[w]:.0f} MB)")
    if a.check:
        t0 = time.perf_counter()
        loc = V.streaming_roc(e, ids, bins=a.bins)
        print(f"single machine streaming_roc: {time.perf_counter() - t0:.1f} s; histograms equal: "
              f"{np.array_equal(loc.genuine_hist, r.genuine_hist) and np.array_equal(loc.impostor_hist, r.impostor_hist)}")


if __name__ == "__main__":
    main()
