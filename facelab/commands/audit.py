"""``facelab audit``: which labels of a folder-per-identity dataset look wrong."""

from __future__ import annotations

from facelab.commands._args import (
    IntAtLeast,
    add_embedding_arguments,
    add_scheduler_argument,
    embed_kwargs,
    finite_float,
    non_negative_int,
    output_folder,
    positive_int,
)

HELP = "ranked candidates for mislabelled photos, near-duplicates and outliers of a dataset"
DESCRIPTION = """\
Embed every photo of a folder-per-identity dataset (DATASET/<identity>/<image>) and rank the photos
whose label looks wrong, by the embeddings alone:

  duplicate across identities  a near-duplicate of a photo of another identity (one photo, two names)
  mislabel                     closer to another identity than to its own and to any other, by a margin
  duplicate within identity    a near-duplicate of another photo of its own identity (counted twice)
  wrong face                   a candidate whose photo holds another face that matches its label: the
                               wrong face was used, the label is probably right (checked by embedding
                               every face of the candidates' multi-face photos, and only those)
  outlier                      far from its own identity (often the wrong face of a group photo)

A face is compared with the mean cosine of its --k nearest faces of each identity (itself and its
near-duplicates left out). The levels are the model's: its calibrated threshold, a margin of one unit
of its calibrated log-odds, and a near-duplicate level measured for it (benchmarks/duplicate_level.py);
each can be given. Every row has a score and its reason. A candidate is a question for a person: the
page shows each one beside faces of its labelled identity and of the identity it resembles.

OUT gets (atomically): audit.csv (every candidate, ranked), duplicates.csv, faces.csv (every face's
evidence), skipped.csv (photos without a face, with the reason), metrics.json and index.html, an
offline page with the first --top candidates and the embedding explorer coloured by flag.

examples:
  facelab audit data/teaching --out teaching_audit
  facelab audit /data/lfw/lfw-deepfunneled --model edgeface_xs --out lfw_audit --no-explorer
"""


def add_arguments(parser) -> None:
    from facelab.analysis.audit import DEFAULT_K
    from facelab.report.audit_page import PER_IDENTITY, TOP

    parser.add_argument("dataset", metavar="DATASET", help="folder with one sub-folder of images per identity")
    parser.add_argument("--out", type=output_folder, default=None, metavar="OUT",
                        help="folder for audit.csv, index.html and the rest (replaced; default "
                             "reports/<dataset>-audit-<model>-<date>/)")
    parser.add_argument("--k", type=IntAtLeast(1), default=DEFAULT_K, metavar="K",
                        help=f"nearest faces of an identity averaged (default {DEFAULT_K})")
    parser.add_argument("--threshold", type=finite_float, default=None, metavar="COS",
                        help="cosine at or above which two faces pass for one person (default: the model's "
                             "calibrated threshold)")
    parser.add_argument("--margin", type=finite_float, default=None, metavar="COS",
                        help="how far (cosine) a mislabel's other identity must stand out above its own and every "
                             "other (default: one unit of the model's calibrated log-odds)")
    parser.add_argument("--duplicate-level", type=finite_float, default=None, metavar="COS",
                        help="cosine at or above which two faces are near-duplicates (default: measured for the "
                             "model, see benchmarks/duplicate_level.py)")
    parser.add_argument("--top", type=non_negative_int, default=TOP, metavar="N",
                        help=f"candidates shown on the page (default {TOP}; all are in audit.csv)")
    parser.add_argument("--per-identity", type=positive_int, default=PER_IDENTITY, metavar="N",
                        help=f"faces shown per identity beside a candidate (default {PER_IDENTITY})")
    parser.add_argument("--no-explorer", action="store_true", help="leave the interactive explorer out of the page")
    add_embedding_arguments(parser, policy="central", detector=None)
    add_scheduler_argument(parser)


def run(args) -> int:
    import datetime as _dt
    import time
    from dataclasses import replace
    from pathlib import Path

    from facelab.core.errors import EvaluationError, FacelabError

    t0 = time.perf_counter()
    from facelab.data.datasets import read_identity_folders, repo_root

    ds = read_identity_folders(args.dataset)
    if args.out is None:
        args.out = str(repo_root() / "reports" / f"{Path(args.dataset).resolve().name}-audit-"
                       f"{Path(str(args.model)).stem}-{_dt.date.today().isoformat()}")
    src, out = Path(args.dataset).resolve(), Path(args.out).resolve()
    if out == src or src in out.parents or out in src.parents:
        raise FacelabError(f"--out {args.out} would replace the dataset (or sit inside it); give a folder outside it")
    if ds.images.empty:
        raise EvaluationError(f"{args.dataset}: no photo in any of its {len(ds.empty_identities)} identity folders "
                              f"({len(ds.skipped)} other files skipped): nothing to audit")
    with_photos = sorted(set(ds.images.identity))
    if len(with_photos) < 2:
        raise EvaluationError(f"{args.dataset}: every photo is of one identity ({ds.names.get(with_photos[0], with_photos[0])}"
                              "): an audit judges each photo against its own identity and the others; give a "
                              "folder with two or more identity folders")
    if args.detector is None:
        from facelab.models.weights import default_detector

        args.detector = default_detector(args.model)
    from facelab.analysis.audit import audit_result
    from facelab.analysis.audit_faces import check_other_faces
    from facelab.engine.pipeline import embed_images
    from facelab.report.audit_page import write_audit
    from facelab.stages.detection import EVERY_FACE

    print(f"{args.dataset}: {len(ds.images):,} photos of {len(with_photos):,} identities"
          + (f"; {len(ds.skipped)} other files skipped" if len(ds.skipped) else ""))
    res = embed_images(ds.images, **embed_kwargs(args))
    res.folder_skipped = ds.skipped.reset_index(drop=True)
    print(res.summary())
    t_embed = time.perf_counter() - t0
    audit = audit_result(res, names=ds.names, threshold=args.threshold, duplicate_level=args.duplicate_level,
                         margin=args.margin, k=args.k)
    audit.seconds["embed"] = t_embed
    every_kw = {**embed_kwargs(args), "progress": False}
    every_kw["settings"] = replace(every_kw["settings"], policy=EVERY_FACE)
    check_other_faces(audit, lambda images: embed_images(images, **every_kw))
    if len(audit.other_faces):
        print(f"every face of {audit.other_faces.image_id.nunique()} candidates' multi-face photos checked against "
              f"their label: {audit.counts()['wrong_face']} wrong faces ({audit.seconds['other_faces']:.1f} s)")
    if len(audit.skipped):
        print(f"{len(audit.skipped)} photos or files gave no face and are not audited (all in skipped.csv), e.g.:")
        for image, reason in list(zip(audit.skipped.image, audit.skipped.reason))[:5]:
            print(f"  {image}: {reason}")
    write_audit(audit, args.out, top=args.top, per_identity=args.per_identity, explorer=not args.no_explorer)
    print(audit.summary())
    s = audit.settings
    print(f"levels: same person at cosine >= {s.threshold:.4f}, margin {s.margin:.4f}, near-duplicates at "
          f">= {s.duplicate_level:.4f} ({s.duplicate_source})")
    for c in audit.candidates.head(10).itertuples():
        print(f"  #{c.rank} {c.kind} {c.score:.4f} {c.image_id}: {c.reason}")
    sec = audit.seconds
    print(f"time: embed {sec['embed']:.1f} s, similarity {sec['similarity']:.1f} s, page {sec.get('page', 0):.1f} s; "
          f"total {time.perf_counter() - t0:.1f} s")
    print(f"wrote {Path(args.out) / 'index.html'}, audit.csv, duplicates.csv, faces.csv, skipped.csv, metrics.json")
    return 0
