"""Image validation with Pillow: verify + full decode, decompression-bomb limit, supported modes, size."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from assetgrade.errors import IngestError

__all__ = ["DEFAULT_MAX_PIXELS", "SUPPORTED_MODES", "ImageInfo", "validate_image"]

DEFAULT_MAX_PIXELS = 64_000_000
SUPPORTED_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "I", "I;16", "I;16B", "I;16L")
_MEDIA = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "TIFF": "image/tiff",
          "GIF": "image/gif", "WEBP": "image/webp", "PPM": "image/x-portable-anymap"}


@dataclass(frozen=True)
class ImageInfo:
    """What validation learned about an image.

    Examples
    --------
    >>> ImageInfo(200, 200, "L", "JPEG", "image/jpeg").width
    200
    """

    width: int
    height: int
    mode: str
    format: str
    media_type: str


def validate_image(data: bytes, *, where: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Check that ``data`` is a complete, decodable image of a supported mode within ``max_pixels``.

    Pillow's ``verify`` catches broken structure and a full ``load`` catches truncated data. The
    pixel count is checked against ``max_pixels`` from the header, before anything is decoded;
    Pillow's process-wide ``MAX_IMAGE_PIXELS`` is left alone (changing it would change every
    other user of Pillow in the process, and race between threads with different limits).
    Every failure is an IngestError naming ``where``.
    """
    if not data:
        raise IngestError("image file is empty", where=where)
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            w, h = probe.size
            if w * h > max_pixels:
                raise IngestError(f"decompression bomb refused: {w}x{h} = {w * h:,} pixels is over the limit of"
                                  f" {max_pixels:,} (max_image_pixels)", where=where)
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            width, height, mode, fmt = img.width, img.height, img.mode, img.format or "unknown"
    except IngestError:
        raise
    except Image.DecompressionBombError as exc:  # over Pillow's own hard limit (2 x its MAX_IMAGE_PIXELS)
        raise IngestError(f"decompression bomb refused by Pillow: {exc}", where=where) from exc
    except UnidentifiedImageError as exc:
        raise IngestError("not an image Pillow can read (corrupt or unknown format)", where=where) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise IngestError(f"corrupt or truncated image: {exc}", where=where) from exc
    if mode not in SUPPORTED_MODES:
        raise IngestError(f"unsupported image mode {mode}; supported: {', '.join(SUPPORTED_MODES)}", where=where)
    if width < 1 or height < 1:
        raise IngestError(f"image has no pixels ({width}x{height})", where=where)
    return ImageInfo(width, height, mode, fmt, _MEDIA.get(fmt, f"image/{fmt.lower()}"))
