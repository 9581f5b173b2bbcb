"""Embedding on a cluster vs on this machine: images/s of the same LFW photos three ways.

    python benchmarks/distributed_embed.py [--n 200] [--seed 0] [--partition-size 16]

1. ``local``: :func:`facelab.engine.pipeline.embed_images` (process pool for load/detect/align, batched
   PyTorch ResNet in the parent; no cache);
2. ``localcluster``: the same driver with ``scheduler=`` (:class:`facelab.engine.dask.DaskExecutor`) on a
   ``distributed.LocalCluster`` of 2 worker processes, 1 thread each;
3. ``scheduler``: the same on a ``dask scheduler`` + 2 ``dask worker`` processes started here on
   127.0.0.1 (as a user would by hand), 1 thread each.

The clusters are started (and their workers warmed with one small partition, loading the models)
before the clock starts, as a long-lived cluster would be. Reported: images/s, wall seconds and the
workers' summed seconds per stage (load / detect / align / embed). Results are checked equal to the
local run (to float32 rounding).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def photos(n, seed):
    from facelab.data.datasets import LFW

    imgs = LFW().images()
    return imgs.sample(n=n, random_state=seed).reset_index(drop=True)


def timed(fn, images, label, ref=None):
    t0 = time.perf_counter()
    res = fn(images)
    wall = time.perf_counter() - t0
    st = {k: round(res.timings.get(k, 0.0), 1) for k in ("load", "detect", "align", "embed")}
    same = "" if ref is None else f"  max |diff| vs local {np.abs(res.embeddings - ref.embeddings).max():.1e}"
    print(f"{label:>13}: {len(images) / wall:6.1f} images/s  ({wall:6.1f} s; {int((res.table.status == 'ok').sum())} "
          f"faces; worker seconds {st}){same}", flush=True)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--partition-size", type=int, default=16)
    a = ap.parse_args(argv)
    from distributed import Client, LocalCluster

    from facelab.engine.pipeline import embed_images

    images = photos(a.n, a.seed)
    warm = photos(4, a.seed + 1)
    print(f"{a.n} LFW photos (seed {a.seed}), {os.cpu_count()} cores, partitions of {a.partition_size}")
    ref = timed(lambda df: embed_images(df, cache=False, progress=False), images, "local")

    def on(client):
        embed_images(warm, scheduler=client, partition_size=2, progress=False)  # models loaded
        return lambda df: embed_images(df, scheduler=client, partition_size=a.partition_size, progress=False)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, Client(lc) as c:
        timed(on(c), images, "LocalCluster", ref)

    dask = Path(sys.executable).with_name("dask")
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as d:
        sf = Path(d) / "s.json"
        procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
                                   "127.0.0.1:0", "--scheduler-file", str(sf)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)]
        try:
            while not sf.is_file():
                time.sleep(0.1)
            addr = json.loads(sf.read_text())["address"]
            procs += [subprocess.Popen([str(dask), "worker", addr, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                                        "--local-directory", d], env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(2)]
            with Client(addr) as c:
                c.wait_for_workers(2, timeout=60)
                timed(on(c), images, "scheduler+2w", ref)
        finally:
            for p in procs[::-1]:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
