"""Image decoding and preprocessing with PIL and numpy only: any mode in, a normalised RGB tensor out."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from assetgrade.errors import ValidationError
from assetgrade.store.records import ImageRef

__all__ = [
    "FORMATS",
    "MAX_PIXELS",
    "MIN_SIDE",
    "PREPROCESS_VERSION",
    "augment_views",
    "decode_image",
    "exif_orientation",
    "image_name",
    "normalise",
    "orient_box",
    "other_file_type",
    "preprocess",
    "ref_where",
    "shown_boxes",
    "to_rgb8",
]

PREPROCESS_VERSION = "p2"
"""Bumped whenever decoding, resizing or normalisation changes: part of every feature-cache key."""

MIN_SIDE = 16
"""Images with a side shorter than this carry no usable detail and are refused."""

FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP", "GIF")
"""The raster formats decoded (those ingest accepts): no other Pillow plugin (EPS, PSD, FITS...) parses the bytes."""

MAX_PIXELS = 60_000_000
"""Images larger than this (60 MP) are refused instead of exhausting memory (decompression bombs)."""


_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def other_file_type(head: bytes) -> str | None:
    """What a common non-raster or unsupported file is, from its first bytes (512 are enough), or None.

    For messages only: a HEIC photo or a PDF saved as ``.jpg`` is named as such instead of "corrupt".

    Examples
    --------
    >>> other_file_type(b"%PDF-1.7 ...")
    'a PDF document'
    >>> other_file_type(b"\\x00\\x00\\x00\\x18ftypheic") is not None
    True
    """
    start = head.lstrip()[:512].lower()
    if start.startswith(b"%pdf"):
        return "a PDF document"
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in start):
        return "an SVG drawing (vector graphics)"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "a HEIC/HEIF photo"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "an AVIF image"
    return None


def to_rgb8(img: Image.Image, *, where: str = "image") -> Image.Image:
    """Any PIL mode (L, LA, P, RGBA, CMYK, I;16, I, F) as 8-bit RGB; 16-bit and float are rescaled.

    Alpha is composited over black; 16-bit and float images are stretched from their own
    min..max range to 0..255 (an electroluminescence or thermal image rarely fills 16 bits).
    Not-a-number and infinite pixels (a thermal camera's "no reading") take no part in the range
    and become black; an image with no finite pixel at all is a ValidationError naming ``where``.
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        finite = np.isfinite(arr)
        if not finite.any():
            raise ValidationError(f"{img.mode} image has no finite pixel value (all NaN or infinite)", where=where)
        lo, hi = float(arr[finite].min()), float(arr[finite].max())
        with np.errstate(invalid="ignore", over="ignore"):
            scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        scaled = np.where(finite & np.isfinite(scaled), scaled, 0.0)
        img = Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


def image_name(evidence_id: str, file: str | None = None) -> str:
    """How messages name an image: ``image <id> (<file>)``, or ``image <id>`` when the file is its id or unknown.

    >>> image_name("crazing_2", "images/crazing/crazing_2.jpg"), image_name("bad/3.png", "bad/3.png")
    ('image crazing_2 (images/crazing/crazing_2.jpg)', 'image bad/3.png')
    """
    return f"image {evidence_id}" if file is None or file == evidence_id else f"image {evidence_id} ({file})"


def ref_where(ref: ImageRef) -> str:
    """How a decoding error names ``ref``'s image: its id, and the file its bytes are read from when the loader
    says which (its ``file``, as :func:`assetgrade.datasets.image_folder.image_ref_from_file` sets it).

    A header that is whole over pixel data cut off passes the check made when a set is listed and
    fails only here, so without the file an image of a data set would be named by an id alone.
    """
    file = getattr(ref.load_bytes, "file", None)
    return image_name(ref.evidence_id, file if isinstance(file, str) else None)


def decode_image(data: bytes, *, where: str = "image") -> Image.Image:
    """Decode image bytes into an 8-bit RGB PIL image, honouring the EXIF orientation.

    Raises
    ------
    ValidationError
        Corrupt bytes, a format outside ``FORMATS``, a float image with no finite pixel, an
        image smaller than ``MIN_SIDE`` pixels on a side or larger than ``MAX_PIXELS``; the
        message names ``where``.

    Examples
    --------
    >>> buf = io.BytesIO(); Image.new("L", (32, 24), 128).save(buf, format="PNG")
    >>> decode_image(buf.getvalue()).size
    (32, 24)
    """
    if not data:
        raise ValidationError("empty image file (0 bytes)", where=where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ValidationError(
                    f"image is {w}x{h} = {w * h / 1e6:.0f} MP, above the {MAX_PIXELS / 1e6:.0f} MP limit; "
                    "downscale it first",
                    where=where,
                )
            img.load()
    except ValidationError:
        raise
    except UnidentifiedImageError as exc:  # its own message names only an in-memory buffer
        kind, formats = other_file_type(data[:512]), ", ".join(FORMATS)
        message = (f"{kind}, not an image in a supported format ({formats}); convert it to JPEG or PNG" if kind
                   else f"not an image in a supported format ({formats}): unknown, corrupt or another file type")
        raise ValidationError(message, where=where) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(f"image too large to decode safely: {exc}", where=where) from exc
    except Exception as exc:  # PIL raises many types (OSError, SyntaxError, ValueError) on bad bytes
        raise ValidationError(f"cannot decode image ({type(exc).__name__}: {exc})", where=where) from exc
    if min(img.size) < MIN_SIDE:
        raise ValidationError(
            f"image is {img.size[0]}x{img.size[1]} pixels; each side must be at least {MIN_SIDE}", where=where
        )
    oriented: Image.Image = ImageOps.exif_transpose(img) or img
    return to_rgb8(oriented, where=where)


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of encoded image bytes, 1 when there is none or it cannot be read.

    >>> buf = io.BytesIO(); Image.new("RGB", (32, 16)).save(buf, format="JPEG"); exif_orientation(buf.getvalue())
    1
    """
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            value = img.getexif().get(0x0112, 1)
    except Exception:  # unreadable bytes or EXIF: decode_image reports the image itself
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def orient_box(
    box: tuple[float, float, float, float], size: tuple[int, int], orientation: int
) -> tuple[float, float, float, float]:
    """A box (x0, y0, x1, y1) in the stored pixels of an image of stored ``size`` (width, height), in the
    frame :func:`decode_image` shows after applying the EXIF ``orientation`` (what ``ImageOps.exif_transpose``
    does: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
    counter-clockwise). Annotations are drawn on the stored pixels; heat maps live in the shown frame.

    >>> orient_box((0, 0, 10, 5), (100, 50), 6)  # the top-left corner goes to the top right
    (45, 0, 50, 10)
    """
    x0, y0, x1, y1 = box
    w, h = size
    return {
        2: (w - x1, y0, w - x0, y1),
        3: (w - x1, h - y1, w - x0, h - y0),
        4: (x0, h - y1, x1, h - y0),
        5: (y0, x0, y1, x1),
        6: (h - y1, x0, h - y0, x1),
        7: (h - y1, w - x1, h - y0, w - x0),
        8: (y0, w - x1, y1, w - x0),
    }.get(orientation, (x0, y0, x1, y1))


def shown_boxes(
    boxes: Sequence[tuple[float, float, float, float]], data: bytes, shown_size: tuple[int, int]
) -> list[tuple[float, float, float, float]]:
    """Boxes drawn on the stored pixels of the image ``data``, in the frame :func:`decode_image` shows
    (``shown_size`` is that decoded image's size)."""
    orientation = exif_orientation(data)
    stored = shown_size if orientation <= 4 else (shown_size[1], shown_size[0])
    return [orient_box(b, stored, orientation) for b in boxes]


def normalise(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """HWC uint8 -> CHW float32 as the EfficientNet-Lite weights were trained: (p - 127) / 128.

    The Lite weights were converted from TensorFlow, whose Lite builder feeds (x·255 − 127)/128
    for x in [0, 1] — not ImageNet mean/std (Tan & Le 2019; TF efficientnet_lite_builder.py).
    """
    out = (rgb.astype(np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def preprocess(img: Image.Image, size: int) -> npt.NDArray[np.float32]:
    """Resize the whole image to ``size`` x ``size`` (bilinear, no crop: a defect at the edge stays) and normalise."""
    resized = img.resize((size, size), Image.Resampling.BILINEAR)
    return normalise(np.asarray(resized, dtype=np.uint8))


def augment_views(img: Image.Image, views: tuple[str, ...]) -> list[Image.Image]:
    """Test-time augmentation views: ``id``, ``hflip``, ``vflip``, ``rot+N`` / ``rot-N`` (degrees, edge-filled)."""
    out: list[Image.Image] = []
    for v in views:
        if v == "id":
            out.append(img)
        elif v == "hflip":
            out.append(ImageOps.mirror(img))
        elif v == "vflip":
            out.append(ImageOps.flip(img))
        elif v.startswith("rot"):
            try:
                angle = float(v[3:])
            except ValueError as exc:
                raise ValidationError(f"bad rotation view {v!r}; use e.g. 'rot+5'", where="tta") from exc
            # rotate about the centre; fill the corners with the nearest edge colour (mean of the image)
            mean = tuple(int(c) for c in np.asarray(img).reshape(-1, 3).mean(axis=0))
            out.append(img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=mean))
        else:
            raise ValidationError(f"unknown view {v!r}; known: id, hflip, vflip, rot+N, rot-N", where="tta")
    return out
