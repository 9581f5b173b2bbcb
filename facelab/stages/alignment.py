"""Face alignment: a similarity transform that puts five landmarks on a template.

The ArcFace template places the eyes, nose tip and mouth corners of a 112x112 face at fixed
positions (:data:`ARCFACE_TEMPLATE`). :func:`align_face` estimates the similarity transform
(rotation, uniform scale, translation) that maps a face's five detected points closest to the
template in the least-squares sense, and warps the image with it. The ``residual`` (RMS distance,
in output pixels, between the mapped points and the template) says how well the face fits the
template: large values mean a profile view, an odd expression or a bad detection.

Presets name a whole preparation recipe, as each embedder expects its own input:

* ``"arcface112"``: the ArcFace 112x112 alignment.
* ``"seed64"``: the reference 64x64 model's recipe: ArcFace 112 alignment, then
  ``Resize(73)`` (bilinear, as torchvision does on a PIL image) and ``CenterCrop(64)``.
* ``"dlib150"``: dlib's own 150x150 chip, the input of dlib's ResNet embedder: for a face with
  dlib's 68 points (dlib's detectors), dlib's 5-point predictor in its box + ``get_face_chip``
  (padding 0.25); for a face from any other detector (YuNet, MTCNN), the ``"dlib150_five"`` chip.
* ``"dlib150_five"``: the same chip cut from the face's own five points (any detector's), without
  dlib's 5-point predictor.

The similarity is the closed-form least-squares fit (Umeyama 1991, as skimage's
``SimilarityTransform`` estimates it; :func:`similarity_matrix`) and the warp OpenCV's bilinear
``warpAffine``: the same chips as skimage's ``warp`` to one grey level, a fifth of the time, and
neither imports scipy (about 0.6 s in every new process).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from facelab.core.registry import Registry
from facelab.stages.faces import Face

__all__ = [
    "ARCFACE_TEMPLATE",
    "DLIB150_FIVE_TEMPLATE",
    "template",
    "similarity_matrix",
    "estimate_transform",
    "warp_affine",
    "apply_transform",
    "fit_template",
    "AlignedFace",
    "align_face",
    "Preset",
    "PRESETS",
    "register_preset",
    "get_preset",
    "align_dataset",
]

ARCFACE_SIZE = 112
#: The five ArcFace points (left eye, right eye, nose tip, left and right mouth corners, as seen
#: in the image) in a 112x112 output, pixel coordinates.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
ARCFACE_TEMPLATE.setflags(write=False)


def template(size: int = ARCFACE_SIZE) -> np.ndarray:
    """The ArcFace template for a ``size`` x ``size`` output (scaled by ``size / 112``)."""
    return ARCFACE_TEMPLATE * (float(size) / ARCFACE_SIZE)


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 least-squares similarity (rotation, uniform scale, translation) mapping ``src`` onto ``dst``.

    Umeyama's closed form (IEEE PAMI 1991), without reflection: what skimage's
    ``SimilarityTransform`` estimates (tested equal), in numpy alone.

    Raises
    ------
    ValueError
        If the points are not finite, or degenerate (e.g. all equal) so that no transform exists.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ValueError("landmarks contain NaN or infinite values")
    if src.shape != dst.shape:
        raise ValueError(f"{len(src)} source points but {len(dst)} destination points")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s0, d0 = src - mu_s, dst - mu_d
    var = (s0**2).sum() / len(src)
    cov = d0.T @ s0 / len(src)
    u, sv, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(cov) < 0:
        sign[1] = -1.0
    rank = np.linalg.matrix_rank(cov)
    if var <= 0 or rank == 0:
        raise ValueError("cannot estimate a similarity transform from these landmarks")
    if rank == 1:  # collinear points: the rotation without a reflection, as skimage chooses it
        rot = u @ vt if np.linalg.det(u) * np.linalg.det(vt) > 0 else u @ np.diag([1.0, -1.0]) @ vt
    else:
        rot = u @ np.diag(sign) @ vt
    scale = float((sv * sign).sum() / var)
    m = np.eye(3)
    m[:2, :2] = scale * rot
    m[:2, 2] = mu_d - scale * rot @ mu_s
    if not np.isfinite(m).all():
        raise ValueError("cannot estimate a similarity transform from these landmarks")
    return m


def estimate_transform(src: np.ndarray, dst: np.ndarray):
    """:func:`similarity_matrix` as a ``skimage.transform.SimilarityTransform`` (``.params`` is the matrix).

    Raises
    ------
    ValueError
        If the points are degenerate (e.g. all equal) and no transform can be estimated.
    """
    from skimage.transform import SimilarityTransform

    return SimilarityTransform(matrix=similarity_matrix(src, dst))


def warp_affine(image: np.ndarray, matrix: np.ndarray, size: int | tuple) -> np.ndarray:
    """Warp ``image`` by the 3x3 (or 2x3) image-to-output ``matrix`` into a ``size`` output.

    Bilinear interpolation (OpenCV's ``warpAffine``), black outside the image; returns ``uint8``.
    Only the part of the image the output covers is read, so the cost does not depend on the
    input size. Where the output has fewer than half a pixel per image pixel (a large face in a
    big photo), that part is first averaged over ``k x k`` blocks (``k = floor(1 / (2 scale))``),
    so the chip is not aliased; at LFW's scale (about one chip pixel per image pixel) nothing is.
    """
    import cv2

    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (2, 3):
        m = np.vstack([m, [0.0, 0.0, 1.0]])
    h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    inv = np.linalg.inv(m)
    # The output grid's footprint in the image, with 2 pixels to spare for the bilinear neighbours.
    foot = apply_transform(inv, np.array([[-1.0, -1.0], [w, -1.0], [-1.0, h], [w, h]]))
    x0 = int(np.clip(np.floor(foot[:, 0].min()) - 2, 0, image.shape[1]))
    x1 = int(np.clip(np.ceil(foot[:, 0].max()) + 3, 0, image.shape[1]))
    y0 = int(np.clip(np.floor(foot[:, 1].min()) - 2, 0, image.shape[0]))
    y1 = int(np.clip(np.ceil(foot[:, 1].max()) + 3, 0, image.shape[0]))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((h, w) + image.shape[2:], np.uint8)  # the output lies wholly outside the image
    region = image[y0:y1, x0:x1]
    local = m @ np.array([[1.0, 0, x0], [0, 1.0, y0], [0, 0, 1.0]])  # region pixels -> output
    k = int(1.0 / (2.0 * np.sqrt(abs(np.linalg.det(m[:2, :2])))))
    if k >= 2 and min(region.shape[:2]) >= 2 * k:
        from PIL import Image

        region = np.asarray(Image.fromarray(np.ascontiguousarray(region)).reduce(k))
        # Block centres: a reduced pixel j covers region pixels [j k, (j + 1) k).
        local = local @ np.array([[k, 0, (k - 1) / 2.0], [0, k, (k - 1) / 2.0], [0, 0, 1.0]])
    # OpenCV samples output pixel (x, y) at inverse(local) @ (x, y), pixel centres on integers, as skimage does.
    return cv2.warpAffine(np.ascontiguousarray(region), local[:2], (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def apply_transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points mapped by a 3x3 (or 2x3) affine ``matrix``."""
    m = np.asarray(matrix, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:2, :2].T + m[:2, 2]


def fit_template(landmarks: np.ndarray, *, size: int = ARCFACE_SIZE) -> tuple[np.ndarray, np.ndarray, float]:
    """The least-squares similarity of five points onto the ArcFace template at ``size``.

    Returns
    -------
    matrix : (3, 3) ndarray
        Image-to-chip transform.
    mapped : (5, 2) ndarray
        The points in the chip.
    residual : float
        RMS distance (chip pixels) of ``mapped`` from the template: what a similarity cannot
        explain (a turned head, misplaced points).
    """
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    dst = template(size)
    matrix = similarity_matrix(landmarks, dst)
    mapped = apply_transform(matrix, landmarks)
    return matrix, mapped, float(np.sqrt(np.mean(np.sum((mapped - dst) ** 2, axis=1))))


@dataclass
class AlignedFace:
    """An aligned face chip.

    Attributes
    ----------
    image : numpy.ndarray
        ``(size, size, 3)`` uint8 RGB.
    matrix : numpy.ndarray
        ``3x3`` transform from source-image pixel coordinates to chip coordinates.
    residual : float
        RMS distance in chip pixels between the transformed landmarks and the template. dlib's
        chip has no five-point template of its own: for ``dlib150`` it is the five points' fit
        to the ArcFace template in 112-pixel units (:meth:`Preset.residual`), so that it means
        the same across presets.
    landmarks : numpy.ndarray or None
        The face's five landmarks mapped into the chip.
    """

    image: np.ndarray
    matrix: np.ndarray
    residual: float
    landmarks: Optional[np.ndarray] = None

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    def transform_points(self, points: np.ndarray) -> np.ndarray:
        """Map ``(N, 2)`` source-image points into the chip."""
        return apply_transform(self.matrix, points)


def align_face(image: np.ndarray, landmarks: np.ndarray, *, size: int = ARCFACE_SIZE) -> AlignedFace:
    """Align one face to the ArcFace template.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB source image.
    landmarks : numpy.ndarray
        ``(5, 2)`` points in ArcFace order (:class:`~facelab.stages.faces.Keypoint`), image pixels.
    size : int
        Output side; the template is scaled by ``size / 112``.

    Returns
    -------
    AlignedFace
    """
    matrix, mapped, residual = fit_template(landmarks, size=size)
    return AlignedFace(image=warp_affine(image, matrix, size), matrix=matrix, residual=residual, landmarks=mapped)


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------


#: Alignment presets by name: ``@register_preset("name")`` on a :class:`Preset` subclass
#: (constructed without arguments). ``"arcface<N>"`` names are resolved by :func:`get_preset`.
PRESETS = Registry("alignment preset")
register_preset = PRESETS.register


class Preset:
    """A named preparation recipe: ``preset(image, face) -> AlignedFace``.

    Attributes
    ----------
    name : str
    size : int
        Side of the square output.
    """

    name: str = "?"
    size: int = 0

    def __call__(self, image: np.ndarray, face: Face) -> AlignedFace:  # pragma: no cover - abstract
        raise NotImplementedError

    def template(self) -> Optional[np.ndarray]:
        """Where the five ArcFace points should land in the output, or None if not defined."""
        return None

    def residual(self, face: Face) -> float:
        """The alignment residual this preset gives ``face`` (from its landmarks alone, no image).

        Used where a chip is not made again (cached faces), so it must equal the ``residual``
        of the :class:`AlignedFace` that ``preset(image, face)`` returns.
        """
        return fit_template(face.landmarks, size=ARCFACE_SIZE)[2]

    def chip_scale(self, face: Face) -> float:
        """Chip pixels per image pixel for ``face`` (from its five points): how much of the image's
        resolution the chip can use (a big face in a big photo: a small fraction)."""
        t = self.template()
        if t is None:  # dlib's chip: where it puts the five points on average
            t = DLIB150_FIVE_TEMPLATE * (self.size / 150.0)
        return float(np.sqrt(abs(np.linalg.det(similarity_matrix(face.landmarks, t)[:2, :2]))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, size={self.size})"


@register_preset("arcface112", size=ARCFACE_SIZE)
class ArcFacePreset(Preset):
    """ArcFace alignment at ``size`` (default 112)."""

    def __init__(self, size: int = ARCFACE_SIZE, name: Optional[str] = None):
        self.size = int(size)
        self.name = name or f"arcface{self.size}"

    def __call__(self, image: np.ndarray, face: Face) -> AlignedFace:
        return align_face(image, face.landmarks, size=self.size)

    def template(self) -> np.ndarray:
        return template(self.size)

    def residual(self, face: Face) -> float:
        return fit_template(face.landmarks, size=self.size)[2]


@register_preset("seed64", size=64)
class Seed64Preset(Preset):
    """The reference 64x64 model's recipe: ArcFace 112, ``Resize(73)``, ``CenterCrop(64)``.

    ``73 = int(128 * 64 / 112)``; the resize is Pillow bilinear (what torchvision does on PIL
    images) and the crop offset is torchvision's ``int(round((73 - 64) / 2))``.
    """

    name = "seed64"
    size = 64
    resize = int(128 * 64 / 112)  # 73

    def __init__(self):
        self._crop = int(round((self.resize - self.size) / 2.0))
        s = self.resize / ARCFACE_SIZE
        # Pillow maps pixel centres: x_out = (x_in + 0.5) * s - 0.5; then the crop shifts.
        off = 0.5 * s - 0.5 - self._crop
        self._post = np.array([[s, 0.0, off], [0.0, s, off], [0.0, 0.0, 1.0]])

    def __call__(self, image: np.ndarray, face: Face) -> AlignedFace:
        from PIL import Image

        a = align_face(image, face.landmarks, size=ARCFACE_SIZE)
        resized = Image.fromarray(a.image).resize((self.resize, self.resize), Image.BILINEAR)
        c = self._crop
        chip = np.asarray(resized)[c : c + self.size, c : c + self.size].copy()
        matrix = self._post @ a.matrix
        return AlignedFace(
            image=chip,
            matrix=matrix,
            residual=a.residual * self.resize / ARCFACE_SIZE,
            landmarks=apply_transform(matrix, face.landmarks),
        )

    def template(self) -> np.ndarray:
        return apply_transform(self._post, ARCFACE_TEMPLATE)

    def residual(self, face: Face) -> float:
        return fit_template(face.landmarks, size=ARCFACE_SIZE)[2] * self.resize / ARCFACE_SIZE


def dlib_shape5(image: np.ndarray, face: Face):
    """dlib's 5-point shape (eye corners and nose base) inside ``face.box``."""
    import dlib

    from facelab.models.dlib_files import dlib_object

    x1, y1, x2, y2 = (int(round(v)) for v in face.box)
    rect = dlib.rectangle(x1, y1, x2 - 1, y2 - 1)
    return dlib_object("shape5")(np.ascontiguousarray(image), rect)


def _chip_matrix(details) -> np.ndarray:
    """Image-to-chip similarity matrix of a dlib ``chip_details`` (as dlib's get_mapping_to_chip)."""
    r = details.rect
    cx, cy = (r.left() + r.right()) / 2.0, (r.top() + r.bottom()) / 2.0
    corners = np.array([[r.left(), r.top()], [r.right(), r.top()], [r.right(), r.bottom()], [r.left(), r.bottom()]])
    a = details.angle
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    src = (corners - [cx, cy]) @ rot.T + [cx, cy]
    dst = np.array([[0, 0], [details.cols - 1, 0], [details.cols - 1, details.rows - 1], [0, details.rows - 1]], dtype=float)
    return similarity_matrix(src, dst)


def dlib_chip(image: np.ndarray, face: Face, *, size: int = 150, padding: float = 0.25) -> AlignedFace:
    """dlib's own face chip: the 5-point predictor on ``face.box``, then ``dlib.get_face_chip``."""
    import dlib

    image = np.ascontiguousarray(image)
    shape = dlib_shape5(image, face)
    chip = dlib.get_face_chip(image, shape, size=size, padding=padding)
    details = dlib.get_face_chip_details(shape, size=size, padding=padding)
    matrix = _chip_matrix(details)
    return AlignedFace(
        image=np.asarray(chip, dtype=np.uint8),
        matrix=matrix,
        # No template of its own: the five points' fit to ArcFace's, in 112-pixel units.
        residual=fit_template(face.landmarks, size=ARCFACE_SIZE)[2],
        landmarks=apply_transform(matrix, face.landmarks),
    )


@register_preset("dlib150", size=150)
class Dlib150Preset(Preset):
    """dlib's 150x150 chip (padding 0.25), the input of dlib's ResNet embedder.

    A face from dlib's own detectors (it carries dlib's 68 points) gets dlib's chip: the 5-point
    predictor in its box, then ``get_face_chip``, as dlib's pipeline cuts it. A face from any
    other detector (YuNet, MTCNN: five points of its own, no 68) gets the ``dlib150_five`` chip
    from those points: dlib's predictor in a box it was not trained on places the chip worse
    (LFW, dlib's ResNet with YuNet: 98.53% with the predictor in YuNet's box, 98.93% from YuNet's
    points; see the README).
    """

    name = "dlib150"
    size = 150

    def __call__(self, image: np.ndarray, face: Face) -> AlignedFace:
        if face.landmarks68 is None:
            return Dlib150FivePreset()(image, face)
        return dlib_chip(image, face, size=self.size, padding=0.25)


#: Where dlib's own 150 px chip (padding 0.25) puts the five ArcFace points, on average over LFW's
#: pairsDevTrain faces (``python benchmarks/dlib_five_template.py``: 3,427 faces; the eyes vary by
#: 1.6 px around these, the nose and mouth corners by 5-7 px).
DLIB150_FIVE_TEMPLATE = np.array(
    [[47.0020, 46.2760], [100.0762, 46.2525], [73.3579, 75.2406], [49.4728, 104.3535], [97.7350, 104.4002]],
)
DLIB150_FIVE_TEMPLATE.setflags(write=False)


@register_preset("dlib150_five", size=150)
class Dlib150FivePreset(Preset):
    """dlib's 150x150 chip cut from the face's own five points, without dlib's 5-point predictor.

    The least-squares similarity of the five ArcFace points onto :data:`DLIB150_FIVE_TEMPLATE`
    (where dlib's chip puts them on average), so a detector that gives five points (YuNet, MTCNN)
    feeds dlib's ResNet without running dlib's predictor inside its box.
    """

    name = "dlib150_five"
    size = 150

    def __call__(self, image: np.ndarray, face: Face) -> AlignedFace:
        landmarks = np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2)
        matrix = similarity_matrix(landmarks, DLIB150_FIVE_TEMPLATE)
        return AlignedFace(image=warp_affine(image, matrix, self.size), matrix=matrix,
                           residual=fit_template(landmarks, size=ARCFACE_SIZE)[2],
                           landmarks=apply_transform(matrix, landmarks))

    def residual(self, face: Face) -> float:
        return fit_template(face.landmarks, size=ARCFACE_SIZE)[2]


def get_preset(name: str, *, size: Optional[int] = None) -> Preset:
    """A preset by name (a :class:`Preset` is returned as it is).

    Parameters
    ----------
    name : {"arcface112", "seed64", "dlib150"}
        Or ``"arcface<N>"`` for ArcFace alignment at ``N`` pixels.
    size : int, optional
        Only for ArcFace presets: the output side (overrides the name's).

    Raises
    ------
    facelab.core.errors.UnknownNameError
        For a name no preset is registered under (the message lists them).
    """
    if isinstance(name, Preset):
        return name
    if name.startswith("arcface"):
        digits = name[len("arcface") :]
        if size is None and digits:
            if not digits.isdigit():
                PRESETS.get(name)  # raises UnknownNameError listing the presets
            size = int(digits)
        return ArcFacePreset(size or ARCFACE_SIZE, name=None if size else name)
    factory = PRESETS.get(name)
    fixed = PRESETS.info(name).get("size")
    if size is not None and size != fixed:
        raise ValueError(f"preset {name!r} has a fixed size of {fixed}, not {size}")
    return factory()


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


def _image_bytes(array: np.ndarray, fmt: str) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def align_dataset(
    images_df,
    out_dir: os.PathLike | str,
    *,
    preset="arcface112",
    detector="dlib",
    policy: str = "largest",
    image_format: str = "png",
    progress: bool = True,
):
    """Detect, align and write every image of a dataset table.

    Each image goes through :func:`facelab.stages.prepare.prepare_image` (load, detect, align: the
    image is decoded once).

    Parameters
    ----------
    images_df : pandas.DataFrame
        Columns ``image_id`` (``<identity>/<stem>`` as from
        :func:`~facelab.data.datasets.read_identity_folders`), ``path``, ``identity``.
    out_dir : path-like
        Written as ``out_dir/<image_id>.<format>``, so it mirrors the source identity folders.
    preset : str or Preset
        See :func:`get_preset`.
    detector : str or Detector
        A backend name for :func:`~facelab.stages.detection.create_detector`, or a detector.
    policy : {"largest", "central"}
    image_format : {"png", "jpg"}
    progress : bool

    Returns
    -------
    pandas.DataFrame
        One row per input image: ``image_id``, ``path``, ``identity``, ``status`` (``ok``,
        ``no_face``, ``error``), ``reason``, ``faces`` (count), ``residual``, ``output`` (the
        written file, or None). Also written to ``out_dir/alignment.csv`` at the end.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from facelab.core.atomic import atomic_write_bytes, atomic_write_text
    from facelab.stages.detection import choose_face, create_detector
    from facelab.stages.prepare import prepare_image

    if image_format not in ("png", "jpg", "jpeg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    choose_face([], (1, 1), policy)  # validate the policy before the work
    preset = get_preset(preset)
    det = create_detector(detector)
    fmt = "PNG" if image_format == "png" else "JPEG"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = images_df.reset_index(drop=True)
    rows = []
    for rec in tqdm(list(df.itertuples(index=False)), desc=f"align ({det.name})", unit="img", disable=not progress):
        prep = prepare_image(rec.path, det, preset, policy=policy)
        row = {
            "image_id": rec.image_id,
            "path": rec.path,
            "identity": rec.identity,
            "status": prep.status.value,
            "reason": prep.reason,
            "faces": prep.n_faces,
            "residual": float("nan"),
            "output": None,
        }
        if prep.ok:
            target = out_dir / f"{rec.image_id}.{image_format}"
            try:
                atomic_write_bytes(target, _image_bytes(prep.aligned.image, fmt))
                row.update(residual=prep.aligned.residual, output=str(target))
            except OSError as exc:
                row.update(status="error", reason=f"cannot write ({type(exc).__name__}: {exc})")
        rows.append(row)
    table = pd.DataFrame(
        rows, columns=["image_id", "path", "identity", "status", "reason", "faces", "residual", "output"]
    )
    atomic_write_text(out_dir / "alignment.csv", table.to_csv(index=False))
    return table
