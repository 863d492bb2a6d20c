"""Decoding and preprocessing: every image mode becomes RGB; bad, tiny and huge images get clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.images import MAX_PIXELS, augment_views, decode_image, normalise, preprocess


def png_bytes(arr: np.ndarray, mode: str | None = None, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    (Image.fromarray(arr, mode=mode) if mode else Image.fromarray(arr)).save(buf, format=fmt)
    return buf.getvalue()


def test_grayscale_becomes_rgb(rng: np.random.Generator) -> None:
    arr = rng.integers(0, 255, (40, 30), dtype=np.uint8)
    img = decode_image(png_bytes(arr))
    assert img.mode == "RGB" and img.size == (30, 40)
    assert np.array_equal(np.asarray(img)[..., 0], arr)


def test_rgba_alpha_composited_over_black() -> None:
    arr = np.zeros((20, 20, 4), np.uint8)
    arr[..., 0] = 200
    arr[..., 3] = 0  # fully transparent -> black
    arr[:10, :, 3] = 255  # opaque top half keeps its red
    img = np.asarray(decode_image(png_bytes(arr, "RGBA")))
    assert img[0, 0].tolist() == [200, 0, 0]
    assert img[15, 0].tolist() == [0, 0, 0]


def test_16bit_is_rescaled_to_8bit() -> None:
    arr = np.linspace(1000, 3000, 32 * 32).reshape(32, 32).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    img = np.asarray(decode_image(buf.getvalue()))
    assert img.dtype == np.uint8 and img.min() == 0 and img.max() == 255


def test_corrupt_bytes_name_the_image() -> None:
    with pytest.raises(ValidationError, match=r"cell7\.png.*cannot decode"):
        decode_image(b"\x89PNG\r\n\x1a\nnot really", where="cell7.png")
    with pytest.raises(ValidationError, match="empty"):
        decode_image(b"", where="x.jpg")


def test_truncated_jpeg_is_refused(rng: np.random.Generator) -> None:
    data = png_bytes(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), fmt="JPEG")
    with pytest.raises(ValidationError, match="cannot decode"):
        decode_image(data[: len(data) // 2], where="half.jpg")


def test_tiny_image_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16"):
        decode_image(png_bytes(np.zeros((8, 100), np.uint8)), where="strip.png")


def test_huge_image_refused_without_decoding() -> None:
    side = int(np.sqrt(MAX_PIXELS)) + 100
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, format="PNG")  # 1-bit: small file, huge canvas
    with pytest.raises(ValidationError, match="MP"):
        decode_image(buf.getvalue(), where="bomb.png")


def test_normalisation_is_tf_lite() -> None:
    x = normalise(np.array([[[0, 127, 255]]], dtype=np.uint8))
    assert x.shape == (3, 1, 1)
    assert np.allclose(x[:, 0, 0], [-127 / 128, 0.0, 1.0])


def test_preprocess_shape_and_views(rng: np.random.Generator) -> None:
    img = Image.fromarray(rng.integers(0, 255, (50, 80, 3), dtype=np.uint8))
    assert preprocess(img, 64).shape == (3, 64, 64)
    views = augment_views(img, ("id", "hflip", "vflip", "rot+5"))
    assert np.array_equal(np.asarray(views[1])[:, ::-1], np.asarray(img))
    assert np.array_equal(np.asarray(views[2])[::-1], np.asarray(img))
    with pytest.raises(ValidationError, match="unknown view"):
        augment_views(img, ("shear",))


def test_float_image_with_nan_pixels_keeps_its_contrast() -> None:
    # a thermal camera writes NaN (or inf) where it has no reading: those pixels must not blank the image
    arr = np.linspace(20.0, 80.0, 32 * 32, dtype=np.float32).reshape(32, 32)
    arr[0, :4] = np.nan
    arr[1, :4] = np.inf
    buf = io.BytesIO()
    Image.fromarray(arr, mode="F").save(buf, format="TIFF")
    img = np.asarray(decode_image(buf.getvalue(), where="thermal.tif"))[..., 0]
    assert img[0, :4].tolist() == [0, 0, 0, 0] and img[1, :4].tolist() == [0, 0, 0, 0]
    assert img[-1, -1] == 255 and img[2, 0] < img[16, 0] < img[-1, 0]


def test_float_image_without_a_finite_pixel_is_refused() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32), np.nan, np.float32), mode="F").save(buf, format="TIFF")
    with pytest.raises(ValidationError, match=r"nodata\.tif.*no finite pixel"):
        decode_image(buf.getvalue(), where="nodata.tif")


def test_formats_outside_the_supported_list_are_refused_by_name() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, format="ICO")  # Pillow could open it; ingest would refuse it
    with pytest.raises(ValidationError, match=r"icon\.jpg: not an image in a supported format \(JPEG, PNG"):
        decode_image(buf.getvalue(), where="icon.jpg")
    with pytest.raises(ValidationError, match="supported format") as info:
        decode_image(b"just some text saved as .jpg", where="notes.jpg")
    assert "BytesIO" not in str(info.value)


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.7\n%binary", "a PDF document"),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG drawing"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "a HEIC/HEIF photo"),
])
def test_common_other_files_are_named_not_called_corrupt(head: bytes, kind: str) -> None:
    from assetgrade.errors import IngestError
    from assetgrade.ingest.images import validate_image

    with pytest.raises(ValidationError, match=rf"IMG_0001\.jpg: {kind}.*convert it to JPEG or PNG"):
        decode_image(head + b"\x00" * 64, where="IMG_0001.jpg")
    with pytest.raises(IngestError, match=rf"IMG_0001\.jpg: {kind}.*convert it to JPEG or PNG"):
        validate_image(head + b"\x00" * 64, where="IMG_0001.jpg")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_boxes_follow_the_exif_orientation_decode_image_applies(orientation: int) -> None:
    from assetgrade.modalities.vision.images import exif_orientation, orient_box

    arr = np.zeros((40, 64), np.uint8)  # stored 64 wide, 40 high
    box = (10, 5, 22, 13)  # x0, y0, x1, y1 in stored pixels
    arr[5:13, 10:22] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", exif=exif.tobytes())
    data = buf.getvalue()
    assert exif_orientation(data) == orientation
    shown = np.asarray(decode_image(data))[..., 0]
    ys, xs = np.nonzero(shown > 127)
    x0, y0, x1, y1 = orient_box(box, (64, 40), orientation)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)


def _decoding_digest() -> str:
    """sha256 over decode + preprocess of a fixed set of lossless images, one per decoding path."""
    import hashlib

    y, x = np.mgrid[0:48, 0:40]
    gradient = ((x * 5 + y * 3) % 256).astype(np.uint8)
    rgb = np.stack([gradient, gradient[::-1], 255 - gradient], axis=-1)
    wide = ((x * 1500 + y * 700) % 65536).astype(np.uint16)
    floats = (x / 40.0 + y / 96.0).astype(np.float32)
    floats[5:9, 5:9] = np.nan
    floats[20, 20] = np.inf
    rgba = np.dstack([rgb, gradient])
    palette = Image.fromarray(gradient).convert("P")
    buf = io.BytesIO()
    palette.save(buf, format="PNG", transparency=0)
    inputs = [png_bytes(rgb), png_bytes(gradient), png_bytes(wide), png_bytes(floats, fmt="TIFF"),
              png_bytes(rgba), buf.getvalue()]
    h = hashlib.sha256()
    for data in inputs:
        h.update(np.round(preprocess(decode_image(data), 32), 4).tobytes())
    return h.hexdigest()


# PREPROCESS_VERSION -> the digest its decoding gives; a change to decoding must bump the version (it keys
# every feature cache) and pin the new digest here
PINNED_DECODING = {"p2": "df0b1f3ba59d2900157245b5643ccce9cf9a82aee8924aa08415e97621b1d142"}


def test_preprocess_version_is_bumped_when_decoding_output_changes() -> None:
    from assetgrade.modalities.vision.images import PREPROCESS_VERSION

    assert _decoding_digest() == PINNED_DECODING.get(PREPROCESS_VERSION), (
        "decode/preprocess output changed: bump PREPROCESS_VERSION (feature caches are keyed by it) "
        "and pin the new digest")
