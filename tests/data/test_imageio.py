"""Image loading on real-world awkward files, each built here from a real LFW photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facelab.data.imageio import ImageLoadError, is_image_file, load_image

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
