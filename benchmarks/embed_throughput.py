"""Embedding throughput (images/s, every stage: load, detect, align, embed) on LFW images.

    python benchmarks/embed_throughput.py [--n 500] [--model dlib] [--workers 1 2]

Takes ``n`` LFW images spread over the whole set (every k-th of the sorted list), runs
:func:`facelab.engine.pipeline.embed_images` without the cache once per worker count, and prints
images/s; then times each stage on the first 40 images in one process to show where time goes.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--model", default="dlib")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    ap.add_argument("--stages", type=int, default=40, help="images for the per-stage timing (0 = skip)")
    args = ap.parse_args(argv)

    from facelab.data.datasets import LFW
    from facelab.engine.pipeline import embed_images

    imgs = LFW().images()
    step = max(1, len(imgs) // args.n)
    sample = imgs.iloc[::step].head(args.n).reset_index(drop=True)
    print(f"{len(sample)} LFW images, model {args.model}, {os.cpu_count()} CPUs")
    for w in args.workers:
        t0 = time.perf_counter()
        res = embed_images(sample, model=args.model, weights=args.weights, cache=False, progress=False, workers=w)
        dt = time.perf_counter() - t0
        print(f"workers={w}: {len(sample) / dt:.2f} images/s ({dt:.1f} s; {res.summary()})")

    if args.stages:
        from facelab.data.imageio import load_image
        from facelab.embedders import create_embedder
        from facelab.stages.alignment import get_preset
        from facelab.stages.detection import create_detector

        emb = create_embedder(args.model, weights=args.weights)
        det, preset = create_detector("dlib"), get_preset(emb.alignment)
        paths = list(sample.path[: args.stages])
        emb.embed(np.zeros((1, emb.chip_size, emb.chip_size, 3), np.uint8))  # load the model first
        t = {}
        t0 = time.perf_counter(); ims = [load_image(p) for p in paths]; t["load"] = time.perf_counter() - t0
        t0 = time.perf_counter(); dets = [det.detect(im) for im in ims]; t["detect"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        chips = [preset(im, r.face).image for im, r in zip(ims, dets) if r.face is not None]
        t["align"] = time.perf_counter() - t0
        t0 = time.perf_counter(); emb.embed(np.stack(chips)); t["embed"] = time.perf_counter() - t0
        print("per-image stage times (one process): " + ", ".join(f"{k} {1000 * v / len(paths):.1f} ms" for k, v in t.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
