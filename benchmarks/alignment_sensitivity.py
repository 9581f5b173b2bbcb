"""Alignment sensitivity on real LFW pairs: verification against landmark shifts, rotations, scales.

    python benchmarks/alignment_sensitivity.py [--pairs 300] [--models dlib] [--mode one]
                                               [--out sensitivity.json] [--figure sensitivity.png]

Takes the first ``--pairs`` pairs of LFW's ``pairs.txt`` (half matched, half mismatched), detects
every image once with dlib's HOG (central face), then for each model and each perturbation level
moves the five landmarks (rotation about the eye centre, shift by a fraction of the inter-ocular
distance in a random direction per face, scale about the eye centre), re-aligns with the model's
preset, re-embeds and scores the pairs (:func:`facelab.analysis.sensitivity.alignment_sensitivity`).
Prints one table per kind; writes the tables as JSON and the figure (accuracy at the unperturbed
threshold and mean genuine cosine against each perturbation) as PNG.
"""

from __future__ import annotations

import argparse
import json
import time

KINDS = {"rotation": [0, 5, 10, 15, 20, 30, 45], "shift": [0, 0.05, 0.1, 0.2, 0.3, 0.4], "scale": [1, 1.1, 1.2, 1.35, 1.5]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--models", nargs="+", default=["dlib"])
    ap.add_argument("--mode", choices=["one", "both"], default="one")
    ap.add_argument("--out", default=None)
    ap.add_argument("--figure", default=None)
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from facelab.analysis.faces import detect_faces, lfw_pairs_subset
    from facelab.analysis.sensitivity import alignment_sensitivity
    from facelab.data.datasets import LFW
    from facelab.embedders import create_embedder
    from facelab.plotting.experiments import AlignmentSensitivityDisplay
    from facelab.verification import pair_images

    pairs = lfw_pairs_subset(LFW(), n_pairs=args.pairs)
    t0 = time.perf_counter()
    faces = detect_faces(pair_images(pairs), progress=True)
    print(f"{faces.summary()} ({time.perf_counter() - t0:.0f} s); {len(pairs)} pairs")
    results = {}
    for kind, levels in KINDS.items():
        results[kind] = []
        for m in args.models:
            t0 = time.perf_counter()
            r = alignment_sensitivity(faces, create_embedder(m), kind=kind, levels=levels, pairs=pairs, mode=args.mode)
            results[kind].append(r)
            print(f"\n{kind} ({r.unit}), model {r.model}, mode {r.mode}, {r.n_pairs_dropped} pairs dropped "
                  f"(no face), threshold {r.threshold:.4f}, {time.perf_counter() - t0:.0f} s")
            print(r.table.round(4).to_string(index=False))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({k: [{"model": r.model, "mode": r.mode, "unit": r.unit, "threshold": r.threshold,
                            "pairs_dropped": r.n_pairs_dropped, "table": r.table.to_dict(orient="list")} for r in rs]
                       for k, rs in results.items()}, fh, indent=2)
    if args.figure:
        fig, axes = plt.subplots(2, 3, figsize=(15, 8), layout="constrained")
        for col, rs in enumerate(results.values()):
            AlignmentSensitivityDisplay.from_results(rs, metric="accuracy", ax=axes[0, col])
            AlignmentSensitivityDisplay.from_results(rs, metric="genuine_mean", ax=axes[1, col])
        fig.suptitle(f"Alignment sensitivity on {len(pairs)} LFW pairs (pairs.txt), {args.mode} side perturbed")
        fig.savefig(args.figure, dpi=90)


if __name__ == "__main__":
    main()
