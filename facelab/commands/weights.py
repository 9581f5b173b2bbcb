"""``facelab weights``: the known pretrained models, where their files are, and fetching them."""

from __future__ import annotations

HELP = "list and fetch pretrained model weights (where found, verified, licence)"
DESCRIPTION = """\
list and fetch pretrained model weights

  facelab weights list [--weights PATH] [--format table|json]
        every known pretrained model (embedders and face detectors): where its file was found
        (or every place looked), size, whether its SHA-256 matches the published file, its licence
  facelab weights fetch NAME [--dest DIR] [--overwrite]
        download NAME's file (needs internet), verified against its SHA-256, moved into place
        atomically, with the licence text where it must travel with the file (LICENSE-yunet.txt);
        default destination $FACELAB_WEIGHTS, else weights/ in the checkout

Weight files are looked up in this order: --weights PATH, $FACELAB_WEIGHTS (a folder),
../shared/weights beside the checkout, weights/ in the checkout.
dlib's model needs no file here: it ships with the face-recognition-models package.
"""


def add_arguments(parser) -> None:
    from facelab.commands._args import output_folder

    sub = parser.add_subparsers(dest="weights_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="known models, where their files are, verified, licence")
    p.add_argument("--weights", default=None, metavar="PATH", help="an explicit file or folder to check first")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p = sub.add_parser("fetch", help="download a model's weights (needs internet), verified")
    from facelab.models.weights import KNOWN_WEIGHTS

    p.add_argument("name", choices=list(KNOWN_WEIGHTS), help="model name (see 'facelab weights list')")
    p.add_argument("--dest", type=output_folder, default=None, metavar="DIR", help="folder (default $FACELAB_WEIGHTS, else weights/)")
    p.add_argument("--overwrite", action="store_true", help="replace a file already there")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def weights_status(weights=None) -> list[dict]:
    """One dict per known model: its table entry plus ``found`` (path or None), ``size_ok``, ``sha256_ok``, ``looked``."""
    from facelab.models.weights import KNOWN_WEIGHTS, cached_sha256, find_weights, weight_search_paths

    rows = []
    for name, info in KNOWN_WEIGHTS.items():
        path = find_weights(name, weights)
        if path is None and weights is not None:
            path = find_weights(name)  # an explicit folder may hold only some of the models
        row = {**info.to_dict(), "found": str(path) if path else None, "file_size": None, "size_ok": None,
               "sha256_ok": None, "looked": [f"{what}: {p}" for what, p in weight_search_paths(name, weights)]}
        row["companion_files"] = {c.filename: path is not None and (path.parent / c.filename).is_file()
                                  for c in info.companions}
        if path is not None:
            row["file_size"] = path.stat().st_size
            row["size_ok"] = row["file_size"] == info.size
            row["sha256_ok"] = cached_sha256(path) == info.sha256
        rows.append(row)
    return rows


def run(args) -> int:
    import json

    from facelab.models.weights import fetch_command, fetch_weights, get_weights_info

    if args.weights_command == "fetch":
        info = get_weights_info(args.name)
        print(f"{info.name}: {info.title}\n  licence: {info.licence}")
        path = fetch_weights(info.name, args.dest, overwrite=args.overwrite, progress=not args.quiet)
        print(f"  verified (SHA-256 {info.sha256[:16]}...): {path}")
        return 0

    rows = weights_status(args.weights)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        if r["kind"] == "detector":
            print(f"{r['name']}: {r['title']} (face detector, {r['architecture']})")
        else:
            print(f"{r['name']}: {r['title']} ({r['architecture']}, {r['embedding_size']}-d, {r['alignment']} chips)")
        if r["found"] is None:
            print("  file:    NOT FOUND; looked in:")
            for place in r["looked"]:
                print(f"             {place}")
            print(f"           fetch with `{fetch_command(r['name'])}`")
        else:
            verdict = "SHA-256 ok" if r["sha256_ok"] else "SHA-256 MISMATCH (will be refused; fetch it again)"
            print(f"  file:    {r['found']} ({r['file_size']:,} bytes, {verdict})")
        print(f"  licence: {r['licence']}")
        for name, there in r["companion_files"].items():
            print(f"           {name}: {'beside it' if there else 'NOT beside it (fetch brings it)'}")
        print(f"  {'LFW:' if r['kind'] == 'embedder' else 'results:'} measured {r['measured_lfw']}; "
              f"published {r['published_lfw']}")
    print("dlib: dlib's 128-d ResNet (the default model), ships with face-recognition-models; no file needed here")
    return 0
