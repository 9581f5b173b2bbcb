"""``facelab verify``: verification metrics on a folder-per-identity dataset.

Also holds the printing helpers ``facelab lfw`` and ``facelab identify`` share (``emit``,
``report_text``, ``skipped_list``); their flags come from :mod:`facelab.commands._args`.
"""

from __future__ import annotations

from facelab.commands._args import (
    add_embedding_arguments,
    add_n_boot_argument,
    add_output_arguments,
    embed_kwargs,
    non_negative_int,
    positive_int,
)

HELP = "verification metrics on a folder-per-identity dataset"
DESCRIPTION = """\
Embed every image of DATASET/<identity>/<image>, score all genuine pairs and all (or a seeded
sample of) impostor pairs by cosine similarity, and report AUC, EER, the accuracy-best
threshold, TAR at FAR 1e-1..1e-4 (NaN with a reason when there are too few impostor pairs),
Youden's J and identity-level bootstrap confidence intervals. Thresholds are given on the three
scales: cosine similarity, squared distance (2 - 2 cos) and the model's calibrated score.
Images without an embedding are listed and left out of the pairs.

examples:
  facelab verify data/two_id
  facelab verify data/two_id --format json --out reports/two_id_verify.json
  facelab verify data/my_people --max-impostors 20000 --model ir_18 --weights w.pth
"""


def emit(args, result: dict, table_text: str) -> None:
    """Print ``result`` as JSON or ``table_text``; write JSON to ``--out`` when given."""
    import json

    from facelab.core.jsonsafe import json_safe

    text = json.dumps(json_safe(result), indent=2, allow_nan=False)
    if args.out:
        from facelab.core.atomic import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    print(text if args.format == "json" else table_text)
    if args.out and args.format != "json":
        print(f"wrote {args.out}")


def _fmt(x, spec=".4f") -> str:
    return "nan" if x is None else format(x, spec)


def report_text(report, *, header: str) -> str:
    """Human-readable verification summary plus the threshold table."""
    import pandas as pd

    d = report.to_dict()
    lines = [header]
    acc = f"accuracy {_fmt(d['accuracy'])}"
    if d["accuracy_std"] is not None:
        acc += f" ± {_fmt(d['accuracy_std'])}"
    lines.append(f"  {acc}   ({d['accuracy_protocol']})")
    lines.append(f"  AUC {_fmt(d['auc'])}   EER {_fmt(d['eer'])} at cosine {_fmt(d['eer_threshold'])}")
    lines.append(f"  best-accuracy threshold: cosine {_fmt(d['threshold'])}")
    for key, t in d["tar_at_far"].items():
        if t["tar"] is None:
            lines.append(f"  TAR@FAR={key}: n/a ({t['reason']})")
        else:
            lines.append(f"  TAR@FAR={key}: {t['tar']:.4f} at cosine {t['threshold']:.4f}")
    for k, ci in d["ci"].items():
        if ci["low"] is not None:
            lines.append(f"  {int(ci['level'] * 100)}% CI {k}: [{ci['low']:.4f}, {ci['high']:.4f}] "
                         f"(identity bootstrap, {ci['n_valid']} replicates)")
    if report.calibration is not None:
        lines.append("  " + report.calibration.describe())
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.4f}".format):
        lines.append("")
        tab = report.threshold_table().drop(columns=["CI low", "CI high"])
        tab["CI"] = ["" if ci is None else f"[{ci[0]:.4f}, {ci[1]:.4f}]" for ci in tab["CI"]]
        lines.append(tab.to_string())
    return "\n".join(lines)


def skipped_list(res) -> list:
    """Images without an embedding: ``[{"image": ..., "reason": ...}]``."""
    sk = res.skipped
    return [{"image": str(i), "reason": str(r)} for i, r in zip(sk["image"], sk["reason"])]


def add_arguments(parser) -> None:
    parser.add_argument("dataset", metavar="DATASET", help="folder with one sub-folder of images per identity")
    add_embedding_arguments(parser)
    parser.add_argument("--max-impostors", type=positive_int, default=None, metavar="N",
                        help="score a seeded sample of N impostor pairs instead of all of them")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the impostor sample and the bootstrap")
    add_n_boot_argument(parser)
    add_output_arguments(parser)


def run(args) -> int:
    import numpy as np

    from facelab import verification as V
    from facelab.core.errors import EvaluationError
    from facelab.engine.pipeline import embed_folder

    res = embed_folder(args.dataset, **embed_kwargs(args))
    if not args.quiet or args.format != "json":
        import sys

        print(res.summary(), file=sys.stderr)
    ids = np.asarray(res.identities)
    if ids.size == 0:
        raise EvaluationError(f"no image of {args.dataset} produced an embedding")
    pairs = V.make_pairs(ids, max_impostors=args.max_impostors, seed=args.seed)
    scores = V.pair_scores(res.embeddings, pairs)
    id1, id2 = pairs.identities(ids)
    report = V.evaluate_verification(scores, pairs.same, id1=id1, id2=id2, calibration=res.calibration,
                                     n_boot=args.n_boot, seed=args.seed)
    skipped = skipped_list(res)
    out = {
        "dataset": str(args.dataset),
        "model": res.model,
        "images": int(len(res.table)),
        "embedded": int(ids.size),
        "identities": int(np.unique(ids).size),
        "impostor_pairs_total": int(pairs.n_impostor_total),
        "impostor_sampling": (f"seeded sample of {pairs.n_impostor} (seed {args.seed})"
                              if pairs.n_impostor < pairs.n_impostor_total else "all"),
        **report.to_dict(),
        "skipped": {"count": len(skipped), "images": skipped,
                    "action": "left out of the pairs (no embedding)"},
    }
    if report.cis and out["identities"] < 5:
        out["ci_note"] = (f"only {out['identities']} identities: the identity bootstrap has almost nothing to "
                          "resample, so the intervals are not meaningful")
    header = (f"{args.dataset}: {ids.size} embedded images of {out['identities']} identities, "
              f"{report.n_genuine} genuine + {report.n_impostor} impostor pairs ({out['impostor_sampling']}), "
              f"model {res.model}")
    text = report_text(report, header=header)
    if "ci_note" in out:
        text += f"\n\nnote: {out['ci_note']}"
    if skipped:
        text += f"\n\n{len(skipped)} images without an embedding (left out):\n" + "\n".join(
            f"  {s['image']}: {s['reason']}" for s in skipped)
    emit(args, out, text)
    return 0
