"""Where dlib's own 150 px chip puts the five ArcFace points, on average: the template of the
``dlib150_five`` preset (dlib's chip cut from any detector's five points).

dlib's chip (``dlib.get_face_chip``, padding 0.25) is fitted to its 5-point predictor's eye
corners and nose base, points no other detector gives. This maps the five ArcFace points of the
same faces (eye centres, nose tip, mouth corners from dlib's 68-point predictor) through each chip's
matrix and averages them over LFW's pairsDevTrain images (not the test pairs), so a face with
five ArcFace points (YuNet, MTCNN) can be cut onto dlib's chip by one similarity transform.

    python benchmarks/dlib_five_template.py            # prints the (5, 2) template, 150 px chip
"""

from __future__ import annotations

import numpy as np


def main() -> None:
    from facelab.data.datasets import LFW
    from facelab.stages.alignment import apply_transform, get_preset
    from facelab.stages.detection import hog_detector
    from facelab.stages.prepare import prepare_image

    det, preset = hog_detector(), get_preset("dlib150")
    pts = []
    for path in LFW().pair_images("devtrain").path:
        p = prepare_image(path, det, preset, policy="central")
        if p.ok:
            pts.append(apply_transform(p.aligned.matrix, p.face.landmarks))
    pts = np.stack(pts)
    print(f"{len(pts)} faces; mean (x, y) in the 150 px chip, then the spread (std) per point:")
    print(np.array2string(pts.mean(axis=0), precision=4, separator=", "))
    print(np.array2string(pts.std(axis=0), precision=2, separator=", "))


if __name__ == "__main__":
    main()
