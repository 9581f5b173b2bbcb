"""All-pairs verification at LFW scale: time and peak memory of scoring every pair + ROC/AUC/EER.

    python benchmarks/pair_scale.py [--sizes 1000 4000 8000 13233] [--exact-max 8000]
                                    [--bins 65536] [--embeddings lfw.npz] [--seed 0]

For each set size N (LFW images, so LFW's identity labels and its genuine/impostor mix), scores
all N (N - 1) / 2 pairs and computes the ROC, AUC and EER two ways, each in a fresh child process
whose peak memory (``ru_maxrss``) is reported:

* ``exact``: :func:`facelab.verification.all_pair_scores` (every score, label and index in
  memory) then :func:`~facelab.verification.roc` and :func:`~facelab.verification.eer`
  (scikit-learn sorts all scores) -- only up to ``--exact-max`` images;
* ``streaming``: :func:`facelab.verification.streaming_roc` -- row blocks scored and binned into
  genuine / impostor histograms of ``--bins`` bins over [-1, 1]; memory does not grow with the
  number of pairs.

Embeddings: ``--embeddings`` (a ``.json``/``.npz`` file of :func:`facelab.embedders.files.write_embeddings`
whose ids are LFW image ids such as ``Aaron_Eckhart_0001``) or, by default, synthetic 128-d unit
vectors with LFW's identity labels (one random centre per identity plus noise, so the ROC is not
trivial; the cost of scoring does not depend on the values). Embedding all 13,233 LFW photos with
dlib takes about 25 minutes on 2 cores, hence the synthetic default.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def load_set(n: int, seed: int, embeddings_file=None):
    """``(embeddings (n, D) float32, identities)`` for ``n`` LFW images (all when n >= 13,233)."""
    from facelab.data.datasets import LFW

    imgs = LFW().images().reset_index(drop=True)
    if embeddings_file:
        from facelab.embedders.files import read_embeddings

        ids, emb = read_embeddings(embeddings_file)
        known = dict(zip(imgs.image_id, imgs.identity))
        keep = [k for k, i in enumerate(ids) if i in known]
        ids, emb = [ids[k] for k in keep], np.asarray(emb)[keep]
        ident = np.array([known[i] for i in ids])
    else:
        rng = np.random.default_rng(seed)
        ident = imgs.identity.to_numpy()
        names, codes = np.unique(ident, return_inverse=True)
        centres = rng.normal(size=(len(names), 128))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        noise = rng.normal(size=(len(ident), 128))
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        emb = 0.55 * centres[codes] + 0.85 * noise  # genuine cosine ~0.3, impostor ~0
    if n < len(ident):
        take = np.sort(np.random.default_rng(seed).choice(len(ident), size=n, replace=False))
        emb, ident = np.asarray(emb)[take], ident[take]
    emb = np.asarray(emb, dtype=np.float32)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True), list(ident)


def child(method: str, n: int, seed: int, bins: int, embeddings_file, out: str) -> int:
    import sklearn.metrics  # noqa: F401  (imported before the clock and the memory baseline)

    from facelab import verification as V

    emb, ident = load_set(n, seed, embeddings_file)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    if method == "exact":
        s, y, _, _ = V.all_pair_scores(emb, ident)
        t1 = time.perf_counter()
        r = V.roc(s, y)
        e, et = V.eer(s, y)
        res = {"auc": r.auc, "eer": e, "eer_threshold": et, "pairs": int(s.size), "genuine": int(y.sum())}
    else:
        r = V.streaming_roc(emb, ident, bins=bins)
        t1 = time.perf_counter()
        res = {"auc": r.auc, "eer": r.eer, "eer_threshold": r.eer_threshold, "pairs": r.n_pairs, "genuine": r.n_genuine}
    t2 = time.perf_counter()
    res.update(n=len(ident), method=method, score_s=t1 - t0, roc_s=t2 - t1, total_s=t2 - t0, base_mb=base,
               peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    Path(out).write_text(json.dumps(res))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 8000, 13233])
    ap.add_argument("--exact-max", type=int, default=8000, help="largest N for the in-memory exact path")
    ap.add_argument("--bins", type=int, default=65536)
    ap.add_argument("--embeddings", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.n, args.seed, args.bins, args.embeddings, args.out)

    src = args.embeddings or "synthetic 128-d unit vectors with LFW identity labels"
    print(f"embeddings: {src}; bins {args.bins}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}",
          flush=True)
    head = (f"{'N':>6} {'pairs':>11} {'genuine':>8} {'method':>9} {'score s':>8} {'roc s':>6} {'total s':>8} "
            f"{'peak MB':>8} {'(data MB)':>9} {'AUC':>8} {'EER':>7}")
    print(head + "\n" + "-" * len(head), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            for method in ("exact", "streaming"):
                if method == "exact" and n > args.exact_max:
                    continue
                out = os.path.join(tmp, f"{method}-{n}.json")
                cmd = [sys.executable, __file__, "--child", method, "--n", str(n), "--seed", str(args.seed),
                       "--bins", str(args.bins), "--out", out]
                if args.embeddings:
                    cmd += ["--embeddings", args.embeddings]
                subprocess.run(cmd, check=True)
                r = json.loads(Path(out).read_text())
                rows.append(r)
                print(f"{r['n']:>6} {r['pairs']:>11,} {r['genuine']:>8,} {method:>9} {r['score_s']:8.2f} {r['roc_s']:6.2f} "
                      f"{r['total_s']:8.2f} {r['peak_mb']:8.0f} {r['base_mb']:9.0f} {r['auc']:8.5f} {r['eer']:7.5f}",
                      flush=True)
    by = {(r["n"], r["method"]): r for r in rows}
    for n in args.sizes:
        a, b = by.get((n, "exact")), by.get((n, "streaming"))
        if a and b:
            print(f"N={a['n']}: streaming - exact: AUC {b['auc'] - a['auc']:+.2e}, EER {b['eer'] - a['eer']:+.2e}, "
                  f"EER threshold {b['eer_threshold'] - a['eer_threshold']:+.2e}; "
                  f"{a['total_s'] / b['total_s']:.1f}x faster, peak {a['peak_mb']:.0f} -> {b['peak_mb']:.0f} MB")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
