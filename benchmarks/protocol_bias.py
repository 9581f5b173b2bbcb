"""The LFW protocol's optimistic bias, measured: threshold from nine folds vs from all pairs.

    python benchmarks/protocol_bias.py [--pairs-per-fold 600] [--detector dlib] [--no-flip]
                                       [--sizes 10 20 50 100 300 600] [--repeats 50]
                                       [--figure bias.png] [--out bias.json]

Embeds the images of ``pairs.txt`` with the pipeline (cached: after ``facelab lfw --detector dlib
--no-flip`` this costs nothing), scores the pairs as ``facelab lfw`` does (no face: scored -1),
then :func:`facelab.analysis.protocol.protocol_bias` (per fold: threshold from the other nine folds,
from all pairs, from the test fold itself) and :func:`facelab.analysis.protocol.bias_vs_pairs` (the bias
with fewer pairs per fold, ``--repeats`` random draws each), and ``streaming_roc`` over every pair
of the embedded images.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs-per-fold", type=int, default=600)
    ap.add_argument("--detector", default="dlib")
    ap.add_argument("--policy", default="central")
    ap.add_argument("--no-flip", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 50, 100, 300, 600])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--figure", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from facelab import verification as V
    from facelab.analysis.protocol import bias_vs_pairs, protocol_bias
    from facelab.data.datasets import LFW, pair_images
    from facelab.engine.pipeline import embed_images
    from facelab.plotting.experiments import BiasCurveDisplay, ProtocolBiasDisplay

    pairs = LFW().pairs("pairs")
    pairs = pairs.groupby(["fold", "same"], sort=False).head(args.pairs_per_fold // 2).reset_index(drop=True)
    t0 = time.perf_counter()
    res = embed_images(pair_images(pairs), detector=args.detector, policy=args.policy, flip=not args.no_flip)
    print(res.summary(), f"({time.perf_counter() - t0:.0f} s)")
    ls = V.lfw_pair_scores(pairs, res.embeddings, res.rows_of())
    b = protocol_bias(ls.scores, ls.same, ls.folds)
    print(f"{len(pairs)} pairs; images without a face: {ls.summary()['count']}")
    print(b.table().round(4).to_string(index=False))
    print({k: round(v, 5) for k, v in b.summary().items()})
    sizes = [s for s in args.sizes if s <= args.pairs_per_fold]
    curve = bias_vs_pairs(ls.scores, ls.same, ls.folds, pairs_per_fold=sizes, repeats=args.repeats)
    print(curve.round(5).to_string(index=False))
    t0 = time.perf_counter()
    st = V.streaming_roc(res.embeddings, np.asarray(res.identities))
    print(f"streaming_roc over every pair of the {len(res.embeddings)} embedded images: {st.n_pairs:,} pairs "
          f"({st.n_genuine:,} genuine), AUC {st.auc:.5f}, EER {st.eer:.5f} ({time.perf_counter() - t0:.1f} s); "
          f"protocol pairs: AUC {V.roc(ls.scores, ls.same).auc:.5f}, EER {V.eer(ls.scores, ls.same)[0]:.5f}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"summary": b.summary(), "folds": b.table().to_dict(orient="list"),
                       "curve": curve.to_dict(orient="list"),
                       "streaming": {"pairs": st.n_pairs, "auc": st.auc, "eer": st.eer}}, fh, indent=2)
    if args.figure:
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained")
        ProtocolBiasDisplay(b).plot(ax=axes[0])
        BiasCurveDisplay(curve).plot(ax=axes[1])
        fig.suptitle(f"LFW pairs.txt ({len(pairs)} pairs), dlib ResNet, {args.detector} detector"
                     f"{'' if args.no_flip else ', flip'}: threshold from 9 folds vs from the test pairs")
        fig.savefig(args.figure, dpi=90)


if __name__ == "__main__":
    main()
