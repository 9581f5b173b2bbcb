"""``facelab report``: the full evaluation report."""

from __future__ import annotations

HELP = "the full evaluation report (HTML + metrics.json) on a folder-per-identity dataset"
DESCRIPTION = """\
Run the whole pipeline (landmarks, alignment, embeddings, verification, identification, UMAP) on a
folder-per-identity dataset and write a self-contained report:

  <out>/index.html  metrics.json  figures/*.png  pair_scores.csv  face_embeddings.json  skipped.csv

With no DATASET, the default two-ID set (data/two_id, built from LFW if missing).

Several --model: one report comparing them on the same images (each with its own detector unless
--detector is given): a summary row per model, ROC and DET overlaid, per-model score
distributions and thresholds, the UMAP maps side by side, the pairs where they disagree, and
paired statistics (identity-resampled bootstrap of the differences, McNemar's test).

--distractors PATH: embeddings of people who are not enrolled (as facelab identify --distractors:
.json/.npz or a Parquet store folder), made with the report's model. The report adds the
MegaFace-style curve: rank-1, FNIR and FPIR as 10, 100, ... of them join the gallery (a section,
distractor_curve.csv, a "distractors" block in metrics.json). With several --model, the curve of
each model that made them (a store records the model; a .json/.npz file only its dimension);
the others are listed with the reason. Made by another model: an error.

examples:
  facelab report
  facelab report data/two_id --model dlib --model edgeface_xs
  facelab embed data/strangers --store data/strangers.store --policy central
  facelab report data/two_id --distractors data/strangers.store
"""


def add_arguments(parser) -> None:
    from facelab.commands._args import (
        add_detector_arguments,
        add_device_argument,
        add_distractors_argument,
        add_model_arguments,
        add_n_boot_argument,
        add_quiet_argument,
        add_scheduler_argument,
        non_negative_int,
        output_folder,
        positive_int,
    )

    parser.add_argument("dataset", nargs="?", help="<dataset>/<identity>/<images> (default: the two-ID set)")
    add_model_arguments(parser, multiple=True)
    add_detector_arguments(parser, detector=None, policy="central")
    add_device_argument(parser)
    add_scheduler_argument(parser)
    parser.add_argument("--out", type=output_folder, help="output folder (default: reports/<dataset>-<model>-<date>/)")
    parser.add_argument("--max-impostors", type=non_negative_int, default=200_000,
                        help="cap on impostor pairs, a seeded sample (default 200000; 0 = all)")
    add_n_boot_argument(parser, default=500)
    add_distractors_argument(parser)
    parser.add_argument("--gallery-size", type=positive_int, default=1, help="1:N: images enrolled per identity")
    parser.add_argument("--no-thumbnails", action="store_true", help="plain points in the UMAP figure")
    parser.add_argument("--static", action="store_true",
                        help="a static page only (no interactive explorer, ROC/DET or sortable tables)")
    parser.add_argument("--notebooks", action="store_true",
                        help="also execute the notebook series on this dataset/model into <out>/notebooks/")
    add_quiet_argument(parser)


def run(args) -> int:
    from facelab.commands._args import model_list, scheduler_of
    from facelab.report import build_report

    models = model_list(args)
    res = build_report(
        args.dataset, models=models, weights=args.weights, detector=args.detector, policy=args.policy, out=args.out,
        max_impostors=args.max_impostors or None, n_boot=args.n_boot, gallery_size=args.gallery_size,
        thumbnails=not args.no_thumbnails, progress=not args.quiet, device=args.device, scheduler=scheduler_of(args),
        interactive=not args.static, distractors=args.distractors,
    )
    m = res.metrics
    d, v, i = m["dataset"], m["verification"], m["identification"]
    print(f"dataset: {d['path']}: {d['images']} images, {d['identities']} identities, "
          f"{d['embedded']} faces embedded, {len(d['skipped'])} skipped")
    for s in d["skipped"]:
        print(f"  skipped {s['image']}: {s['reason']}")
    print(f"verification: AUC {v['auc']:.4f}  EER {v['eer']:.4f}  accuracy at the model threshold "
          f"{v['operating_point']['accuracy']:.4f}")
    print(f"identification: {i['reference_format']}  (rank-1 {i['rank1']:.4f})")
    for name, mm in m.get("models", {}).items():
        vv, ii = mm["verification"], mm["identification"]
        print(f"  {name}: AUC {vv['auc']:.4f}  EER {vv['eer']:.4f}  accuracy at its threshold "
              f"{vv['operating_point']['accuracy']:.4f}  rank-1 {ii['rank1']:.4f}")
    for c in m.get("comparison", []):
        mc = c["mcnemar"]
        print(f"  {c['a']} vs {c['b']}: {c['pairs']} common pairs, McNemar {mc['n_discordant']} discordant, "
              f"p = {mc['p_value']:.4g}; at their own thresholds they disagree on {c['disagreements']['pairs']} pairs")
    dis = m.get("distractors")
    if dis:
        for name, d in dis["models"].items():
            last = d["curve"][-1]
            print(f"distractors ({name}): {d['n_distractors']:,} from {dis['file']['path']}: rank-1 "
                  f"{d['curve'][0]['rank1']:.4f} -> {last['rank1']:.4f}, FNIR {d['curve'][0]['fnir']:.4f} -> "
                  f"{last['fnir']:.4f}")
        for x in dis["not_computed"]:
            print(f"distractors ({x['model']}): no curve: {x['reason']}")
    if args.notebooks:
        from facelab.course.notebooks import run_series

        params = {"DATASET": d["path"], "MODEL": models[0]}
        written = run_series(res.out_dir / "notebooks", parameters=params)
        print(f"notebooks: {len(written)} executed into {res.out_dir / 'notebooks'}")
    print(f"report: {res.index}")
    return 0
