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
  facelab lfw --model edgeface_xs --no-flip   # EdgeFace-XS, YuNet, one descriptor (99.50%)
  facelab lfw --detector dlib --no-flip  # dlib's HOG and its predictors, one descriptor (98.63%)
  facelab lfw --model dlib --model edgeface_xs --no-flip   # two models on the same pairs, paired difference
  facelab lfw --model edgeface_xs --detector yunet --detector mtcnn --no-flip   # two detectors, paired difference
  facelab lfw --model dlib --model edgeface_xs --model dlib+edgeface_xs --no-flip   # and their score fusion

Several --model: a row per model on the same pairs (same images; each model with its own
detector -- YuNet, or without its file dlib HOG for dlib and MTCNN for EdgeFace -- unless --detector is
given), then for each
two models the paired difference of the 10 fold accuracies (mean, std and a
t-interval over the folds) and identity-resampled paired bootstrap intervals of the differences in
AUC, EER and TAR@FAR=1e-3. A model "A+B" fuses the calibrated scores of A and B by logistic
regression fitted on pairsDevTrain.txt only (its images are embedded too); where one of them has
no face in a pair, it gives no evidence (calibrated score 0.5) and the other decides.
"""


def add_arguments(parser) -> None:
    from facelab.commands._args import (
        add_embedding_arguments,
        add_n_boot_argument,
        add_output_arguments,
        add_scheduler_argument,
        non_negative_int,
        positive_int,
    )

    parser.add_argument("--root", default=None, metavar="PATH", help="LFW root (holding lfw-deepfunneled/, pairs.txt)")
    # Each model's own detector by default (YuNet: measured on all 6,000 pairs, see the README; it finds
    # a face in all 7,701 images), flip averaging, and the central face: LFW centres the labelled
    # person, where the largest face is sometimes a bystander.
    add_embedding_arguments(parser, policy="central", detector=None, flip=True, multiple=True)
    add_scheduler_argument(parser)
    parser.add_argument("--pairs", default="pairs", choices=["pairs", "devtest", "devtrain"],
                        help="protocol file: pairs.txt (10 folds, default), pairsDevTest.txt, pairsDevTrain.txt")
    parser.add_argument("--limit-folds", type=positive_int, default=None, metavar="K", help="use only the first K folds")
    parser.add_argument("--missing", default="worst", choices=["worst", "drop"],
                        help="pairs with an image without embedding: score as a mismatch (default) or drop them")
    add_n_boot_argument(parser)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="bootstrap seed")
    add_output_arguments(parser)


def run(args) -> int:
    import sys

    from facelab import verification as V
    from facelab.analysis.models import lfw_protocol_pairs, lfw_scores
    from facelab.commands._args import embed_kwargs, model_list
    from facelab.commands.verify import emit, report_text
    from facelab.core.errors import FacelabError
    from facelab.data.datasets import LFW, pair_images
    from facelab.engine.pipeline import embed_images

    lfw = LFW(args.root)
    pairs, n_folds = lfw_protocol_pairs(lfw, args.pairs, limit_folds=args.limit_folds)
    models = model_list(args)
    detectors = list(args.detector or [])
    dup = sorted({d for d in detectors if detectors.count(d) > 1})
    if dup:
        raise FacelabError(f"--detector given twice: {', '.join(dup)}")
    if len(models) > 1 or "+" in models[0] or len(detectors) > 1:
        args.detector = detectors if len(detectors) > 1 else (detectors[0] if detectors else None)
        return _run_multi(args, lfw, pairs, n_folds, models)
    args.model = models[0]
    args.detector = detectors[0] if detectors else None
    images = pair_images(pairs)
    res = embed_images(images, **embed_kwargs(args))
    print(res.summary(), file=sys.stderr)
    ls = lfw_scores(res, pairs, on_missing=args.missing)
    folds = ls.folds if len(set(ls.folds.tolist())) >= 2 else None
    report = V.evaluate_verification(ls.scores, ls.same, folds=folds, id1=ls.name1, id2=ls.name2,
                                     calibration=res.calibration, n_boot=args.n_boot, seed=args.seed)
    no_face = ls.summary()
    reasons = res.table.set_index("image_id")
    no_face["reasons"] = {i: f"{reasons.at[i, 'status']}: {reasons.at[i, 'reason']}"
                          for i in ls.images_without_embedding if i in reasons.index}
    out = {
        "benchmark": "LFW",
        "protocol": {"file": args.pairs, "folds_used": len(set(ls.folds.tolist())), "folds_in_file": n_folds,
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


def _run_multi(args, lfw, pairs, n_folds, models) -> int:
    """Several models on the same pairs: :func:`facelab.analysis.models.compare_on_lfw`, printed."""
    import sys

    from facelab.analysis.models import compare_on_lfw
    from facelab.commands._args import embed_kwargs
    from facelab.commands.verify import emit
    from facelab.core.errors import EvaluationError

    if args.weights:
        raise EvaluationError("--weights names one model's file: give it with a single --model")
    kw = {k: v for k, v in embed_kwargs(args).items() if k not in ("model", "weights", "detector")}
    cmp = compare_on_lfw(lfw, models, pairs=pairs, protocol=args.pairs, folds_in_file=n_folds, missing=args.missing,
                         detector=args.detector, n_boot=args.n_boot, seed=args.seed, **kw)
    for res in [*cmp.results.values(), *cmp.train_results.values()]:
        print(res.summary(), file=sys.stderr)
    out = cmp.to_dict()
    emit(args, out, _multi_text(args, out))
    return 0


def _num(x, spec: str = ".4f") -> str:
    return "—" if x is None else format(x, spec)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def _multi_text(args, out) -> str:
    import pandas as pd

    p = out["protocol"]
    lines = [f"LFW {args.pairs} ({p['folds_used']} folds, {p['n_pairs']} pairs), {len(out['models'])} models "
             "on the same pairs", ""]
    table = pd.DataFrame([{
        "model": r["model"], "accuracy": _pct(r["accuracy"]),
        "± std": "—" if r["accuracy_std"] is None else f"{100 * r['accuracy_std']:.2f}",
        "AUC": f"{r['auc']:.4f}", "EER": _pct(r["eer"]),
        "TAR@FAR=1e-3": "—" if (r["tar_at_far"] or {}).get("1e-3", {}).get("tar") is None
        else f"{r['tar_at_far']['1e-3']['tar']:.4f}",
        "no face": r["no_face"]["count"] if "no_face" in r else "(fused)",
    } for r in out["models"]])
    lines.append(table.to_string(index=False))
    for r in out["models"]:
        if "fusion" in r:
            f = r["fusion"]
            lines.append(f"\nfusion {r['model']}: logit = {f['intercept']:.3f} + "
                         + " + ".join(f"{c:.3f}·logit({m})" for m, c in zip(f["models"], f["coef"]))
                         + f"  (fitted on {f['source']})")
    for c in out["comparison"]:
        lines.append(f"\n{c['a']} − {c['b']}:")
        ad = c.get("accuracy_difference")
        if ad:
            lines.append(f"  accuracy difference over {ad['n_folds']} folds: {100 * ad['mean']:+.2f} ± "
                         f"{100 * ad['std']:.2f} points, {int(ad['level'] * 100)}% t-interval "
                         f"[{100 * ad['t_low']:+.2f}, {100 * ad['t_high']:+.2f}]")
        for m, d in c.get("paired_bootstrap", {}).items():
            lines.append(f"  {m}: {_num(d['a'])} vs {_num(d['b'])}, difference {_num(d['difference'], '+.4f')}, "
                         f"paired bootstrap {int(d['level'] * 100)}% [{_num(d['low'], '+.4f')}, "
                         f"{_num(d['high'], '+.4f')}] ({d['n_valid']} replicates)")
    return "\n".join(lines)
