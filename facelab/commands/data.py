"""``facelab data``: find, fetch and prepare datasets."""

from __future__ import annotations

import json
import sys

from facelab.commands._args import add_alias, non_negative_int, output_folder, positive_int

HELP = "find, fetch and prepare datasets (LFW, the two-ID set)"
DESCRIPTION = """\
find, fetch and prepare datasets

  facelab data locate              where LFW is (or every place looked at)
  facelab data info [--root PATH]  counts of identities, images and pairs
  facelab data two-id [--out DIR]  build the default two-ID set (data/two_id/1, data/two_id/2)
  facelab data teaching-set [--out DIR]  the 62 LFW identities with >= 20 photos, 20 each (data/teaching)
  facelab data fetch-lfw [--out data/lfw]   download LFW (needs internet), checksums verified
"""


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = sub.add_parser("locate", help="print where LFW is")
    p.add_argument("--root", help="an explicit LFW root to check")

    p = sub.add_parser("info", help="counts of identities, images and pairs in LFW")
    p.add_argument("--root", help="LFW root (default: see 'facelab data locate')")
    p.add_argument("--format", choices=["table", "json"], default="table")

    p = sub.add_parser("two-id", help="materialise the default two-identity test set from LFW")
    p.add_argument("--out", type=output_folder, help="destination (default: data/two_id in the checkout)")
    p.add_argument("--root", help="LFW root")
    p.add_argument(
        "--identities", nargs="+", default=["Colin_Powell", "Tony_Blair"], metavar="NAME",
        help="LFW identities, one folder each (default: Colin_Powell Tony_Blair)",
    )
    p.add_argument("--per-identity", type=positive_int, default=50, help="images per identity (default 50)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the deterministic sample (default 0)")
    p.add_argument("--overwrite", action="store_true", help="rebuild a set made with other settings")

    p = sub.add_parser("teaching-set", help="the LFW identities with at least N photos, a folder each (default 62 x 20)")
    p.add_argument("--out", type=output_folder, help="destination (default: data/teaching in the checkout)")
    p.add_argument("--root", help="LFW root")
    p.add_argument("--min-images", type=positive_int, default=20,
                   help="identities with at least this many photos (default 20)")
    p.add_argument("--per-identity", type=positive_int, default=20, help="photos per identity, a seeded sample (default 20)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the deterministic sample (default 0)")
    p.add_argument("--overwrite", action="store_true", help="rebuild a set made with other settings")

    p = sub.add_parser("fetch-lfw", help="download LFW deep-funneled with its protocol files (needs internet)")
    p.add_argument("--out", type=output_folder, help="destination LFW root (default: data/lfw in the checkout)")
    add_alias(p, "--dest", dest="out", type=output_folder)
    p.add_argument("--base-url", help="a mirror laid out like the LFW site (files at its root, images_deepfunneled/)")
    p.add_argument("--archive-url", help="an lfw-deepfunneled.tgz to use instead of per-file images")
    p.add_argument("--overwrite", action="store_true")


def run(args) -> int:
    from facelab.data import datasets

    if args.data_command == "locate":
        print(datasets.locate_lfw(args.root))
        return 0

    if args.data_command == "info":
        lfw = datasets.LFW(args.root)
        ids = lfw.identities()
        info = {
            "root": str(lfw.root),
            "identities": int(len(ids)),
            "images": int(ids.images.sum()),
            "identities_with_at_least": {str(k): int((ids.images >= k).sum()) for k in (2, 20, 50)},
            "pairs": {w: int(len(lfw.pairs(w))) for w in ("pairs", "devtrain", "devtest")},
            "pair_images": int(len(lfw.pair_images())),
        }
        if args.format == "json":
            print(json.dumps(info, indent=2))
        else:
            for k, v in info.items():
                print(f"{k:>26}: {v}")
        return 0

    if args.data_command == "two-id":
        out = datasets.build_two_id(
            args.out, lfw_root=args.root, identities=args.identities,
            per_identity=args.per_identity, seed=args.seed, overwrite=args.overwrite,
        )
        ds = datasets.read_identity_folders(out)
        print(ds.summary())
        for k, name in ds.names.items():
            print(f"  {out / k}: {name} ({int((ds.images.identity == k).sum())} images)")
        return 0

    if args.data_command == "teaching-set":
        from facelab.data.teaching import build_teaching_set

        out = build_teaching_set(args.out, lfw_root=args.root, min_images=args.min_images,
                                 per_identity=args.per_identity, seed=args.seed, overwrite=args.overwrite)
        print(datasets.read_identity_folders(out).summary())
        return 0

    if args.data_command == "fetch-lfw":
        from dataclasses import replace

        from facelab.data.fetch import DEFAULT_SOURCE, fetch_lfw

        source = DEFAULT_SOURCE
        if args.base_url:
            source = source.with_base_url(args.base_url)
        if args.archive_url:
            source = replace(source, archive_url=args.archive_url)
        dest = args.out or (datasets.repo_root() / "data" / "lfw")
        print(f"fetching LFW into {dest} ...", file=sys.stderr)
        fetch_lfw(dest, source=source, overwrite=args.overwrite)
        print(f"LFW ready at {dest}")
        return 0
    raise AssertionError(args.data_command)
