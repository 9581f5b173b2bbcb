"""Which faces each detector still finds in a big photo, by working resolution.

Composes 4000x3000 JPEGs (a smooth, face-free background) with LFW faces pasted at known sizes
(inter-ocular distance in the photo: 12 to 256 px, one of each per row), then runs
``prepare_image(path, detector)`` (a JPEG decoded reduced, detected at the detector's ``max_side``,
faces mapped back) with ``max_side`` 640, 960, 1280, 1600 and, for YuNet, the full size. A placed
face counts as found when a detected box's centre lies inside it, and as well placed (in brackets)
when its five points are on average within 0.15 inter-ocular distances of where MTCNN puts them in
the LFW photo. Prints faces found per inter-ocular distance (in the photo / in the working image),
false detections, and ms per photo (indicative: run it alone for timings)::

    python benchmarks/working_resolution.py --detectors yunet mtcnn dlib --photos 3 [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

IODS = (12, 16, 20, 24, 32, 48, 64, 96, 128, 256)


def compose(out: Path, lfw, k: int, rng, size=(4000, 3000)):
    """One photo: ``len(IODS)`` faces (one per size) on a smooth background; returns the placed boxes."""
    import numpy as np
    from PIL import Image

    from facelab.stages.detection import create_detector

    w, h = size
    lo = rng.uniform(60, 200, size=(6, 8, 3))
    bg = Image.fromarray(lo.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    det = create_detector("mtcnn")
    names = list(lfw.identities().identity[200 + 37 * k:])
    placed, x = [], 40
    for iod in IODS:
        while True:  # an LFW photo with one clear, frontal face
            name = names.pop(0)
            im = Image.open(lfw.image_path(name, 1)).convert("RGB")
            r = det.detect(np.asarray(im))
            if r.ok and len(r.faces) == 1 and r.face.score > 0.99:
                break
        lm = r.face.landmarks
        s = iod / np.linalg.norm(lm[1] - lm[0])
        crop = im.crop((50, 40, 200, 210))  # the face and a margin of the deep-funneled photo
        cw, ch = max(1, round(150 * s)), max(1, round(170 * s))
        crop = crop.resize((cw, ch), Image.Resampling.BICUBIC if s > 1 else Image.Resampling.LANCZOS)
        y = int((h - ch) / 2) if ch < h else 0
        bg.paste(crop, (x, y))
        # The five points MTCNN finds in the LFW photo, carried into the composed photo.
        points = (lm - [50, 40] + 0.5) * [cw / 150, ch / 170] - 0.5 + [x, y]
        placed.append({"iod": iod, "box": [x, y, x + cw, y + ch], "name": name, "points": points.tolist()})
        x += cw + 60
    path = out / f"photo_{k}.jpg"
    bg.save(path, quality=92)
    return path, placed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detectors", nargs="+", default=["yunet", "mtcnn", "dlib"])
    ap.add_argument("--sides", nargs="+", type=int, default=[640, 960, 1280, 1600])
    ap.add_argument("--photos", type=int, default=3)
    ap.add_argument("--out", default=None, help="folder for the photos (default: a temporary one)")
    args = ap.parse_args(argv)

    import numpy as np

    from facelab.data.datasets import LFW
    from facelab.engine.settings import make_detector
    from facelab.stages.prepare import prepare_image

    lfw = LFW()
    rng = np.random.default_rng(0)
    out = Path(args.out or tempfile.mkdtemp(prefix="facelab-bigphoto-"))
    out.mkdir(parents=True, exist_ok=True)
    photos = [compose(out, lfw, k, rng) for k in range(args.photos)]
    results = []
    for name in args.detectors:
        det = make_detector(name)
        sides = list(args.sides) + ([None] if name.startswith("yunet") else [])
        for side in sides:
            det.max_side = side
            found = {iod: 0 for iod in IODS}
            close = {iod: 0 for iod in IODS}  # found, and the five points within 0.15 IOD of where they are
            false, t_load, t_detect = 0, 0.0, 0.0
            for path, placed in photos:
                times: dict = {}
                p = prepare_image(path, det, None, times=times)
                t_load, t_detect = t_load + times.get("load", 0.0), t_detect + times.get("detect", 0.0)
                faces = p.detection.faces if p.detection is not None else []
                hit: dict = {}
                for f in faces:
                    cx, cy = f.center
                    inside = [i for i, q in enumerate(placed) if q["box"][0] <= cx <= q["box"][2]
                              and q["box"][1] <= cy <= q["box"][3]]
                    if inside:
                        q = placed[inside[0]]
                        err = np.linalg.norm(f.landmarks - np.asarray(q["points"]), axis=1).mean() / q["iod"]
                        hit[inside[0]] = min(err, hit.get(inside[0], np.inf))
                    else:
                        false += 1
                for i, err in hit.items():
                    found[placed[i]["iod"]] += 1
                    close[placed[i]["iod"]] += bool(err < 0.15)
            n = len(photos)
            row = {"detector": name, "max_side": side, "found": found, "close": close, "false": false,
                   "load_ms": t_load / n * 1000, "detect_ms": t_detect / n * 1000}
            results.append(row)
            scale = 1.0 if side is None else side / 4000
            print(f"{name:6} side {str(side or 'full'):>5}: load {row['load_ms']:6.0f} ms, detect {row['detect_ms']:7.0f} ms"
                  f", false {false}; found of {n} by IOD px photo/working: "
                  + " ".join(f"{iod}/{iod * scale:.0f}:{found[iod]}({close[iod]})" for iod in IODS), flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"photos and results.json in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
