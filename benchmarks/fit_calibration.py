"""Fit an embedder's distance -> score calibration on LFW pairsDevTrain.txt.

    python benchmarks/fit_calibration.py [--model dlib | edgeface_xs [edgeface_xxs]] [--weights PATH] [--workers N]
                                         [--detector dlib|mtcnn] [--policy largest|central] [--flip]

Each model is fitted on its own pipeline: dlib on dlib HOG boxes and the largest face (how its
calibration was fitted); EdgeFace on MTCNN boxes and the central face (as ``facelab lfw`` and the
weights' PROVENANCE measure it). One descriptor per face unless ``--flip``.

Embeds every image of pairsDevTrain.txt (1100 genuine + 1100 impostor pairs; the pipeline's cache
makes re-runs instant), computes the squared distance of the normalised embeddings of each pair
whose two images both have a face, fits ``score = sigmoid((mean - d) / std)`` by logistic
regression (:func:`facelab.core.calibration.fit_calibration`), and sets the score threshold to the
score at the accuracy-best distance threshold on the same pairs, so that "same person" decisions
equal that distance rule. Prints the values to paste into :mod:`facelab.embedders.base`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time

import numpy as np


def best_distance_threshold(d: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The distance threshold (midpoint between neighbours) maximising accuracy of ``d <= t``."""
    order = np.argsort(d)
    ds, ys = d[order], same[order].astype(int)
    # Accuracy when the first k sorted pairs are called "same": genuine among them + impostors after.
    tp = np.concatenate([[0], np.cumsum(ys)])
    tn = (len(ys) - ys.sum()) - np.concatenate([[0], np.cumsum(1 - ys)])
    acc = (tp + tn) / len(ys)
    k = int(np.argmax(acc))
    lo = ds[k - 1] if k > 0 else ds[0] - 1e-3
    hi = ds[k] if k < len(ds) else ds[-1] + 1e-3
    return float((lo + hi) / 2), float(acc[k])


def embed_from_landmarks(name: str, res, *, flip: bool = False) -> dict:
    """Embeddings of ``res``'s faces by another ArcFace-style model, from the same detections.

    Every image ``res`` found a face in is aligned again from its recorded five points (the
    model's own ArcFace preset) and embedded: the same faces as the first model, without
    running the detector again.
    """
    from facelab.data.imageio import load_image
    from facelab.embedders import create_embedder
    from facelab.stages.alignment import align_face, get_preset

    t0 = time.time()
    e = create_embedder(name, flip=flip)
    preset = get_preset(e.alignment)
    if not e.alignment.startswith("arcface"):
        raise SystemExit(f"{name}: --model after the first must use an ArcFace alignment (got {e.alignment})")
    ok = res.ok
    chips = [align_face(load_image(p), np.asarray(lm, dtype=np.float64), size=preset.size).image
             for p, lm in zip(ok.path, ok.landmarks)]
    emb = e.embed(np.stack(chips))
    print(f"{name}: {len(chips)} faces re-aligned from the first model's detections and embedded "
          f"in {time.time() - t0:.0f} s ({e.describe().split(';')[0]})")
    return dict(zip(ok.image_id.astype(str), emb))


def fit_one(name: str, pairs, vectors: dict, which: str):
    """Fit and print one model's calibration from ``{image_id: vector}``."""
    from facelab.core.calibration import Calibration, fit_calibration, squared_distance

    keep = pairs[pairs.image_id1.isin(vectors) & pairs.image_id2.isin(vectors)]
    print(f"[{name}] {len(keep)} of {len(pairs)} pairs have a face in both images")
    a = np.stack([vectors[i] for i in keep.image_id1])
    b = np.stack([vectors[i] for i in keep.image_id2])
    d = squared_distance(a, b)
    same = keep.same.to_numpy(bool)
    fit = fit_calibration(d, same)
    t_best, acc = best_distance_threshold(d, same)
    score_t = float(fit.score(t_best))
    file = {"devtrain": "pairsDevTrain.txt", "devtest": "pairsDevTest.txt", "pairs": "pairs.txt"}[which]
    source = f"fitted on LFW {file} ({len(keep)} pairs, {datetime.date.today().isoformat()})"
    cal = Calibration(fit.mean, fit.std, threshold=round(score_t, 4), source=source)
    pred = cal.same_person(d)
    print(f"[{name}] genuine d: mean {d[same].mean():.4f}  impostor d: mean {d[~same].mean():.4f}")
    print(f"[{name}] best distance threshold {t_best:.4f} (accuracy {acc:.4f}); calibrated decision accuracy "
          f"{(pred == same).mean():.4f}")
    print(f"[{name}] mean={cal.mean!r} std={cal.std!r} threshold={cal.threshold:.4f}")
    print(f"[{name}] {cal.describe()}")
    return cal


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs="+", default=["dlib"],
                    help="one or more models; models after the first reuse its detections (ArcFace-style only)")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--which", default="devtrain", choices=["devtrain", "devtest", "pairs"])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--detector", default=None, choices=["dlib", "mtcnn"],
                    help="default: dlib for dlib, mtcnn for the ArcFace-style models")
    ap.add_argument("--policy", default=None, choices=["largest", "central"],
                    help="default: largest for dlib, central for the ArcFace-style models")
    ap.add_argument("--flip", action="store_true", help="fit on flip-averaged embeddings")
    ap.add_argument("--out", default=None, help="also write the calibration as JSON here")
    args = ap.parse_args(argv)

    from facelab.data.datasets import LFW
    from facelab.engine.pipeline import embed_images

    lfw = LFW()
    pairs = lfw.pairs(args.which)
    images = lfw.pair_images(args.which)
    t0 = time.time()
    first = args.model[0]
    dlib = first == "dlib"
    detector = args.detector or ("dlib" if dlib else "mtcnn")
    policy = args.policy or ("largest" if dlib else "central")
    print(f"model {first}, detector {detector}, policy {policy}, flip {args.flip}")
    res = embed_images(images, model=first, weights=args.weights, workers=args.workers,
                       detector=detector, policy=policy, flip=args.flip)
    print(res.summary(), f"in {time.time() - t0:.0f} s")
    cals = {first: fit_one(first, pairs, {i: res.vector(i) for i in res.ids}, args.which)}
    for name in args.model[1:]:
        vectors = embed_from_landmarks(name, res, flip=args.flip)
        cals[name] = fit_one(name, pairs, vectors, args.which)
    if args.out:
        from facelab.core.atomic import atomic_write_text

        body = cals[first].to_dict() if len(cals) == 1 else {k: c.to_dict() for k, c in cals.items()}
        atomic_write_text(args.out, json.dumps(body, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
