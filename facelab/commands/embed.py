"""``facelab embed``: embed a folder-per-identity dataset into an embeddings file."""

from __future__ import annotations

from facelab.commands._args import add_embedding_arguments, embed_kwargs

HELP = "embed a dataset into L2-normalised vectors"
DESCRIPTION = """\
Detect, align and embed every image of a folder-per-identity dataset (DATASET/<identity>/<image>)
and write the embeddings as the reference JSON {image_id: [floats]} (or .npz). Every image
without an embedding is listed with its reason. Results are cached under $FACELAB_CACHE
(default ~/.cache/facelab): re-running on the same photos recomputes nothing.

examples:
  facelab embed data/two_id --out reports/two_id_dlib.json
  facelab embed data/two_id --model ir_18 --weights weights/backbone_ir18.pth --out e.json
"""


def add_arguments(parser) -> None:
    parser.add_argument("dataset", metavar="DATASET", help="folder with one sub-folder of images per identity")
    parser.add_argument("--out", required=True, metavar="FILE", help="output embeddings file (.json or .npz)")
    add_embedding_arguments(parser)
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on this Dask scheduler (tcp://host:8786; default $FACELAB_SCHEDULER, else this machine)")


def run(args) -> int:
    from pathlib import Path

    if Path(args.out).suffix.lower() not in (".json", ".npz"):
        print(f"facelab embed: error: --out must end in .json or .npz, got {args.out!r}")
        return 2
    from facelab.distributed import embed_folder_distributed, scheduler_address
    from facelab.pipeline import embed_folder

    kw = embed_kwargs(args)
    scheduler = scheduler_address(args.scheduler)
    if scheduler:
        # The cluster's workers run every partition themselves: this machine's cache and pool do not apply.
        kw = {k: v for k, v in kw.items() if k not in ("cache", "workers")}
        res = embed_folder_distributed(args.dataset, client_or_address=scheduler, **kw)
    else:
        res = embed_folder(args.dataset, **kw)
    print(res.summary())
    skipped = res.skipped
    if len(skipped):
        print(f"skipped {len(skipped)}:")
        for image, reason in zip(skipped.image, skipped.reason):
            print(f"  {image}: {reason}")
    multi = res.table[(res.table.status == "ok") & (res.table.n_faces > 1)]
    if len(multi):
        print(f"{len(multi)} images had several faces; the {args.policy} one was embedded:")
        for p, n in zip(multi.path, multi.n_faces):
            print(f"  {p}: {n} faces")
    if len(res.embeddings) == 0:
        print("facelab embed: error: no image produced an embedding; nothing written")
        return 1
    out = res.write(args.out)
    print(f"wrote {len(res.embeddings)} x {res.embeddings.shape[1]} embeddings to {out}")
    print(res.calibration.describe())
    return 0
