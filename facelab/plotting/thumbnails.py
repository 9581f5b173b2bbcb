"""Face thumbnails for pages: square ``uint8`` crops (:func:`make_thumbnails`), sheets of many faces
in one JPEG each (:func:`thumbnail_sheets`: what the explorer ships), and an evenly spread subset per
identity (:func:`spread_subset`).

A page with thousands of faces does not carry a ``data:`` URI per face: :func:`thumbnail_sheets`
tiles the faces into a few JPEG sheets (256 faces each; about 0.6 KB a face at 48 px, against 4 KB
for a PNG of its own), each sheet a CSS custom property of the page's root
(``--facelab-<key>-<k>: url(data:...)``, ``key`` from the sheets' content so two sets on one page
do not clash), and a face is its sheet and offset (``var(--facelab-<key>-3) -96px -48px``), used as
an element's ``background``. A browser decodes a sheet only when one of its faces is drawn
(hovered, listed), and custom properties pass into the shadow trees Bokeh draws in.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["ThumbnailSheets", "jpeg_data_uri", "make_thumbnails", "spread_subset", "sheets_css", "thumbnail_sheets"]

def _square(img: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise EvaluationError(f"thumbnails must be uint8 images, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise EvaluationError(f"thumbnails must be (H, W, 3) images, got shape {arr.shape}")
    im = Image.fromarray(np.ascontiguousarray(arr[..., :3]))
    scale = size / max(im.width, im.height)
    im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return np.asarray(canvas)


def make_thumbnails(images: Sequence, *, boxes: Sequence | None = None, size: int = 64,
                    margin: float = 0.25) -> np.ndarray:
    """Square ``uint8`` thumbnails ``(N, size, size, 3)`` from image paths or arrays.

    Use it when no aligned chips are at hand (``embed_images(..., keep_chips=True)`` gives them):
    with ``boxes`` (``x0, y0, x1, y1`` per image, e.g. the pipeline table's ``box`` column) each
    thumbnail is the face with ``margin`` of its size around it, else the whole image.

    Raises
    ------
    facelab.data.imageio.ImageLoadError
        When a path cannot be read (the explorer never shows a wrong face silently).
    """
    from facelab.data.imageio import load_image

    out = np.empty((len(images), size, size, 3), np.uint8)
    for n, img in enumerate(images):
        arr = load_image(img) if isinstance(img, (str, bytes)) or hasattr(img, "__fspath__") else np.asarray(img)
        box = None if boxes is None else boxes[n]
        if box is not None and np.size(box) == 4 and np.all(np.isfinite(np.asarray(box, float))):
            x0, y0, x1, y1 = (float(v) for v in box)
            cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * (0.5 + margin)
            h, w = arr.shape[:2]
            a, b = int(max(0, cy - half)), int(min(h, cy + half))
            c, d = int(max(0, cx - half)), int(min(w, cx + half))
            if b > a and d > c:
                arr = arr[a:b, c:d]
        out[n] = _square(arr, size)
    return out


def spread_subset(identities, m: int, *, seed: int = 0) -> np.ndarray:
    """``m`` rows spread over identities (round-robin over identities, random within each)."""
    identities = np.asarray(identities)
    rng = np.random.default_rng(seed)
    groups = [rng.permutation(np.flatnonzero(identities == u)) for u in pd.unique(identities)]
    picked: list[int] = []
    depth = 0
    while len(picked) < m:
        layer = [grp[depth] for grp in groups if depth < grp.size]
        if not layer:
            break
        picked.extend(layer[:m - len(picked)])
        depth += 1
    return np.sort(np.asarray(picked, np.int64))


#: Faces per sheet (16 x 16): a sheet is decoded when one of its faces is first shown.
SHEET_FACES = 256
SHEET_COLUMNS = 16


@dataclass(frozen=True)
class ThumbnailSheets:
    """Faces tiled into JPEG sheets (:func:`thumbnail_sheets`).

    Attributes
    ----------
    backgrounds : list of str
        Per face, a CSS ``background`` value that shows it in a ``size`` x ``size`` box
        (``var(--facelab-<key>-<k>) -<x>px -<y>px``); ``""`` for a face without a thumbnail.
    sheets : list of str
        The sheets as ``data:image/jpeg;base64,...`` URIs.
    size : int
        Thumbnail side (px).
    key : str
        Names the sheets' custom properties (from their content).
    """

    backgrounds: list
    sheets: list
    size: int
    key: str = ""

    @property
    def n_thumbnails(self) -> int:
        return sum(bool(b) for b in self.backgrounds)

    def css(self, selector: str = ":root") -> str:
        """The rule that defines every sheet's custom property on ``selector`` (once per page)."""
        return sheets_css(self.sheets, self.key, selector)

    @property
    def nbytes(self) -> int:
        """Characters of the sheets' URIs (what they add to a page)."""
        return sum(len(s) for s in self.sheets)


def sheets_css(sheets: Sequence[str], key: str, selector: str = ":root") -> str:
    """``selector{--facelab-<key>-0:url(...);...}``: the custom property of each sheet URI."""
    props = "".join(f"--facelab-{key}-{k}:url({uri});" for k, uri in enumerate(sheets))
    return f"{selector}{{{props}}}" if props else ""


def jpeg_data_uri(image, *, quality: int = 85, **save_options) -> str:
    """A picture as a ``data:image/jpeg;base64,...`` URI, for a self-contained page.

    ``image`` is an (H, W, 3) uint8 array or a PIL image; ``save_options`` go to Pillow's JPEG
    writer (e.g. ``optimize=True, progressive=True``).
    """
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, **save_options)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thumbnail_sheets(thumbnails, *, size: int = 64, rows: Sequence[int] | None = None,
                     quality: int = 80) -> ThumbnailSheets:
    """Tile faces into JPEG sheets of :data:`SHEET_FACES` (see the module docstring).

    Parameters
    ----------
    thumbnails : sequence of (H, W, 3) uint8 arrays (or None)
        One per face; each is made square and ``size`` px (:func:`_square`).
    size : int
    rows : sequence of int, optional
        Only these faces get a thumbnail (the others, and ``None`` entries, get ``""``).
    quality : int
        JPEG quality of the sheets.
    """
    import hashlib

    from PIL import Image

    want = range(len(thumbnails)) if rows is None else sorted({int(r) for r in rows})
    chosen = [n for n in want if thumbnails[n] is not None]
    places, sheets = {}, []
    for first in range(0, len(chosen), SHEET_FACES):
        part = chosen[first:first + SHEET_FACES]
        n_rows = -(-len(part) // SHEET_COLUMNS)
        sheet = Image.new("RGB", (min(len(part), SHEET_COLUMNS) * size, n_rows * size), (255, 255, 255))
        for m, n in enumerate(part):
            x, y = (m % SHEET_COLUMNS) * size, (m // SHEET_COLUMNS) * size
            sheet.paste(Image.fromarray(_square(thumbnails[n], size)), (x, y))
            places[n] = (len(sheets), x, y)
        sheets.append(jpeg_data_uri(sheet, quality=quality, optimize=True, progressive=True))
    key = hashlib.sha256("".join(sheets).encode()).hexdigest()[:10]
    backgrounds = [""] * len(thumbnails)
    for n, (k, x, y) in places.items():
        backgrounds[n] = f"var(--facelab-{key}-{k}) -{x}px -{y}px"
    return ThumbnailSheets(backgrounds, sheets, int(size), key)
