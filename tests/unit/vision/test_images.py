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
