"""``facelab identify``: 1:N identification metrics on a folder-per-identity dataset."""

from __future__ import annotations

HELP = "1:N identification metrics on a folder-per-identity dataset"
DESCRIPTION = """\
Embed DATASET/<identity>/<image>, enrol --gallery-size images of each identity (a seeded random
choice) and search every other image against the gallery. A probe is accepted as the identity of
its best match (max cosine over that identity's gallery images) when the match scores at least
the threshold, otherwise it is "unknown". Identities with no more images than the gallery size are
not enrolled: their images are distractor probes (they should be rejected). Reported, averaged
over --repeats seeded splits:

  precision = correct identifications / probes accepted as someone
  recall    = correct identifications / probes of enrolled people (mated probes)
  accuracy  = (correct identifications + rejected distractors) / all probes
  FNIR = 1 - recall,  FPIR = accepted distractors / distractor probes,  rank-1 (closed set)

The threshold defaults to the model calibration's decision threshold, converted to cosine.

examples:
  facelab identify data/two_id
  facelab identify data/my_people --gallery-size 3 --threshold 0.45 --repeats 10 --format json
  facelab identify data/my_people --threshold 0.6 --threshold-scale score
"""


def add_arguments(parser) -> None:
    from facelab.commands._args import (
        add_distractors_argument,
        add_embedding_arguments,
        add_output_arguments,
        add_scheduler_argument,
        finite_float,
        fraction,
        non_negative_int,
        positive_int,
    )
    from facelab.core.calibration import SCALES

    parser.add_argument("dataset", metavar="DATASET", help="folder with one sub-folder of images per identity")
    add_embedding_arguments(parser)
    add_scheduler_argument(parser)
    parser.add_argument("--gallery-size", type=positive_int, default=1, metavar="K", help="enrolment images per identity (default 1)")
    parser.add_argument("--threshold", type=finite_float, default=None, metavar="T",
                        help="open-set threshold (default: the model calibration's, as cosine)")
    parser.add_argument("--threshold-scale", default="cosine", choices=list(SCALES),
                        help="scale of --threshold: cosine similarity (default), squared distance, calibrated score")
    parser.add_argument("--repeats", type=positive_int, default=5, metavar="R", help="seeded splits to average (default 5)")
    parser.add_argument("--distractor-fraction", type=fraction, default=0.0, metavar="F",
                        help="also hold out this fraction of identities as distractors (default 0)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the first split")
    parser.add_argument("--name", default=None, help="row name in the table (default: the dataset folder's name)")
    add_distractors_argument(parser)
    add_output_arguments(parser)


def run(args) -> int:
    import sys
    from pathlib import Path

    import numpy as np

    from facelab.commands._args import embed_kwargs
    from facelab.commands.verify import emit, skipped_list
    from facelab.core.calibration import check_threshold
    from facelab.core.errors import EvaluationError
    from facelab.engine.pipeline import embed_folder
    from facelab.identification.evaluate import evaluate_identification, format_reference, identification_table

    if args.threshold is not None:  # before anything is embedded
        check_threshold(args.threshold, args.threshold_scale)
    res = embed_folder(args.dataset, **embed_kwargs(args))
    print(res.summary(), file=sys.stderr)
    ids = np.asarray(res.identities)
    if ids.size == 0:
        raise EvaluationError(f"no image of {args.dataset} produced an embedding")
    cal = res.calibration
    if args.threshold is None:
        thr = cal.cosine_threshold
        source = f"calibration threshold {cal.threshold:.2f} ({cal.source or 'model'})"
    else:
        thr = cal.to_cosine(args.threshold, args.threshold_scale)
        source = f"--threshold {args.threshold} ({args.threshold_scale})"
    r = evaluate_identification(res.embeddings, ids, threshold=thr, k=args.gallery_size, repeats=args.repeats,
                                seed=args.seed, distractor_fraction=args.distractor_fraction)
    name = f"{args.name or Path(args.dataset).resolve().name}(1:{r.n_enrolled})"
    table = identification_table({name: r})  # the result above, not a second evaluation
    skipped = skipped_list(res)
    scales = cal.scales(thr)
    out = {
        "dataset": str(args.dataset),
        "name": name,
        "model": res.model,
        "embedded": int(ids.size),
        "identities": int(np.unique(ids).size),
        "threshold_scales": scales,
        "threshold_source": source,
        **r.to_dict(),
        "reference_line": format_reference(table),
        "skipped": {"count": len(skipped), "images": skipped, "action": "left out (no embedding)"},
    }
    m, s = r.mean, r.std

    def pm(key):
        v = m[key]
        return "n/a" if not np.isfinite(v) else f"{v:.4f} ± {s[key]:.4f}"

    text = "\n".join([
        format_reference(table),
        "",
        f"{name}: {r.n_enrolled} enrolled identities, gallery {args.gallery_size} per identity, "
        f"{r.runs[0].n_probes} probes ({r.runs[0].n_distractors} distractors), {args.repeats} repeats, model {res.model}",
        f"  threshold: cosine {scales['cosine']:.4f} = distance {scales['distance']:.4f} = score {scales['score']:.4f}"
        f"  [{source}]",
        f"  precision {pm('precision')}   recall {pm('recall')}   accuracy {pm('accuracy')}",
        f"  rank-1 {pm('rank1')}   FNIR {pm('fnir')}   FPIR {pm('fpir')}"
        + ("  (no distractor probes)" if r.runs[0].n_distractors == 0 else ""),
    ])
    if skipped:
        text += f"\n\n{len(skipped)} images without an embedding (left out):\n" + "\n".join(
            f"  {x['image']}: {x['reason']}" for x in skipped)
    if args.distractors:
        from facelab.identification.distractors import distractor_report

        curve, curve_text = distractor_report(res.embeddings, ids, args.distractors, threshold=thr, k=args.gallery_size,
                                              seed=args.seed, distractor_fraction=args.distractor_fraction)
        out["distractor_curve"] = curve.table.to_dict("records")
        text += "\n\n" + curve_text
    emit(args, out, text)
    return 0
