"""Time the embedding explorer on a large synthetic set: build (neighbours, pair summary, thumbnails,
projection) and save one offline page.

    python benchmarks/explorer_scale.py [--n 10000] [--identities 400] [--method pca] [--out /tmp/big.html]

Clustered random embeddings and synthetic 32 px faces; prints the seconds of each step, the number
of thumbnails and the page size. (The unit test builds the same 10^4-face page for its contents and
never times it.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--identities", type=int, default=400)
    ap.add_argument("--method", default="pca", choices=["pca", "umap", "tsne"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from facelab.plotting.explorer import explore_embeddings

    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(args.identities), -(-args.n // args.identities))[: args.n]
    emb = rng.normal(size=(args.identities, 64))[codes] + rng.normal(size=(args.n, 64))
    yy, xx = np.mgrid[0:32, 0:32]
    th = np.empty((args.n, 32, 32, 3), np.uint8)
    th[..., 0], th[..., 1] = (xx * 7 % 256)[None], (yy * 7 % 256)[None]
    th[..., 2] = (np.arange(args.n) % 256)[:, None, None]
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp()) / "explorer.html"

    t0 = time.perf_counter()
    ex = explore_embeddings(emb, codes.astype(str), thumbnails=th, method=args.method)
    t1 = time.perf_counter()
    ex.save(out)
    t2 = time.perf_counter()
    print(f"{args.n} faces, {args.identities} identities, {args.method} map: build {t1 - t0:.1f} s, "
          f"save {t2 - t1:.1f} s, total {t2 - t0:.1f} s; {ex.data.n_thumbnails} thumbnails at "
          f"{ex.data.thumb_size} px; page {out.stat().st_size / 1e6:.1f} MB ({out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
