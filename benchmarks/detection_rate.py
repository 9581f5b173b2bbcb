"""Detection rate of each detector over the LFW images used by ``pairs.txt``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/detection_rate.py [--detector dlib mtcnn] [--limit N] [--out results.csv]

For each detector, prints the number of images, how many got a face (status ``ok``), how many
got none, how many errors, the rate, the share with more than one face, how many images the
"largest" and "central" multi-face policies disagree on, and the time taken.
With ``--out``, writes one row per (detector, image) with status and face count.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector", nargs="+", default=["dlib", "mtcnn"], choices=["dlib", "mtcnn"])
    parser.add_argument("--limit", type=int, default=None, help="only the first N images (a quick check)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (share the cores)")
    parser.add_argument("--out", default=None, help="per-image CSV")
    args = parser.parse_args(argv)

    import torch

    from facelab.data.datasets import LFW
    from facelab.stages.detection import choose_face, create_detector

    torch.set_num_threads(args.threads)
    images = LFW().pair_images()
    if args.limit:
        images = images.head(args.limit)
    rows, summary = [], []
    for detector in args.detector:
        det = create_detector(detector)
        t0 = time.perf_counter()
        results = det.detect_paths(list(images.path), progress=True)
        elapsed = time.perf_counter() - t0
        status = pd.Series([r.status.value for r in results])
        n_faces = pd.Series([len(r.faces) for r in results])
        # LFW centres the labelled person: how often would the "central" policy pick another face?
        differ = pd.Series([r.ok and choose_face(r.faces, r.image_size, "central") != r.chosen for r in results])
        summary.append(
            {
                "detector": detector,
                "images": len(results),
                "ok": int((status == "ok").sum()),
                "no_face": int((status == "no_face").sum()),
                "error": int((status == "error").sum()),
                "rate": float((status == "ok").mean()),
                "multi_face": float((n_faces > 1).mean()),
                "largest_not_central": int(differ.sum()),
                "seconds": round(elapsed, 1),
                "ms_per_image": round(1000 * elapsed / max(1, len(results)), 1),
            }
        )
        print(pd.DataFrame(summary[-1:]).to_string(index=False), flush=True)
        missed = [r.image for r in results if not r.ok]
        print(f"{detector}: {len(missed)} images without a face, e.g. {missed[:5]}", flush=True)
        rows += [
            {"detector": detector, "image": r.image, "status": r.status.value, "faces": len(r.faces), "reason": r.reason}
            for r in results
        ]
    print()
    print(pd.DataFrame(summary).to_string(index=False))
    if args.out:
        from facelab.core.atomic import atomic_write_text

        atomic_write_text(args.out, pd.DataFrame(rows).to_csv(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
