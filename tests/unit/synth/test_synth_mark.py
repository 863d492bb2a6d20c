"""The synthetic mark read from compressed text chunks (zTXt, compressed iTXt), as other PNG tools may write it."""

from __future__ import annotations

import io
import json
import zlib

from PIL import Image, PngImagePlugin

from assetgrade.synth import MARK_KEY, generate, read_mark
from assetgrade.synth.base import MAX_MARK_CHARS


def _resaved(info: PngImagePlugin.PngInfo) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def test_a_mark_in_a_ztxt_chunk_is_read() -> None:
    # v1 read tEXt and uncompressed iTXt only: a tool that compresses text chunks turned a synthetic image real
    s = generate("scratch", Image.new("RGB", (16, 16), (90, 90, 90)), seed=0, parent_id="p")
    info = PngImagePlugin.PngInfo()
    info.add_text(MARK_KEY, json.dumps(s.provenance(), sort_keys=True), zip=True)
    png = _resaved(info)
    assert b"zTXt" in png
    assert read_mark(png) == read_mark(s.to_png_bytes())


def test_a_mark_in_a_compressed_itxt_chunk_is_read() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(MARK_KEY, '{"generator": "crack", "note": "\u00e9"}', zip=True)
    assert read_mark(_resaved(info)) == {"generator": "crack", "note": "\u00e9"}


def _chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _png(*chunks: bytes) -> bytes:
    header = _chunk(b"IHDR", (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0]))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(chunks) + _chunk(b"IEND", b"")


def test_a_compressed_mark_that_is_corrupt_or_inflates_too_far_reads_as_none() -> None:
    key = MARK_KEY.encode() + b"\0"
    assert read_mark(_png(_chunk(b"zTXt", key + b"\0" + b"not deflate"))) is None
    assert read_mark(_png(_chunk(b"zTXt", key + b"\1" + zlib.compress(b'{"a": 1}')))) is None  # unknown method
    bomb = zlib.compress(b'{"a": "' + b" " * (MAX_MARK_CHARS + 10) + b'"}', 9)
    assert len(bomb) < 2 * MAX_MARK_CHARS // 100
    assert read_mark(_png(_chunk(b"zTXt", key + b"\0" + bomb))) is None
    assert read_mark(_png(_chunk(b"zTXt", key + b"\0" + zlib.compress(b'{"a": 1}')))) == {"a": 1}
