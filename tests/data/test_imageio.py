"""Image loading on real-world awkward files, each built here from a real LFW photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facelab.data.imageio import (
    MAX_PIXELS,
    ImageLoadError,
    is_image_file,
    load_image,
    load_image_reduced,
    load_image_region,
)

SRC = "Colin_Powell_0001"


@pytest.fixture(scope="module")
def photo(lfw) -> Image.Image:
    return Image.open(lfw.image_path("Colin_Powell", 1)).convert("RGB")


def test_plain_jpeg(lfw):
    arr = load_image(lfw.image_path("Colin_Powell", 1))
    assert arr.shape == (250, 250, 3) and arr.dtype == np.uint8
    assert 40 < arr.mean() < 220  # a real photo, not a blank


def test_grey(tmp_path, photo):
    p = tmp_path / "grey.png"
    photo.convert("L").save(p)
    arr = load_image(p)
    assert arr.shape == (250, 250, 3)
    assert np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2])


def test_rgba_is_composited_on_white(tmp_path, photo):
    rgba = photo.convert("RGBA")
    a = np.asarray(rgba).copy()
    a[:50, :, 3] = 0  # top band fully transparent
    p = tmp_path / "rgba.png"
    Image.fromarray(a, "RGBA").save(p)
    arr = load_image(p)
    assert arr.shape == (250, 250, 3)
    assert (arr[:50] == 255).all()
    assert np.abs(arr[100:].astype(int) - np.asarray(photo)[100:].astype(int)).max() <= 1


def test_cmyk_jpeg(tmp_path, photo):
    p = tmp_path / "cmyk.jpg"
    photo.convert("CMYK").save(p, quality=95)
    assert Image.open(p).mode == "CMYK"
    arr = load_image(p)
    assert arr.shape == (250, 250, 3)
    # Colours survive the round trip roughly.
    assert np.abs(arr.astype(int) - np.asarray(photo).astype(int)).mean() < 12


def test_16bit_png_keeps_its_range(tmp_path, photo):
    grey8 = np.asarray(photo.convert("L")).astype(np.uint16)
    p = tmp_path / "grey16.png"
    Image.fromarray(grey8 * 257).save(p)  # full 16-bit range
    assert Image.open(p).mode.startswith("I")
    arr = load_image(p)
    assert arr.shape == (250, 250, 3)
    assert np.abs(arr[..., 0].astype(int) - grey8.astype(int)).max() <= 1


def test_palette_gif(tmp_path, photo):
    p = tmp_path / "pal.gif"
    photo.convert("P", palette=Image.Palette.ADAPTIVE).save(p)
    arr = load_image(p)
    assert arr.shape == (250, 250, 3)
    assert np.abs(arr.astype(int) - np.asarray(photo).astype(int)).mean() < 15


def test_exif_rotation_is_applied(tmp_path, photo):
    # Store the photo rotated on its side with EXIF orientation 6 (display = rotate 90 deg clockwise).
    stored = photo.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise on disk
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "rotated.jpg"
    stored.save(p, exif=exif, quality=95)
    arr = load_image(p)
    assert arr.shape == (250, 250, 3)
    assert np.abs(arr.astype(int) - np.asarray(photo).astype(int)).mean() < 6


def test_exif_rotation_non_square(tmp_path, photo):
    wide = photo.crop((0, 50, 250, 200))  # 250 x 150
    exif = Image.Exif()
    exif[0x0112] = 8
    p = tmp_path / "rot8.jpg"
    wide.transpose(Image.Transpose.ROTATE_270).save(p, exif=exif)
    assert load_image(p).shape == (150, 250, 3)


def test_truncated_jpeg_raises_clear_error(tmp_path, lfw):
    data = lfw.image_path("Colin_Powell", 1).read_bytes()
    p = tmp_path / "truncated.jpg"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageLoadError) as err:
        load_image(p)
    assert "truncated" in err.value.reason or "corrupt" in err.value.reason
    assert err.value.path == str(p)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("notes.jpg", b"these are not pixels\n" * 10, "not an image"),
        ("empty.png", b"", "not an image"),
    ],
)
def test_non_images_raise(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(ImageLoadError, match=reason):
        load_image(p)
    assert not is_image_file(p)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ImageLoadError, match="file not found"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageLoadError, match="directory"):
        load_image(tmp_path)


def test_huge_image_refused(tmp_path):
    p = tmp_path / "huge.png"
    Image.new("L", (3000, 3000)).save(p)
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(p, max_pixels=1000 * 1000)


def _png_header_only(path, width, height):
    """A PNG whose header claims ``width`` x ``height`` (1-bit grey) with almost no pixel data: what a
    decompression bomb looks like to a reader that trusts the header."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_decompression_bomb_is_a_clear_reason(tmp_path):
    bomb = _png_header_only(tmp_path / "bomb.png", 20_000, 20_000)
    for load in (load_image, lambda p: load_image_reduced(p, 1280)):
        with pytest.raises(ImageLoadError) as err:
            load(bomb)
        assert err.value.reason == f"image too large: 400,000,000 pixels (limit {MAX_PIXELS:,})"
        assert err.value.content  # the bytes decide: cacheable as a skip
    # Under Pillow's hard limit but over facelab's own: the same words, with the size.
    big = _png_header_only(tmp_path / "big.png", 12_000, 10_000)
    with pytest.raises(ImageLoadError, match=r"image too large: 12000x10000 = 120,000,000 pixels \(limit 100,000,000\)"):
        load_image(big, max_pixels=100_000_000)


def test_reduced_decode_and_region_of_a_large_jpeg(tmp_path, photo):
    big = photo.resize((4000, 3000), Image.Resampling.BICUBIC)
    p = tmp_path / "big.jpg"
    big.save(p, quality=92)
    full = load_image(p)
    im, size, scale = load_image_reduced(p, 1280)
    assert size == (3000, 4000) and scale == 0.5 and im.shape == (1500, 2000, 3)  # never below 1,280
    assert np.abs(im.astype(int) - np.asarray(Image.fromarray(full).reduce(2)).astype(int)).mean() < 3
    im, size, scale = load_image_reduced(p, 400)
    assert (size, scale, im.shape) == ((3000, 4000), 0.125, (375, 500, 3))
    # Small enough, or not a JPEG: decoded in full.
    assert load_image_reduced(p, 4000)[2] == 1.0
    png = tmp_path / "big.png"
    big.reduce(2).save(png)
    im, size, scale = load_image_reduced(png, 400)
    assert (size, scale, im.shape) == ((1500, 2000), 1.0, (1500, 2000, 3))
    # A region at full resolution, clipped to the image.
    region, origin, s = load_image_region(p, (3900.5, -20, 4100, 100.2))
    assert origin == (3900, 0) and region.shape == (101, 100, 3) and s == 1.0
    np.testing.assert_array_equal(region, full[0:101, 3900:4000])
    with pytest.raises(ValueError, match="outside"):
        load_image_region(p, (5000, 0, 5100, 10))
    # Reduced: the same region decoded 4 times smaller in the DCT, in the reduced image's pixels.
    region, origin, s = load_image_region(p, (1000, 800, 1800, 1600), reduce=4)
    assert s == 0.25 and origin == (250, 200) and region.shape == (200, 200, 3)
    ref = np.asarray(Image.fromarray(full[800:1600, 1000:1800]).reduce(4)).astype(int)
    assert np.abs(region.astype(int) - ref).mean() < 3
    # A PNG has no reduced decode: full resolution whatever is asked.
    region, origin, s = load_image_region(png, (10, 10, 50, 50), reduce=8)
    assert s == 1.0 and region.shape == (40, 40, 3)
    with pytest.raises(ValueError, match="reduce"):
        load_image_region(p, (0, 0, 10, 10), reduce=3)


def test_reduced_decode_of_a_rotated_jpeg(tmp_path, photo):
    wide = photo.resize((3000, 1800))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    p = tmp_path / "rot.jpg"
    wide.transpose(Image.Transpose.ROTATE_90).save(p, exif=exif)
    im, size, scale = load_image_reduced(p, 1000)
    assert size == (1800, 3000) and scale == 0.5 and im.shape == (900, 1500, 3)


def test_is_image_file_sniffs_content_not_suffix(tmp_path, photo):
    disguised = tmp_path / "photo.txt"
    buf = io.BytesIO()
    photo.save(buf, format="JPEG")
    disguised.write_bytes(buf.getvalue())
    assert is_image_file(disguised)
    hidden = tmp_path / "._photo.jpg"
    hidden.write_bytes(buf.getvalue())
    assert not is_image_file(hidden)
    webp = tmp_path / "x.webp"
    photo.save(webp)
    assert is_image_file(webp) and load_image(webp).shape == (250, 250, 3)
