"""YuNet in onnxruntime (facelab's decoder) against OpenCV's cv2.FaceDetectorYN, one thread each.

Milliseconds per photo for 100 LFW photos (250x250) and for a photo at 640x480, 1280x960 and
4000x3000 (an LFW photo enlarged: the network's cost depends on the size, not the content). Both
sides include decoding and NMS; neither includes reading the file. Run it on a quiet machine::

    python benchmarks/yunet_runtime.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time


def _opencv(cv2, path):
    """``detect(rgb)`` with one cv2.FaceDetectorYN per input size (FaceDetectorYN needs the size up front)."""
    import numpy as np

    made: dict = {}

    def detect(rgb):
        h, w = rgb.shape[:2]
        if (w, h) not in made:
            made[(w, h)] = cv2.FaceDetectorYN.create(path, "", (w, h), 0.6, 0.3, 5000)
        return made[(w, h)].detect(np.ascontiguousarray(rgb[:, :, ::-1]))

    return detect


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    import cv2
    import numpy as np
    from PIL import Image

    from facelab.data.datasets import LFW
    from facelab.data.imageio import load_image
    from facelab.models.weights import locate_weights
    from facelab.stages.detectors.yunet import YuNetDetector

    cv2.setNumThreads(1)
    if hasattr(cv2, "utils") and hasattr(cv2.utils, "logging"):
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    lfw = LFW()
    paths = list(lfw.images().path)[::130][:100]
    small = [load_image(p) for p in paths]
    big = {f"{w}x{h}": np.asarray(Image.fromarray(small[0]).resize((w, h), Image.Resampling.BILINEAR))
           for w, h in ((640, 480), (1280, 960), (4000, 3000))}

    print(f"{'model':8} {'runtime':12} {'LFW 250x250':>12} " + " ".join(f"{k:>10}" for k in big))
    for model in ("yunet_n",):
        ours = YuNetDetector(model=model, threads=1)
        ours.max_side = None
        for name, fn in (("onnxruntime", ours.raw), ("cv2", _opencv(cv2, str(locate_weights(model))))):
            for im in [small[0], *big.values()]:
                fn(im)  # warm up every size
            t = time.perf_counter()
            for _ in range(args.repeat):
                for im in small:
                    fn(im)
            row = [(time.perf_counter() - t) / (args.repeat * len(small)) * 1000]
            for im in big.values():
                n = args.repeat if im.shape[1] >= 4000 else 10 * args.repeat
                t = time.perf_counter()
                for _ in range(n):
                    fn(im)
                row.append((time.perf_counter() - t) / n * 1000)
            print(f"{model:8} {name:12} {row[0]:>9.1f} ms " + " ".join(f"{v:>7.1f} ms" for v in row[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
