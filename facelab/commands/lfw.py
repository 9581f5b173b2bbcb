"""``facelab lfw``: the standard 10-fold LFW verification benchmark."""

from __future__ import annotations

HELP = "the standard 10-fold LFW verification benchmark"
DESCRIPTION = """\
Embed the images of an LFW pairs protocol and score each pair by cosine similarity.
With pairs.txt (10 folds of 300 matched + 300 mismatched pairs) accuracy follows the LFW
protocol: for each fold the accuracy-best threshold is chosen on the other nine folds and
applied to the held-out fold; the mean and standard deviation over folds are reported, with
AUC, EER, TAR@FAR and identity-level bootstrap CIs over all pairs. pairsDevTrain/DevTest have a
single fold: accuracy is then the best threshold on the pairs themselves (optimistic).

Images where no face is found have no embedding. By default their pairs are scored -1 (the
lowest cosine: always decided "different person", so a genuine pair counts as an error), as LFW's
unrestricted results count detector failures; --missing drop leaves them out instead. Either way
they are listed in the output ("no_face").

examples:
  facelab lfw
  facelab lfw --format json --out reports/lfw_dlib.json
  facelab lfw --pairs devtest --model ir_18 --weights weights/backbone_ir18.pth
  facelab lfw --limit-folds 2            # a quick look at 2 folds (1,200 pairs)
  facelab lfw --detector dlib --no-flip  # the fast pipeline (about twice as fast, ~0.3 points lower)
"""


def add_arguments(parser) -> None:
    from facelab.commands._args import (
        add_embedding_arguments,
        add_n_boot_argument,
        add_output_arguments,
        add_scheduler_argument,
    )

    parser.add_argument("--root", default=None, metavar="PATH", help="LFW root (holding lfw-deepfunneled/, pairs.txt)")
    # The accurate pipeline by default (measured on all 6,000 pairs, see the README): MTCNN finds a
    # face in all but one of the 7,701 images (dlib HOG misses 40), flip averaging adds ~0.3 points,
    # and LFW centres the labelled person, where the largest face is sometimes a bystander.
    add_embedding_arguments(parser, policy="central", detector="mtcnn", flip=True)
    add_scheduler_argument(parser)
    parser.add_argument("--pairs", default="pairs", choices=["pairs", "devtest", "devtrain"],
                        help="protocol file: pairs.txt (10 folds, default), pairsDevTest.txt, pairsDevTrain.txt")
    parser.add_argument("--limit-folds", type=int, default=None, metavar="K", help="use only the first K folds")
    parser.add_argument("--missing", default="worst", choices=["worst", "drop"],
                        help="pairs with an image without embedding: score as a mismatch (default) or drop them")
    add_n_boot_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    add_output_arguments(parser)


def run(args) -> int:
    import sys

    import numpy as np

    from facelab import verification as V
    from facelab.commands._args import embed_kwargs
    from facelab.commands.verify import emit, report_text
    from facelab.datasets import LFW
    from facelab.errors import EvaluationError
    from facelab.pipeline import embed_images

    lfw = LFW(args.root)
    pairs = lfw.pairs(args.pairs)
    n_folds = int(pairs["fold"].nunique())
    if args.limit_folds is not None:
        if args.limit_folds < 1:
            raise EvaluationError("--limit-folds must be at least 1")
        pairs = pairs[pairs["fold"] < args.limit_folds].reset_index(drop=True)
    images = V.pair_images(pairs)
    res = embed_images(images, **embed_kwargs(args))
    print(res.summary(), file=sys.stderr)
    ok = res.embedded
    id_to_row = dict(zip(ok["image_id"].astype(str), ok["row"].astype(int)))
    emb = res.embeddings if len(res.embeddings) else np.zeros((0, 1), np.float32)
    ls = V.lfw_pair_scores(pairs, emb, id_to_row, on_missing=args.missing)
    folds = ls.folds if np.unique(ls.folds).size >= 2 else None
    report = V.evaluate_verification(ls.scores, ls.same, folds=folds, id1=ls.name1, id2=ls.name2,
                                     calibration=res.calibration, n_boot=args.n_boot, seed=args.seed)
    no_face = ls.summary()
    reasons = res.table.set_index("image_id")
    no_face["reasons"] = {i: f"{reasons.at[i, 'status']}: {reasons.at[i, 'reason']}"
                          for i in ls.images_without_embedding if i in reasons.index}
    out = {
        "benchmark": "LFW",
        "protocol": {"file": args.pairs, "folds_used": int(np.unique(ls.folds).size), "folds_in_file": n_folds,
                     "n_pairs": int(len(pairs))},
        "root": str(lfw.root),
        "model": res.model,
        "images": int(len(images)),
        **report.to_dict(),
        "no_face": no_face,
    }
    header = (f"LFW {args.pairs} ({out['protocol']['folds_used']} folds, {len(pairs)} pairs), model {res.model}")
    text = report_text(report, header=header)
    text += (f"\n\nimages without embedding: {no_face['count']} ({no_face['pairs_affected']} pairs, "
             f"{no_face['genuine_pairs_affected']} genuine): {no_face['action']}")
    for img, why in list(no_face["reasons"].items())[:20]:
        text += f"\n  {img}: {why}"
    if no_face["count"] > 20:
        text += f"\n  ... and {no_face['count'] - 20} more (see --format json)"
    emit(args, out, text)
    return 0
