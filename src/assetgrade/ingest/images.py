"""Image validation with Pillow: verify + full decode, decompression-bomb limit, supported modes, size."""

from __future__ import annotations

import io
import warnings
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

    Pillow's ``verify`` catches broken structure, a full ``load`` catches truncated data, and
    the decompression-bomb warning is raised as an error at ``max_pixels`` (Pillow itself
    errors at twice the limit). Every failure is an IngestError naming ``where``.
    """
    if not data:
        raise IngestError("image file is empty", where=where)
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                width, height, mode, fmt = img.width, img.height, img.mode, img.format or "unknown"
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise IngestError(f"decompression bomb refused (limit {max_pixels} pixels): {exc}", where=where) from exc
    except UnidentifiedImageError as exc:
        raise IngestError("not an image Pillow can read (corrupt or unknown format)", where=where) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise IngestError(f"corrupt or truncated image: {exc}", where=where) from exc
    if mode not in SUPPORTED_MODES:
        raise IngestError(f"unsupported image mode {mode}; supported: {', '.join(SUPPORTED_MODES)}", where=where)
    if width < 1 or height < 1:
        raise IngestError(f"image has no pixels ({width}x{height})", where=where)
    return ImageInfo(width, height, mode, fmt, _MEDIA.get(fmt, f"image/{fmt.lower()}"))
