"""LFW's 10-fold protocol with an embedder's chips cut by another alignment preset.

``facelab lfw`` always aligns as the model expects (dlib: ``dlib150``, dlib's 5-point predictor
run inside the detector's box). This runs the same protocol, one descriptor, with the preset
overridden: how the dlib pipeline with YuNet was measured with YuNet's own five points on dlib's
chip (``dlib150_five``) instead of dlib's predictor::

    python benchmarks/lfw_preset.py --model dlib --detector yunet --preset dlib150_five --out r.json

The same pairs, images and metrics as ``facelab lfw --no-flip --policy central`` (pairs.txt, all
10 folds, missing pairs scored as mismatches); the embedding cache is not used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dlib")
    ap.add_argument("--detector", default="yunet")
    ap.add_argument("--preset", default="dlib150_five")
    ap.add_argument("--limit-folds", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import numpy as np

    from facelab import verification as V
    from facelab.data.datasets import LFW, pair_images
    from facelab.embedders import create_embedder
    from facelab.engine.pipeline import embed_images
    from facelab.stages.alignment import get_preset

    t0 = time.perf_counter()
    pairs = LFW().pairs("pairs")
    if args.limit_folds:
        pairs = pairs[pairs["fold"] < args.limit_folds].reset_index(drop=True)
    embedder = create_embedder(args.model)
    get_preset(args.preset)  # an unknown name fails before any work
    embedder.alignment = args.preset
    res = embed_images(pair_images(pairs), model=embedder, detector=args.detector, policy="central", flip=False,
                       cache=False, progress=False)
    print(res.summary(), file=sys.stderr)
    ok = res.embedded
    ls = V.lfw_pair_scores(pairs, res.embeddings, dict(zip(ok["image_id"].astype(str), ok["row"].astype(int))),
                           on_missing="worst")
    folds = ls.folds if np.unique(ls.folds).size >= 2 else None
    report = V.evaluate_verification(ls.scores, ls.same, folds=folds, id1=ls.name1, id2=ls.name2,
                                     calibration=res.calibration, n_boot=200, seed=0)
    d = report.to_dict()
    out = {"model": args.model, "detector": args.detector, "preset": args.preset, "n_pairs": int(len(pairs)),
           "no_face": ls.summary()["count"], "seconds": time.perf_counter() - t0, **d}
    print(json.dumps({k: out[k] for k in ("model", "detector", "preset", "n_pairs", "no_face", "seconds")}))
    tar3 = d["tar_at_far"].get("1e-3", {}).get("tar")
    print(f"accuracy {d['accuracy']:.4f} +- {d['accuracy_std'] or float('nan'):.4f}  AUC {d['auc']:.4f}  EER {d['eer']:.4f}  "
          f"TAR@FAR=1e-3 {tar3}  no face {out['no_face']}  {out['seconds']:.0f} s")
    if args.out:
        from facelab.core.atomic import atomic_write_text
        from facelab.core.jsonsafe import json_safe

        atomic_write_text(args.out, json.dumps(json_safe(out), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
