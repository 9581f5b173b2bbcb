"""Reading real-world image files into RGB ``uint8`` arrays.

Photos arrive in every shape: EXIF-rotated phone pictures, greyscale scans, PNGs with an
alpha channel, CMYK JPEGs from print workflows, 16-bit TIFF/PNG, palette GIFs, truncated
downloads and files that are not images at all. :func:`load_image` turns every usable one
into an ``(H, W, 3)`` ``uint8`` RGB array, upright, and raises :class:`ImageLoadError` with a
short reason for everything else, so that batch code can record the reason as a skip.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["ImageLoadError", "MAX_PIXELS", "load_image", "load_image_reduced", "load_image_region", "find_images",
           "unopenable_reason"]

# Leading bytes of the formats recognised as images by content (names are never looked at).
_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",  # BMP
    b"II*\x00",  # TIFF little-endian
    b"MM\x00*",  # TIFF big-endian
    b"P5",
    b"P6",  # PGM/PPM
)

#: Images larger than this many pixels are refused (decompression-bomb guard): Pillow's own hard
#: limit, 178,956,970 pixels (about 16,000 x 11,000), so one limit and one message hold for every format.
MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS


class ImageLoadError(Exception):
    """An image file could not be turned into an RGB array.

    Attributes
    ----------
    path : str
        The file that failed.
    reason : str
        A short human-readable reason, suitable for a "skipped" table.
    content : bool
        True when the file's bytes decide the failure (not an image, truncated, too large), so
        the same bytes always fail the same way; False when the file could not be opened at all
        (missing, a directory, no permission), which may change without the content changing.
    """

    def __init__(self, path: os.PathLike | str, reason: str, *, content: bool = True):
        self.path = str(path)
        self.reason = reason
        self.content = bool(content)
        super().__init__(f"{self.path}: {reason}")


def is_image_file(path: os.PathLike | str) -> bool:
    """Whether ``path`` looks like an image by its content (not its name).

    Hidden files (a leading dot, e.g. macOS ``._`` resource forks and ``.DS_Store``) are never
    images. WebP is recognised by its RIFF container header.
    """
    path = Path(path)
    if path.name.startswith(".") or not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(m) for m in _MAGIC)


def find_images(folder: os.PathLike | str) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every image file under ``folder`` (recursively, recognised by content), sorted.

    Hidden files and anything inside hidden folders (leading dot) are ignored.

    Returns
    -------
    images : list of Path
    skipped : list of (str, str)
        ``(path, reason)`` for every other (non-hidden) file.
    """
    folder = Path(folder)
    images, skipped = [], []
    for f in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in f.relative_to(folder).parts) or f.is_dir():
            continue
        if is_image_file(f):
            images.append(f)
        else:
            skipped.append((str(f), "not an image (unrecognised content)"))
    return images, skipped


def unopenable_reason(path: os.PathLike | str) -> str | None:
    """Why ``path`` cannot be opened as an image file at all (``"file not found"``, ``"is a folder,
    not an image"``), or None. :func:`load_image` gives these reasons too; a command that takes a
    single photo checks with it before loading any model."""
    path = Path(path)
    if path.is_dir():
        return "is a folder, not an image"
    if not path.exists():
        return "file not found"
    return None


def _to_rgb_uint8(img: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to an ``(H, W, 3)`` uint8 RGB array."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit greyscale: scale by the type's range, not clip, so detail survives.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        # Composite transparent pixels on white, as a viewer would show them.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.array(img, dtype=np.uint8)  # a writable copy of the pixels


def _too_large(path, w: int, h: int, max_pixels: int) -> ImageLoadError:
    return ImageLoadError(path, f"image too large: {w}x{h} = {w * h:,} pixels (limit {max_pixels:,})")


@contextmanager
def _decoded(path: os.PathLike | str, *, max_pixels: int, draft_side: Optional[int] = None) -> Iterator:
    """The upright, decoded Pillow image of ``path``, its full upright ``(height, width)`` and the scale
    of the decode (``1.0``, or ``1/2``, ``1/4``, ``1/8`` for a JPEG decoded reduced).

    ``draft_side``: a JPEG whose longest side exceeds it is decoded reduced in the DCT
    (:meth:`PIL.Image.Image.draft`: by 2, 4 or 8, never below ``draft_side``): a fraction of the
    time and memory of a full decode. Every failure becomes an :class:`ImageLoadError`.
    """
    path = Path(path)
    reason = unopenable_reason(path)
    if reason:
        raise ImageLoadError(path, reason, content=False)
    try:
        with warnings.catch_warnings():
            # Pillow warns from half its limit on; facelab's limit is the one that refuses.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            w, h = img.size
            if w == 0 or h == 0:
                raise ImageLoadError(path, "image has zero size")
            if w * h > max_pixels:
                raise _too_large(path, w, h, max_pixels)
            scale = 1.0
            if draft_side is not None and img.format == "JPEG" and max(w, h) > draft_side:
                s = draft_side / max(w, h)
                got = img.draft(None, (math.ceil(w * s), math.ceil(h * s)))
                if got is not None:  # (mode, (0, 0, w / s, h / s)) for a reduction by s
                    scale = got[1][2] / w
            orientation = img.getexif().get(0x0112, 1)
            img.load()  # decode now so truncation surfaces here
            # exif_transpose copies even an upright image: a second full copy of a big photo.
            upright = ImageOps.exif_transpose(img) if orientation in (2, 3, 4, 5, 6, 7, 8) else img
            yield upright, ((w, h) if orientation in (5, 6, 7, 8) else (h, w)), scale
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(path, "not an image (unrecognised format)") from None
    except Image.DecompressionBombError as exc:
        n = re.search(r"\((\d+) pixels\)", str(exc))
        what = f"{int(n.group(1)):,} pixels" if n else str(exc)
        raise ImageLoadError(path, f"image too large: {what} (limit {max_pixels:,})") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied", content=False) from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg.lower() or "broken data stream" in msg.lower():
            raise ImageLoadError(path, f"truncated or corrupt image ({msg})") from None
        raise ImageLoadError(path, f"unreadable image ({type(exc).__name__}: {msg})") from None


def load_image(path: os.PathLike | str, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as an upright ``(H, W, 3)`` ``uint8`` RGB array.

    EXIF orientation is applied; grey, RGBA (composited on white), CMYK, 16-bit and palette
    images are converted to RGB.

    Parameters
    ----------
    path : path-like
        The image file.
    max_pixels : int, optional
        Refuse images with more pixels than this (guards against decompression bombs).

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` array of dtype ``uint8``.

    Raises
    ------
    ImageLoadError
        With a short ``reason`` if the file is missing, unreadable, not an image, truncated,
        empty or too large (``"image too large: 20000x20000 = 400,000,000 pixels (limit ...)"``).
    """
    with _decoded(path, max_pixels=max_pixels) as (img, _, _):
        return _to_rgb_uint8(img)


def load_image_reduced(path: os.PathLike | str, max_side: Optional[int], *,
                       max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, tuple[int, int], float]:
    """Read an image for detection: a JPEG larger than ``max_side`` decoded reduced, others in full.

    A 4000x3000 JPEG asked for at 1,280 pixels is decoded at half size (2000x1500) in the DCT,
    about a fifth of the time of a full decode; the detector reduces it the rest of the way.
    Other formats (and ``max_side=None``) are decoded in full, as :func:`load_image` does.

    Returns
    -------
    image : numpy.ndarray
        ``(h, w, 3)`` uint8 RGB, upright.
    full_size : (int, int)
        The photo's upright ``(height, width)`` at full resolution.
    scale : float
        ``image`` pixels per full-resolution pixel (``1.0``, ``0.5``, ``0.25`` or ``0.125``).

    Raises
    ------
    ImageLoadError
        As :func:`load_image`.
    """
    with _decoded(path, max_pixels=max_pixels, draft_side=max_side) as (img, full, scale):
        return _to_rgb_uint8(img), full, scale


def load_image_region(path: os.PathLike | str, box, *, reduce: int = 1,
                      max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, tuple[int, int], float]:
    """Decode an image and keep only the pixels of ``box``: at full resolution, or a JPEG reduced.

    Aligning a face in a large photo needs only the pixels around it, and only about two of them
    per chip pixel: ``reduce`` (1, 2, 4 or 8) decodes a JPEG that many times smaller in the DCT
    (Pillow's ``draft``; other formats in full), so the memory and time a face costs follow the
    face's size, not the photo's. Cropping before the pixels become an array keeps one decoded
    copy in memory (Pillow's).

    Parameters
    ----------
    box : (x1, y1, x2, y2)
        Upright full-resolution coordinates (edges); clipped to the image.
    reduce : int
        Largest reduction wanted (a JPEG gets the largest of 2, 4, 8 at most this).

    Returns
    -------
    region : numpy.ndarray
        ``(h, w, 3)`` uint8 RGB.
    origin : (int, int)
        ``(x, y)`` of the region's first pixel in the decoded image.
    scale : float
        Decoded pixels per full-resolution pixel (``1.0``, ``0.5``, ``0.25`` or ``0.125``): full
        resolution point ``p`` (pixel centres) is ``(p + 0.5) * scale - 0.5 - origin`` in the region.

    Raises
    ------
    ImageLoadError
        As :func:`load_image`.
    ValueError
        ``box`` lies wholly outside the image.
    """
    reduce = int(reduce)
    if reduce not in (1, 2, 4, 8):
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce}")
    draft_side = None
    if reduce > 1 and max(_stored_size(path)) > 0:
        draft_side = math.ceil(max(_stored_size(path)) / reduce)
    with _decoded(path, max_pixels=max_pixels, draft_side=draft_side) as (img, _, scale):
        w, h = img.size
        x1, y1 = max(0, math.floor(box[0] * scale)), max(0, math.floor(box[1] * scale))
        x2, y2 = min(w, math.ceil(box[2] * scale)), min(h, math.ceil(box[3] * scale))
        if x2 > x1 and y2 > y1:
            return _to_rgb_uint8(img.crop((x1, y1, x2, y2))), (x1, y1), scale
    raise ValueError(f"region {tuple(box)} lies outside the {round(w / scale)}x{round(h / scale)} image")


def _stored_size(path: os.PathLike | str) -> tuple[int, int]:
    """The stored ``(width, height)`` of an image from its header alone, ``(0, 0)`` when it cannot be
    read (the decode that follows then gives the reason in its own words)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return (0, 0)
