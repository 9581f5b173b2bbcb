"""``facelab align``: align the faces of a folder-per-identity dataset."""

from __future__ import annotations

import sys

from facelab.commands._args import IntAtLeast, add_detector_arguments, add_quiet_argument, output_folder

HELP = "align the faces of a folder-per-identity dataset"
DESCRIPTION = """\
detect and align every face of a folder-per-identity dataset (SRC/<identity>/<images>)

  facelab align data/two_id aligned/                      ArcFace 112x112, dlib detector
  facelab align data/two_id aligned64/ --preset seed64    the reference 64x64 model's input
  facelab align data/two_id aligned/ --detector mtcnn --size 128

OUT mirrors SRC's identity folders; OUT/alignment.csv lists every image with its status
(ok / no_face / error), reason and alignment residual (RMS px to the template). Images without
a face and files that are not images are listed as skipped, with the reason.
"""


def add_arguments(parser) -> None:
    parser.add_argument("src", metavar="SRC", help="dataset folder (SRC/<identity>/<images>)")
    parser.add_argument("out", metavar="OUT", type=output_folder, help="output folder (mirrors SRC's identity folders)")
    parser.add_argument(
        "--preset", choices=["arcface112", "seed64", "dlib150"], default="arcface112",
        help="alignment recipe (default arcface112)",
    )
    parser.add_argument("--size", type=IntAtLeast(16), default=None,
                        help="output side for the arcface preset, at least 16 (default 112)")
    add_detector_arguments(parser)
    parser.add_argument("--image-format", choices=["png", "jpg"], default="png", help="format of the aligned files")
    add_quiet_argument(parser)


def run(args) -> int:
    from facelab.core.errors import FacelabError
    from facelab.data.datasets import read_identity_folders
    from facelab.stages.alignment import align_dataset, get_preset

    try:
        preset = get_preset(args.preset, size=args.size if args.preset == "arcface112" else None)
        if args.size is not None and args.preset != "arcface112" and args.size != preset.size:
            raise ValueError(f"preset {args.preset!r} has a fixed size of {preset.size}; --size applies to arcface112")
    except ValueError as exc:
        raise FacelabError(str(exc)) from None
    ds = read_identity_folders(args.src)
    if len(ds.images) == 0:
        raise FacelabError(f"no images in {args.src}")
    table = align_dataset(
        ds.images, args.out, preset=preset, detector=args.detector, policy=args.policy,
        image_format=args.image_format, progress=not args.quiet,
    )
    bad = table[table.status != "ok"]
    n_ok = int((table.status == "ok").sum())
    n_skipped = len(bad) + len(ds.skipped)
    print(f"aligned {n_ok}, skipped {n_skipped} ({preset.name}, {preset.size}x{preset.size}, {args.detector}) "
          f"-> {args.out}")
    for r in bad.itertuples(index=False):
        print(f"  skipped {r.path}: {r.status}: {r.reason}")
    for r in ds.skipped.itertuples(index=False):
        print(f"  skipped {r.image}: {r.reason}")
    if ds.empty_identities:
        print(f"  empty identity folders: {', '.join(ds.empty_identities)}", file=sys.stderr)
    return 0
