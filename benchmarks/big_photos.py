"""Big photos, detector by detector: ms and peak memory per photo, faces found against faces placed.

Composes scenes of several LFW faces (inter-ocular distances 24 to 300 px at 4000x3000) on a
textured, face-free background (a smooth random field with sensor-like noise, so the JPEG costs
what a photo's does to decode), and writes each scene at 4000x3000 (12 megapixels) and the same
scene at larger sizes (6000x4500, 8000x6000: a higher-resolution camera, the faces as much
larger). Each (detector, size) runs in a fresh process: a warm-up on an LFW photo, then
``prepare_image(path, detector, arcface112, policy="largest")`` on every photo of that size,
the pipeline's own path (a JPEG decoded reduced for detection, the face's region decoded for its
chip), timed per stage, and the peak of its resident memory while it does so measured above what
it held before (``VmHWM`` of ``/proc/self/status``, reset before each photo through
``/proc/self/clear_refs``). A placed face counts as found when a detected box's centre lies inside it;
detections outside every placed face are counted as extra::

    python benchmarks/big_photos.py [--detectors yunet mtcnn dlib] [--photos 3] [--repeat 3]
                                    [--sizes 4000x3000 6000x4500 8000x6000] [--out DIR] [--json FILE]

Run it alone (``flock -x /tmp/facelab-cpu.lock``) for timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Inter-ocular distances (px) of the faces of a scene at 4000x3000.
IODS = (24, 40, 64, 110, 180, 300)
BASE = (4000, 3000)


def compose(out: Path, lfw, k: int, sizes) -> list[dict]:
    """Scene ``k``: one face per :data:`IODS` on a textured background, written at every size."""
    import numpy as np
    from PIL import Image

    from facelab.stages.detection import create_detector

    rng = np.random.default_rng(100 + k)
    det = create_detector("mtcnn")
    names = list(lfw.identities().identity[300 + 41 * k:])
    faces = []
    for iod in IODS:
        while True:  # an LFW photo with one clear face
            name = names.pop(0)
            im = Image.open(lfw.image_path(name, 1)).convert("RGB")
            r = det.detect(np.asarray(im))
            if r.ok and len(r.faces) == 1 and r.face.score > 0.99:
                break
        lm = r.face.landmarks
        faces.append((iod, name, im.crop((50, 40, 200, 210)), iod / np.linalg.norm(lm[1] - lm[0])))
    # Where the faces go at 4000x3000: a 3 x 2 grid of cells, jittered.
    cells = [(c, r) for r in range(2) for c in range(3)]
    order = rng.permutation(len(faces))
    layout = []
    for (iod, name, crop, s), cell in zip(faces, [cells[i] for i in order]):
        cw, ch = 150 * s, 170 * s
        cx = (cell[0] + 0.5) * BASE[0] / 3 + rng.uniform(-0.2, 0.2) * (BASE[0] / 3 - cw)
        cy = (cell[1] + 0.5) * BASE[1] / 2 + rng.uniform(-0.2, 0.2) * (BASE[1] / 2 - ch)
        layout.append((iod, name, crop, cx - cw / 2, cy - ch / 2, cw, ch))
    field = rng.uniform(40, 220, size=(12, 16, 3)).astype(np.uint8)
    written = []
    for w, h in sizes:
        f = w / BASE[0]
        bg = Image.fromarray(field).resize((w, h), Image.Resampling.BICUBIC)
        noisy = np.asarray(bg, dtype=np.int16) + rng.normal(0, 6, (h, w, 1)).astype(np.int16)
        bg = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        placed = []
        for iod, name, crop, x, y, cw, ch in layout:
            pw, ph = max(1, round(cw * f)), max(1, round(ch * f))
            px, py = round(x * f), round(y * f)
            resample = Image.Resampling.BICUBIC if pw > 150 else Image.Resampling.LANCZOS
            bg.paste(crop.resize((pw, ph), resample), (px, py))
            placed.append({"iod": iod * f, "name": name, "box": [px, py, px + pw, py + ph]})
        path = out / f"scene{k}_{w}x{h}.jpg"
        bg.save(path, quality=90)
        written.append({"path": str(path), "size": [w, h], "placed": placed})
    return written


def child(detector: str, photos_file: str, repeat: int) -> dict:
    """One (detector, size) in this fresh process: warm up, then time and measure every photo."""
    import numpy as np

    from facelab.data.datasets import LFW
    from facelab.engine.settings import make_detector
    from facelab.stages.alignment import get_preset
    from facelab.stages.prepare import prepare_image

    photos = json.loads(Path(photos_file).read_text())
    det, preset = make_detector(detector), get_preset("arcface112")
    lfw = LFW()
    for n in ("Colin_Powell", "Tony_Blair"):  # load the models, first calls
        prepare_image(lfw.image_path(n, 1), det, preset)
    prepare_image(photos[0]["path"], det, preset)  # first call at the working size (MTCNN's pyramid)
    rows = []
    for ph in photos:
        before = _reset_peak()
        prepare_image(ph["path"], det, preset)
        rise = _memory("VmHWM") - before
        times: list[dict] = []
        for _ in range(repeat):
            t = {}
            t0 = time.perf_counter()
            p = prepare_image(ph["path"], det, preset, times=t)
            t["total"] = time.perf_counter() - t0
            times.append(t)
        found, extra = set(), 0
        for f in (p.detection.faces if p.detection is not None else []):
            cx, cy = f.center
            hit = [k for k, q in enumerate(ph["placed"]) if q["box"][0] <= cx <= q["box"][2] and q["box"][1] <= cy <= q["box"][3]]
            found |= set(hit)
            extra += not hit
        rows.append({"path": ph["path"], "status": p.status.value, "reason": p.reason,
                     "ms": {k: 1000 * float(np.mean([t.get(k, 0.0) for t in times])) for k in ("load", "detect", "align", "total")},
                     "found": sorted(found), "n_placed": len(ph["placed"]), "extra": extra, "rise_mb": rise,
                     "before_mb": before})
    return {"detector": detector, "rows": rows}


def _memory(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> float:
    """Reset this process's peak resident memory to its current one (Linux 4.0+); returns it, MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _memory("VmRSS")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detectors", nargs="+", default=["yunet", "mtcnn", "dlib"])
    ap.add_argument("--sizes", nargs="+", default=["4000x3000", "6000x4500", "8000x6000"])
    ap.add_argument("--photos", type=int, default=3, help="scenes (each written at every size)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per photo (the mean is shown)")
    ap.add_argument("--out", default=None, help="folder for the photos (default: a temporary one)")
    ap.add_argument("--json", default=None, help="also write every figure here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--photos-file", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        Path(args.result).write_text(json.dumps(child(args.child, args.photos_file, args.repeat)))
        return 0

    import numpy as np

    from facelab.data.datasets import LFW

    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]
    out = Path(args.out or tempfile.mkdtemp(prefix="facelab-big-"))
    out.mkdir(parents=True, exist_ok=True)
    lfw = LFW()
    scenes = [compose(out, lfw, k, sizes) for k in range(args.photos)]
    print(f"{args.photos} scenes x {len(sizes)} sizes, {len(IODS)} faces each (inter-ocular distance "
          f"{', '.join(map(str, IODS))} px at 4000x3000), {os.cpu_count()} CPUs, load average at start "
          f"{os.getloadavg()[0]:.2f}; photos in {out}", flush=True)
    results = []
    for det in args.detectors:
        for si, size in enumerate(sizes):
            pf = out / f"photos_{size[0]}x{size[1]}.json"
            pf.write_text(json.dumps([sc[si] for sc in scenes]))
            res = out / f"result_{det}_{size[0]}x{size[1]}.json"
            subprocess.run([sys.executable, __file__, "--child", det, "--photos-file", str(pf), "--result", str(res),
                            "--repeat", str(args.repeat)], check=True)
            r = json.loads(res.read_text())
            r["size"] = list(size)
            results.append(r)
            ms = {k: float(np.mean([row["ms"][k] for row in r["rows"]])) for k in ("load", "detect", "align", "total")}
            found = sum(len(row["found"]) for row in r["rows"])
            placed = sum(row["n_placed"] for row in r["rows"])
            rise = max(row["rise_mb"] for row in r["rows"])
            print(f"  {det:<6} {size[0]}x{size[1]}: {ms['total']:7.1f} ms (load {ms['load']:.1f}, detect {ms['detect']:.1f}, "
                  f"align {ms['align']:.1f}), +{rise:.0f} MB peak (largest of the photos) above "
                  f"{r['rows'][0]['before_mb']:.0f} MB, "
                  f"found {found}/{placed}, extra {sum(row['extra'] for row in r['rows'])}", flush=True)
    print("\n| detector | photo | ms per photo (load / detect / align) | peak memory above the warmed-up process | "
          "faces found / placed (by inter-ocular distance at 4000x3000: " + ", ".join(map(str, IODS)) + ") | extra |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        ms = {k: float(np.mean([row["ms"][k] for row in r["rows"]])) for k in ("load", "detect", "align", "total")}
        by = [sum(k in row["found"] for row in r["rows"]) for k in range(len(IODS))]
        n = len(r["rows"])
        print(f"| {r['detector']} | {r['size'][0]}x{r['size'][1]} | {ms['total']:.0f} ({ms['load']:.0f} / {ms['detect']:.0f} / "
              f"{ms['align']:.1f}) | +{max(row['rise_mb'] for row in r['rows']):.0f} MB | {sum(by)}/{n * len(IODS)} "
              f"({' '.join(f'{b}/{n}' for b in by)}) | {sum(row['extra'] for row in r['rows'])} |")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
