"""Reading real-world image files into RGB ``uint8`` arrays.

Photos arrive in every shape: EXIF-rotated phone pictures, greyscale scans, PNGs with an
alpha channel, CMYK JPEGs from print workflows, 16-bit TIFF/PNG, palette GIFs, truncated
downloads and files that are not images at all. :func:`load_image` turns every usable one
into an ``(H, W, 3)`` ``uint8`` RGB array, upright, and raises :class:`ImageLoadError` with a
short reason for everything else, so that batch code can record the reason as a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["ImageLoadError", "load_image", "find_images", "unopenable_reason"]

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

#: Images larger than this many pixels are refused (decompression-bomb guard, ~16k x 16k).
MAX_PIXELS = 16384 * 16384


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
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


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
        empty or too large.
    """
    path = Path(path)
    reason = unopenable_reason(path)
    if reason:
        raise ImageLoadError(path, reason, content=False)
    try:
        with Image.open(path) as img:
            w, h = img.size
            if w == 0 or h == 0:
                raise ImageLoadError(path, "image has zero size")
            if w * h > max_pixels:
                raise ImageLoadError(path, f"image too large ({w}x{h} pixels, limit {max_pixels})")
            img.load()  # decode now so truncation surfaces here
            img = ImageOps.exif_transpose(img)
            return _to_rgb_uint8(img)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(path, "not an image (unrecognised format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(path, f"image too large ({exc})") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied", content=False) from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc)
        if "truncated" in msg.lower() or "broken data stream" in msg.lower():
            raise ImageLoadError(path, f"truncated or corrupt image ({msg})") from None
        raise ImageLoadError(path, f"unreadable image ({type(exc).__name__}: {msg})") from None
