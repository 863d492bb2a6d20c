"""Image validation with Pillow: supported formats, verify + full decode, pixel and side limits, supported modes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from assetgrade.errors import IngestError
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["DEFAULT_MAX_PIXELS", "SUPPORTED_FORMATS", "SUPPORTED_MODES", "ImageInfo", "image_size", "marked_provenance",
           "validate_image"]

DEFAULT_MAX_PIXELS = 64_000_000
SUPPORTED_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP", "GIF")
"""The raster formats Pillow may open here; anything else (EPS, PDF, PSD...) never reaches its plugin."""
SUPPORTED_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B", "I;16L", "F")
"""The modes the vision extractor turns into RGB (:func:`assetgrade.modalities.vision.images.to_rgb8`)."""
_MEDIA = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "TIFF": "image/tiff",
          "GIF": "image/gif", "WEBP": "image/webp"}


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
    synthetic_mark: dict[str, Any] | None = None
    """The provenance ``assetgrade.synth`` wrote into the file (a PNG text chunk), when it carries one."""


def _sniff(head: bytes) -> str | None:
    """The format Pillow would take ``head`` (the first 16 bytes) for, by magic bytes only: nothing is parsed."""
    Image.init()
    for fmt in Image.ID:
        accept = Image.OPEN[fmt][1]
        try:
            if accept is not None and accept(head):
                return fmt
        except Exception:  # a plugin's magic test may fail on odd bytes: try the next one
            continue
    return None


@contextmanager
def _open(fp: IO[bytes], *, where: str, max_pixels: int) -> Iterator[Image.Image]:
    """Open the header of a supported-format image within the pixel and side limits (nothing decoded yet).

    The limits are the stricter of ``max_pixels`` and what the vision extractor can ever use
    (``MIN_SIDE``, ``MAX_PIXELS`` in :mod:`assetgrade.modalities.vision.images`): ingesting an
    image no model can read would only fail later, far from its file.
    """
    # imported here: the vision package imports scipy, which the ingest command does not need otherwise
    from assetgrade.modalities.vision.images import MAX_PIXELS, MIN_SIDE

    limit, name = (max_pixels, "max_image_pixels") if max_pixels <= MAX_PIXELS else (MAX_PIXELS, "the vision limit")
    try:
        img = Image.open(fp, formats=SUPPORTED_FORMATS)
    except UnidentifiedImageError as exc:
        from assetgrade.modalities.vision.images import other_file_type

        fp.seek(0)
        head = fp.read(512)
        fmt = _sniff(head[:16])
        if fmt is not None:
            raise IngestError(f"unsupported image format {fmt}; supported: {', '.join(SUPPORTED_FORMATS)}",
                              where=where) from exc
        kind = other_file_type(head)
        if kind is not None:
            raise IngestError(f"{kind}, not an image in a supported format ({', '.join(SUPPORTED_FORMATS)}); "
                              "convert it to JPEG or PNG", where=where) from exc
        raise IngestError("not an image Pillow can read (corrupt or unknown format)", where=where) from exc
    except Image.DecompressionBombError as exc:  # over Pillow's own hard limit (2 x its MAX_IMAGE_PIXELS)
        raise IngestError(f"decompression bomb refused by Pillow: {exc}", where=where) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise IngestError(f"corrupt or truncated image: {exc}", where=where) from exc
    with img:
        w, h = img.size
        if w * h > limit:
            raise IngestError(f"decompression bomb refused: {w}x{h} = {w * h:,} pixels is over the limit of"
                              f" {limit:,} ({name})", where=where)
        if img.mode not in SUPPORTED_MODES:
            raise IngestError(f"unsupported image mode {img.mode}; supported: {', '.join(SUPPORTED_MODES)}",
                              where=where)
        if min(w, h) < MIN_SIDE:
            raise IngestError(f"image is {w}x{h} pixels; each side must be at least {MIN_SIDE} for the vision"
                              " extractor", where=where)
        yield img


def image_size(path: Path, *, where: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Width and height of the image at ``path``, read from its header, in stored pixels.

    The same format and limit checks as :func:`validate_image`, so an annotation importer can
    check its boxes against the real image before the writer decodes it. Like the writer's box
    check, the size is that of the stored pixels (EXIF orientation not applied). IngestError
    naming ``where``.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.png"; Image.new("L", (40, 30)).save(p)
    >>> image_size(p, where="a.png")
    (40, 30)
    """
    try:
        with path.open("rb") as fp, _open(fp, where=where, max_pixels=max_pixels) as img:
            size: tuple[int, int] = img.size
    except OSError as exc:
        raise IngestError(f"cannot read the image: {exc.strerror or exc}", where=where) from exc
    return size


def validate_image(data: bytes | IO[bytes], *, where: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Check that ``data`` (bytes, or a seekable binary file) is a complete, decodable image the vision
    extractor can use.

    The format must be one of ``SUPPORTED_FORMATS`` (others are named and refused before any
    plugin parses them). The pixel count is checked from the header, before anything is
    decoded, against the stricter of ``max_pixels`` and the vision extractor's limit, and each
    side must be at least the extractor's ``MIN_SIDE``. Pillow's ``verify`` then catches broken
    structure and a full ``load`` truncated data. Pillow's process-wide ``MAX_IMAGE_PIXELS`` is
    left alone (changing it would change every other user of Pillow in the process, and race
    between threads with different limits). Every failure is an IngestError naming ``where``.
    A file is read through, never whole into memory (ingest passes its private copy of a file over
    32 MiB, the very bytes it stores).
    """
    fp = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
    if fp.seek(0, io.SEEK_END) == 0:
        raise IngestError("image file is empty", where=where)
    try:
        fp.seek(0)
        with _open(fp, where=where, max_pixels=max_pixels) as probe:  # reads the header only
            probe.verify()
        fp.seek(0)
        with Image.open(fp, formats=SUPPORTED_FORMATS) as img:
            img.load()
            width, height, mode, fmt = img.width, img.height, img.mode, img.format or "unknown"
            finite = mode != "F" or bool(np.isfinite(np.asarray(img, dtype=np.float64)).any())
    except IngestError:
        raise
    except Image.DecompressionBombError as exc:
        raise IngestError(f"decompression bomb refused by Pillow: {exc}", where=where) from exc
    except UnidentifiedImageError as exc:
        raise IngestError("not an image Pillow can read (corrupt or unknown format)", where=where) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise IngestError(f"corrupt or truncated image: {exc}", where=where) from exc
    if mode not in SUPPORTED_MODES:
        raise IngestError(f"unsupported image mode {mode}; supported: {', '.join(SUPPORTED_MODES)}", where=where)
    if not finite:  # the vision extractor stretches a float image's finite range; this one has none
        raise IngestError("F (float) image has no finite pixel value (all NaN or infinite)", where=where)
    from assetgrade.synth.base import read_mark

    mark = read_mark(data if isinstance(data, bytes | bytearray) else _png_head(fp)) if fmt == "PNG" else None
    return ImageInfo(width, height, mode, fmt, _MEDIA.get(fmt, f"image/{fmt.lower()}"), mark)


def _png_head(fp: IO[bytes], limit: int = 16 * 2**20) -> bytes:
    """A PNG's chunks without its image data, where :func:`~assetgrade.synth.base.read_mark` looks.

    Text chunks may come before or after the image data, so every chunk up to ``IEND`` is kept but
    ``IDAT``, whose bodies are skipped with a seek: a large file is not read whole for its mark. At most
    ``limit`` bytes are kept.
    """
    fp.seek(0)
    out = bytearray(fp.read(8))
    while len(out) < limit:
        header = fp.read(8)
        if len(header) < 8:
            break
        length = int.from_bytes(header[:4], "big")
        if header[4:8] == b"IDAT":
            fp.seek(length + 4, 1)  # body and CRC
            continue
        out += header
        if header[4:8] == b"IEND":
            break
        out += fp.read(min(length + 4, limit - len(out)))  # body and CRC
    return bytes(out)


def marked_provenance(info: ImageInfo, claimed: ProvenanceInfo) -> ProvenanceInfo | None:
    """The provenance to store instead of ``claimed`` for an image ``assetgrade.synth`` made, or None.

    A generated image carries its provenance inside the file; when it comes back in through an
    import that says (or defaults to) ``real``, the file's own mark wins, so the synthetic share
    and the audits count it as what it is. An import that already says synthetic or augmented
    is kept as given.

    Examples
    --------
    >>> mark = {"origin": "augmented", "generator": "lighting", "params": {"gain": 1.2}, "seed": 3}
    >>> info = ImageInfo(64, 64, "RGB", "PNG", "image/png", mark)
    >>> pv = marked_provenance(info, ProvenanceInfo(source="m.csv"))
    >>> pv.origin, pv.generator, pv.generator_params["seed"]
    ('augmented', 'lighting', 3)
    >>> marked_provenance(info, ProvenanceInfo(origin="synthetic")) is None
    True
    """
    mark = info.synthetic_mark
    if mark is None or claimed.origin != "real":
        return None
    origin = "augmented" if mark.get("origin") == "augmented" else "synthetic"
    generator = mark.get("generator")
    params = {k: v for k, v in mark.items() if k not in ("origin", "generator")}
    note = "origin taken from the file's assetgrade-synthetic mark; the import said real"
    return replace(claimed, origin=origin, generator=str(generator)[:200] if generator is not None else None,
                   generator_params=params, notes=[*(claimed.notes or []), note])
