"""``facelab landmarks``: detect faces and their five landmarks in images."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from facelab.commands._args import add_detector_arguments, add_output_arguments, add_quiet_argument

HELP = "detect faces and their 5 landmarks in images"
DESCRIPTION = """\
detect faces and their 5 landmarks (ArcFace order: left eye, right eye, nose tip, left and right
mouth corners, "left" as seen in the image) in image files or folders of images.

  facelab landmarks photo.jpg                       JSON to stdout
  facelab landmarks data/two_id --format table      one row per image
  facelab landmarks a.jpg --detector mtcnn --policy central

Every image gets a status: ok, no_face, or error (with the reason). Folders are searched
recursively; images are recognised by content, other files are listed on stderr as skipped.
"""


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add_detector_arguments(parser)
    add_output_arguments(parser, format="json", out_help="write the output to FILE (atomically) instead of stdout")
    parser.add_argument("--all-points", action="store_true", help="JSON: also give the 68 points where available")
    add_quiet_argument(parser)


def expand_paths(paths) -> tuple[list[str], list[tuple[str, str]]]:
    """Files as given; folders expanded to the image files inside (recursively, by content).

    Returns ``(images, skipped)`` where ``skipped`` lists ``(path, reason)`` for non-image files
    found in folders. Named files are kept whatever they are: the detector reports their error.
    """
    from facelab.data.imageio import find_images

    images, skipped = [], []
    for p in map(Path, paths):
        if p.is_dir():
            found, bad = find_images(p)
            images.extend(str(f) for f in found)
            skipped.extend(bad)
        else:
            images.append(str(p))
    return images, skipped


def results_table(results):
    """One row per image: status, face count, chosen face's box, score and five points."""
    import pandas as pd

    from facelab.stages.faces import Keypoint

    rows = []
    for r in results:
        row = {"image": r.image, "status": r.status.value, "faces": len(r.faces)}
        f = r.face
        row["score"] = round(f.score, 3) if f is not None else None
        row["box"] = " ".join(f"{v:.0f}" for v in f.box) if f is not None else ""
        for kp in Keypoint:
            row[kp.name.lower()] = "" if f is None else f"{f.landmarks[kp][0]:.1f},{f.landmarks[kp][1]:.1f}"
        row["reason"] = r.reason or ""
        rows.append(row)
    return pd.DataFrame(rows)


def run(args) -> int:
    from facelab.core.errors import FacelabError
    from facelab.stages.detection import create_detector

    images, skipped = expand_paths(args.paths)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not images:
        raise FacelabError("no image found in " + ", ".join(args.paths))
    detector = create_detector(args.detector)
    results = detector.detect_paths(images, policy=args.policy, progress=not args.quiet)
    if args.format == "json":
        out = []
        for r in results:
            d = r.to_dict()
            d["detector"] = args.detector
            if args.all_points:
                for fd, f in zip(d["faces"], r.faces):
                    fd["landmarks68"] = None if f.landmarks68 is None else [
                        [round(float(x), 2), round(float(y), 2)] for x, y in f.landmarks68
                    ]
            out.append(d)
        text = json.dumps(out, indent=2) + "\n"
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_colwidth", 60, "display.width", 250):
            text = results_table(results).to_string(index=False) + "\n"
    if args.out:
        from facelab.core.atomic import atomic_write_text

        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)
    n_ok = sum(r.ok for r in results)
    print(f"{n_ok} of {len(results)} images with a face ({args.detector})", file=sys.stderr)
    return 0
