"""``facelab cluster`` on a labelled folder, per model and algorithm: BCubed F, pairwise F, NMI, clusters, time.

Runs the command itself (``python -m facelab cluster DIR --out OUT/<model>-<algorithm> ...``) once per
combination, each in a fresh process, and prints a Markdown table from the ``metrics.json`` files it
wrote (the README's and the note's tables). Embeddings come from the cache (run ``facelab embed`` or one
cluster run first to fill it: the time column is then the clustering run with its page, the embedding
read back from the cache included).

    python benchmarks/cluster_table.py /tmp/teaching --out /tmp/cluster_runs/teaching
    python benchmarks/cluster_table.py ../shared/datasets/lfw/lfw-deepfunneled --out /tmp/cluster_runs/lfw \\
        --models dlib edgeface_xs --algorithms hdbscan chinese_whispers agglomerative

``--threshold MODEL=COS`` adds a run of the threshold algorithms at that cosine for that model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def run(dataset: str, out: Path, model: str, algorithm: str, threshold, extra: list) -> dict:
    name = f"{model}-{algorithm}" + (f"-{threshold}" if threshold is not None else "")
    cmd = [sys.executable, "-m", "facelab", "cluster", dataset, "--out", str(out / name), "--model", model,
           "--algorithm", algorithm, "--quiet", *extra]
    if threshold is not None:
        cmd += ["--threshold", str(threshold)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    m = json.loads((out / name / "metrics.json").read_text())
    m["wall"] = wall
    m["command"] = " ".join(["facelab"] + cmd[3:])
    return m


def row(m: dict) -> str:
    c, s = m["clustering"], m["scores"]
    sec = c["seconds"]
    thr = "—" if c["threshold"] is None else f"{c['threshold']:.4f}"
    return (f"| {m['model']} | {c['algorithm']} | {thr} | {s['bcubed_f']:.4f} ({s['bcubed_precision']:.3f} / "
            f"{s['bcubed_recall']:.3f}) | {s['pairwise_f']:.4f} | {s['nmi']:.4f} | {c['n_clusters']:,} "
            f"(+{c['n_unclustered']:,} alone) | {s['n_identities']:,} | {sec['cluster'] + sec['knn']:.1f} s | "
            f"{m['wall']:.0f} s |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dataset")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--models", nargs="+", default=["dlib", "edgeface_xs"])
    p.add_argument("--algorithms", nargs="+", default=["hdbscan", "chinese_whispers", "agglomerative"])
    p.add_argument("--threshold", action="append", default=[], metavar="MODEL=COS")
    p.add_argument("--no-explorer", action="store_true")
    args = p.parse_args(argv)
    extra = ["--no-explorer"] if args.no_explorer else []
    strict = {}
    for t in args.threshold:
        model, cos = t.split("=")
        strict.setdefault(model, []).append(float(cos))
    results = []
    for model in args.models:
        for algorithm in args.algorithms:
            results.append(run(args.dataset, args.out, model, algorithm, None, extra))
            print(row(results[-1]), flush=True)
            if algorithm != "hdbscan":
                for cos in strict.get(model, []):
                    results.append(run(args.dataset, args.out, model, algorithm, cos, extra))
                    print(row(results[-1]), flush=True)
    print("\n| model | algorithm | threshold (cosine) | BCubed F (P / R) | pairwise F | NMI | clusters | identities "
          "| clustering (k-NN + algorithm) | whole command |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for m in results:
        print(row(m))
    for m in results:
        print(f"  {m['command']}")
    (args.out / "table.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
