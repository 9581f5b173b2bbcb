"""Face thumbnails for pages: square ``uint8`` crops (:func:`make_thumbnails`) and small inlined PNG
``data:`` URIs (:func:`thumbnail_uris`), with an evenly spread subset per identity for large sets
(:func:`spread_subset`)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["BLANK_URI", "make_thumbnails", "spread_subset", "thumbnail_uris"]

#: A tiny transparent GIF: the hover image of faces without a thumbnail.
BLANK_URI = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


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


def thumbnail_uris(thumbnails, *, size: int = 32, rows: Sequence[int] | None = None) -> list[str]:
    """``data:image/png;base64,...`` URIs of thumbnails downsampled to ``size`` px.

    ``rows`` limits which get one (the others get :data:`BLANK_URI`); ``None`` entries too.
    """
    from PIL import Image

    want = set(range(len(thumbnails))) if rows is None else {int(r) for r in rows}
    uris = []
    for n, img in enumerate(thumbnails):
        if n not in want or img is None:
            uris.append(BLANK_URI)
            continue
        buf = io.BytesIO()
        Image.fromarray(_square(img, size)).save(buf, format="PNG", optimize=True)
        uris.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
    return uris


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
