"""``facelab compare``: are two photos of the same person? (The reference demo.)"""

from __future__ import annotations

from facelab.commands._args import (
    add_cache_argument,
    add_detector_arguments,
    add_device_argument,
    add_flip_argument,
    add_model_arguments,
    finite_float,
    positive_float,
    probability,
)

HELP = "compare two face photos like the reference demo"
DESCRIPTION = """\
Detect the face in each photo, align and embed it, and print the landmarks, the embeddings'
shape and first values, the squared distance of the L2-normalised embeddings, the calibrated
score = sigmoid((mean - distance) / std) and the decision score >= threshold.

examples:
  facelab compare a.jpg b.jpg
  facelab compare a.jpg b.jpg --model ir_18 --weights weights/backbone_ir18.pth
  facelab compare a.jpg b.jpg --score-mean 1.4 --score-std 0.2 --threshold 0.6
"""


def add_arguments(parser) -> None:
    parser.add_argument("image1", metavar="IMG1")
    parser.add_argument("image2", metavar="IMG2")
    add_model_arguments(parser)
    add_detector_arguments(parser, detector=None)  # None: the model's own (default_detector: YuNet)
    parser.add_argument("--score-mean", type=finite_float, default=None, metavar="M",
                        help="calibration mean (with --score-std)")
    parser.add_argument("--score-std", type=positive_float, default=None, metavar="S",
                        help="calibration std (with --score-mean)")
    parser.add_argument("--threshold", type=probability, default=None, metavar="T",
                        help="calibrated-score threshold for 'same person', in (0, 1) (default: the model's)")
    add_flip_argument(parser)
    add_cache_argument(parser)
    add_device_argument(parser)

def _fmt(values, n=None, digits=4) -> str:
    import numpy as np

    v = np.asarray(values, dtype=float).ravel()
    shown = " ".join(f"{x:.{digits}f}" for x in (v[:n] if n else v))
    return "[" + shown + (" ..." if n and len(v) > n else "") + "]"


def run(args) -> int:
    import sys

    import pandas as pd

    from facelab.core.calibration import Calibration, squared_distance
    from facelab.core.errors import FacelabError
    from facelab.data.imageio import unopenable_reason
    from facelab.engine.pipeline import embed_images

    if (args.score_mean is None) != (args.score_std is None):
        raise FacelabError("--score-mean and --score-std go together")
    for p in (args.image1, args.image2):
        reason = unopenable_reason(p)
        if reason:
            raise FacelabError(f"{p}: {reason}")
    images = pd.DataFrame({"image_id": ["1", "2"], "path": [args.image1, args.image2], "identity": ["", ""]})
    from facelab.models.weights import default_detector

    detector = args.detector or default_detector(args.model)
    res = embed_images(images, model=args.model, weights=args.weights, detector=detector, policy=args.policy,
                       flip=args.flip, cache=not args.no_cache, progress=False, workers=1, device=args.device)
    cal = res.calibration
    if args.score_mean is not None:
        cal = Calibration(args.score_mean, args.score_std, cal.threshold, source="command line")
    if args.threshold is not None:
        cal = Calibration(cal.mean, cal.std, args.threshold, source=cal.source)

    problems = []
    for k, row in enumerate(res.table.itertuples(), start=1):
        print(f"image {k}: {row.path}")
        if row.status == "no_face":
            problems.append(f"no face found in {row.path} ({detector} detector); try a larger, frontal photo")
            continue
        if row.status != "ok":
            problems.append(f"cannot use {row.path}: {row.reason}")
            continue
        if row.n_faces > 1:
            print(f"  note: {row.n_faces} faces found; the {args.policy} was used")
        print(f"  box: {_fmt(row.box, digits=1)}")
        print("  landmarks: " + "[" + ", ".join(f"[{x:.1f}, {y:.1f}]" for x, y in row.landmarks) + "]")
        e = res.embeddings[row.row][None]
        print(f"  embedding: shape {e.shape}, first values {_fmt(e[0], 5)}")
    if problems:
        for p in problems:
            print(f"facelab compare: {p}", file=sys.stderr)
        return 2

    d = float(squared_distance(res.embeddings[0], res.embeddings[1]))
    s = cal.score(d)
    print(f"model: {res.model}")
    print(f"distance: [{d:.4f}]")
    print(f"score: [{s:.4f}]")
    print(f"same person: [{bool(s >= cal.threshold)}]")
    print(cal.describe())
    return 0
