"""``facelab cluster``: group the faces of a folder into people, without names."""

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

HELP = "group the faces of a photo folder into clusters (who is the same person)"
DESCRIPTION = """\
Detect and embed every face of a folder, then group the faces into clusters, one per person as far
as the model can tell. DIR is a flat folder of photos (no names: --policy all by default, every
face of every photo), or a folder per identity, whose labels are then used only to score the
clusters (--policy central by default, one face per photo; with --policy all a photo's label goes
to its largest face and its other faces are clustered unscored).

Algorithms, all on the exact k-nearest-neighbour graph of the faces (--k):
  hdbscan           scikit-learn's HDBSCAN on the graph's distances (the default: no threshold;
                    it needs two groups at least, so one person's photos stay unclustered)
  chinese_whispers  dlib's Chinese whispers on the edges at or above the threshold
  agglomerative     average linkage (the mean cosine over all pairs of two groups), stopped at
                    the threshold, merging only groups the k-NN graph joins
The threshold is the model's calibrated cosine threshold unless --threshold gives one: it is set
for telling two faces apart, and in a large set so many pairs of different people pass it that
chains join them (a stricter one suits clustering; see the README). Clusters smaller than
--min-size faces are dissolved: their faces are unclustered.

OUT gets (atomically): clusters.csv (face, image, box, cluster, confidence), metrics.json (with
labels: pairwise and BCubed precision / recall / F, NMI, clusters against identities),
skipped.csv and index.html, an offline page with a gallery per cluster, the unclustered faces and
the embedding explorer coloured by cluster.

examples:
  facelab cluster ~/Pictures/party --out party_clusters
  facelab cluster data/two_id --out two_id_clusters
  facelab cluster /data/lfw/lfw-deepfunneled --algorithm agglomerative --threshold 0.93 --out lfw_clusters
"""


def add_arguments(parser) -> None:
    from facelab.analysis.clustering import ALGORITHMS, DEFAULT_ALGORITHM, DEFAULT_K
    from facelab.analysis.projection import METHODS
    from facelab.report.cluster_page import MAX_CLUSTERS, MAX_UNCLUSTERED, PER_CLUSTER

    parser.add_argument("dir", metavar="DIR", help="a flat folder of photos, or one sub-folder of images per identity")
    parser.add_argument("--out", type=output_folder, required=True, metavar="OUT",
                        help="folder to write clusters.csv, metrics.json, skipped.csv and index.html to (replaced)")
    parser.add_argument("--algorithm", default=DEFAULT_ALGORITHM, choices=list(ALGORITHMS),
                        help=f"clustering algorithm (default {DEFAULT_ALGORITHM})")
    parser.add_argument("--threshold", type=finite_float, default=None, metavar="COS",
                        help="cosine at or above which two faces may be one person (default: the model's calibrated "
                             "threshold; not for hdbscan)")
    parser.add_argument("--min-size", type=positive_int, default=2, metavar="N",
                        help="smallest cluster kept; the faces of smaller ones are unclustered (default 2)")
    parser.add_argument("--k", type=IntAtLeast(1), default=DEFAULT_K, metavar="K",
                        help=f"neighbours per face in the graph (default {DEFAULT_K})")
    parser.add_argument("--max-clusters-shown", type=non_negative_int, default=MAX_CLUSTERS, metavar="N",
                        help=f"clusters in the page's gallery, largest first (default {MAX_CLUSTERS}; all are in the CSV)")
    parser.add_argument("--per-cluster", type=positive_int, default=PER_CLUSTER, metavar="N",
                        help=f"faces shown per cluster (default {PER_CLUSTER})")
    parser.add_argument("--max-unclustered-shown", type=non_negative_int, default=MAX_UNCLUSTERED, metavar="N",
                        help=f"unclustered faces shown (default {MAX_UNCLUSTERED})")
    parser.add_argument("--no-explorer", action="store_true", help="leave the interactive explorer out of the page")
    parser.add_argument("--map", default="umap", choices=list(METHODS),
                        help="the explorer's map of the embedding space (default umap)")
    add_embedding_arguments(parser, policy=None, detector=None, every_face=True, policy_help=(
        "which faces to cluster: all (every face of every photo; the default for a flat folder), or one face per "
        "photo, largest or central (the default with identity folders)"))
    add_scheduler_argument(parser)


def run(args) -> int:
    import time
    from pathlib import Path

    from facelab.core.errors import FacelabError

    src, out = Path(args.dir).resolve(), Path(args.out).resolve()
    if out == src or src in out.parents or out in src.parents:
        raise FacelabError(f"--out {args.out} would replace the folder being clustered (or hold it); "
                           "give a folder outside it")
    if args.algorithm == "hdbscan" and args.threshold is not None:
        raise FacelabError("--threshold is not used by hdbscan (it finds dense regions itself); leave it out")
    if args.algorithm == "hdbscan" and args.min_size < 2:
        raise FacelabError("hdbscan needs --min-size 2 or more")
    if args.threshold is not None:
        from facelab.core.calibration import check_threshold

        check_threshold(args.threshold, "cosine")
    from facelab.analysis.face_clusters import cluster_result
    from facelab.data.datasets import read_folder
    from facelab.engine.pipeline import embed_images
    from facelab.models.weights import default_detector
    from facelab.report.cluster_page import write_clusters
    from facelab.stages.detection import EVERY_FACE

    t0 = time.perf_counter()
    ds = read_folder(args.dir)
    if args.policy is None:
        args.policy = "central" if ds.labelled else EVERY_FACE
    if args.detector is None:
        args.detector = default_detector(args.model)
    if ds.labelled and len(ds.identities) == 1:
        print(f"note: {args.dir} holds one identity ({ds.identities[0]}): its label scores the clusters, but "
              "precision is 1 whatever they are; read recall and the number of clusters")
    print(ds.summary() + (f"; faces: {'every face' if args.policy == EVERY_FACE else args.policy}"))
    res = embed_images(ds.images, **embed_kwargs(args))
    res.folder_skipped = ds.skipped.reset_index(drop=True)
    print(res.summary())
    t_embed = time.perf_counter() - t0
    clusters = cluster_result(res, labels="identity" if ds.labelled else None, names=ds.names, algorithm=args.algorithm,
                              threshold=args.threshold, min_size=args.min_size, k=args.k)
    clusters.clustering.seconds["embed"] = t_embed
    if len(clusters.skipped):
        print(f"{len(clusters.skipped)} photos or files gave no face (listed in skipped.csv), e.g.:")
        for image, reason in list(zip(clusters.skipped.image, clusters.skipped.reason))[:5]:
            print(f"  {image}: {reason}")
    write_clusters(clusters, args.out, max_clusters=args.max_clusters_shown, per_cluster=args.per_cluster,
                   max_unclustered=args.max_unclustered_shown, explorer=not args.no_explorer,
                   explorer_method=args.map)
    print(clusters.summary())
    for note in clusters.notes:
        print(f"note: {note}")
    sec = clusters.clustering.seconds
    print(f"time: embed {sec['embed']:.1f} s, neighbours {sec['knn']:.1f} s, clustering {sec['cluster']:.1f} s, "
          f"page {sec.get('page', 0):.1f} s; total {time.perf_counter() - t0:.1f} s")
    print(f"wrote {Path(args.out) / 'index.html'}, clusters.csv, metrics.json, skipped.csv")
    return 0
