"""``facelab embed``: embed a folder-per-identity dataset (or a flat folder of photos) into an embeddings file."""

from __future__ import annotations

from facelab.commands._args import (
    add_embedding_arguments,
    add_scheduler_argument,
    embed_kwargs,
    output_file,
    output_folder,
)

HELP = "embed a dataset into L2-normalised vectors"
DESCRIPTION = """\
Detect, align and embed every image of a folder-per-identity dataset (DATASET/<identity>/<image>),
or of a flat folder of photos (DATASET/<image>: no names), and write the embeddings as the
reference JSON {image_id: [floats]} (or .npz). Every image without an embedding is listed with
its reason. --policy all keeps every face of a photo: face k of photo P is keyed "P#k" in the
file (k = 0 is the largest face), and a photo without a face is listed with its reason. Results are cached under $FACELAB_CACHE
(default ~/.cache/facelab): re-running on the same photos recomputes nothing. With --store DIR
the results go to a Parquet embedding store instead (one file per partition, read directly by
pandas / pyarrow / Dask), which is also the cache: a run that was interrupted resumes with only
the missing images. --scheduler (or $FACELAB_SCHEDULER) runs the work on a Dask cluster.

examples:
  facelab embed data/two_id --out reports/two_id_dlib.json
  facelab embed data/two_id --model ir_18 --weights weights/backbone_ir18.pth --out e.json
  facelab embed /data/photos --store /data/photos.store --scheduler tcp://head:8786
  facelab embed ~/Pictures/party --policy all --out party_faces.json
"""


def add_arguments(parser) -> None:
    parser.add_argument("dataset", metavar="DATASET",
                        help="folder with one sub-folder of images per identity, or a flat folder of photos")
    parser.add_argument("--out", type=output_file, default=None, metavar="FILE",
                        help="output embeddings file (.json or .npz; required without --store)")
    parser.add_argument("--store", type=output_folder, default=None, metavar="DIR",
                        help="append to this Parquet embedding store and use it as the cache (resumes)")
    add_embedding_arguments(parser, every_face=True)
    add_scheduler_argument(parser)


def run(args) -> int:
    from pathlib import Path

    from facelab.core.errors import FacelabError

    if args.out is None and args.store is None:
        raise FacelabError("give --out FILE, --store DIR or both")
    if args.out is not None and Path(args.out).suffix.lower() not in (".json", ".npz"):
        raise FacelabError(f"--out must end in .json or .npz, got {args.out!r}")
    from facelab.engine.pipeline import embed_folder

    kw = embed_kwargs(args)
    if args.store:
        from facelab.engine.store import EmbeddingStore

        # The store is the cache here (on a cluster too): only images it does not hold are computed.
        kw["cache"] = EmbeddingStore(args.store)
    res = embed_folder(args.dataset, layout="any", **kw)
    print(res.summary())
    skipped = res.skipped
    if len(skipped):
        print(f"skipped {len(skipped)}:")
        for image, reason in zip(skipped.image, skipped.reason):
            print(f"  {image}: {reason}")
    multi = res.table[(res.table.status == "ok") & (res.table.n_faces > 1)].drop_duplicates("image_id")
    if res.every_face:
        if len(multi):
            print(f"{len(multi)} images had several faces, every one embedded (keys <image_id>#<face>, 0 the largest)")
    elif len(multi):
        print(f"{len(multi)} images had several faces; the {args.policy} one was embedded:")
        for p, n in zip(multi.path, multi.n_faces):
            print(f"  {p}: {n} faces")
    if len(res.embeddings) == 0:
        print("facelab embed: error: no image produced an embedding; nothing written")
        return 1
    if args.store:
        print(f"store {args.store}: {res.n_cached} images already there, {res.n_computed} computed")
    if args.out:
        out = res.write(args.out)
        print(f"wrote {len(res.embeddings)} x {res.embeddings.shape[1]} embeddings to {out}")
    print(res.calibration.describe())
    return 0
