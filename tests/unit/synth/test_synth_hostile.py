"""Synthetic generators on hostile images: any size from 1x1 up, 16-bit and alpha parents, pits off the image."""

from __future__ import annotations

import io
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.images import decode_image
from assetgrade.synth import MARK_KEY, generate, read_mark
from assetgrade.synth.defects import Pitting, Scratch
from assetgrade.synth.photometric import Lighting

GENERATORS = ("blur", "crack", "lighting", "pitting", "scratch")


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (1, 300), (300, 1)])
def test_tiny_and_thin_images(name: str, size: tuple[int, int]) -> None:
    s = generate(name, Image.new("RGB", size, (100, 100, 100)), seed=1, parent_id="p")
    assert s.image.size == size and s.image.mode == "RGB"
    for _, (x0, y0, x1, y1) in s.boxes:
        assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]


def _identity() -> Lighting:
    return Lighting(gain=(1, 1), contrast=(1, 1), gamma=(1, 1), gradient=(0, 0))


def test_a_16_bit_parent_is_scaled_as_the_decoder_scales_it() -> None:
    # a 16-bit gradient using a fifth of the range (an EL or thermal image); convert("RGB") clipped it to white
    parent = Image.fromarray((np.arange(64 * 64).reshape(64, 64) % 4096 * 3).astype(np.uint16))
    assert parent.mode == "I;16"
    out = np.asarray(generate(_identity(), parent, seed=0, parent_id="el-1").image)
    buf = io.BytesIO()
    parent.save(buf, format="PNG")
    assert np.array_equal(out, np.asarray(decode_image(buf.getvalue())))
    assert 100 < out.mean() < 160 and out.max() == 255 and out.min() == 0


def test_an_rgba_parent_is_composited_as_the_decoder_does() -> None:
    parent = Image.new("RGBA", (32, 32), (200, 10, 10, 0))  # fully transparent red
    buf = io.BytesIO()
    parent.save(buf, format="PNG")
    out = np.asarray(generate(_identity(), parent, seed=0, parent_id="p").image)
    assert np.array_equal(out, np.asarray(decode_image(buf.getvalue())))


def _pitting_whole_image(image: Image.Image, params: dict[str, object]) -> bytes:
    """The pitting render of the first version: every pit over the whole image (the reference output)."""
    w, h = image.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    mask = np.zeros((h, w))
    for x, y, r, depth in params["pits"]:  # type: ignore[attr-defined]
        mask = np.maximum(mask, depth * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * r * r)))
    out = np.asarray(image, dtype=np.float64) + params["delta"] * mask[:, :, None]  # type: ignore[operator]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8).tobytes()


def test_pitting_drawn_near_each_pit_is_the_whole_image_render(rng: np.random.Generator) -> None:
    # recorded parameters must keep reproducing the same bytes, pits partly or wholly off the image included
    for k in range(40):
        w, h = int(rng.integers(1, 90)), int(rng.integers(1, 90))
        img = Image.fromarray(rng.integers(0, 256, size=(h, w, 3)).astype(np.uint8))
        params = Pitting().sample_params(np.random.default_rng(k), (w, h))
        params["pits"] += [[-3.0, h + 4.0, 5.0, 1.0], [w + 100.0, 5.0, 2.0, 0.7], [w / 2, -2.5, 4.9, 0.9]]
        assert Pitting().render(img, params)[0].tobytes() == _pitting_whole_image(img, params)


@pytest.mark.parametrize("gen", [Pitting(), Scratch()])
def test_defects_on_a_large_image_need_no_image_sized_temporaries_per_step(gen: Pitting | Scratch) -> None:
    # peak memory per pixel, not time: the whole-image pits and out-of-place arithmetic took 104-120 bytes a
    # pixel (1.5 GB for a 12 MP photo); now the RGB float copy (24), the mask (8) and the mask x delta (8)
    w, h = 1000, 800
    img = Image.new("RGB", (w, h), (120, 120, 120))
    params = gen.sample_params(np.random.default_rng(0), (w, h))
    tracemalloc.start()
    try:
        gen.render(img, params)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (w * h) < 64


def _chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _png(width: int, height: int, *text: bytes) -> bytes:
    header = _chunk(b"IHDR", width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0]))
    return (b"\x89PNG\r\n\x1a\n" + header + b"".join(text)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 5)) + _chunk(b"IEND", b""))


def test_a_marked_image_beyond_the_decompression_bomb_limit_still_reads_as_synthetic() -> None:
    # 30,000 x 30,000 declared: Pillow refuses to open it (DecompressionBombError escaped read_mark)
    png = _png(30000, 30000, _chunk(b"tEXt", MARK_KEY.encode() + b'\0{"generator": "scratch"}'))
    assert read_mark(png) == {"generator": "scratch"}


def test_marks_that_are_not_json_objects_or_are_cut_off_read_as_none() -> None:
    assert read_mark(_png(4, 1, _chunk(b"tEXt", MARK_KEY.encode() + b"\0[1, 2]"))) is None
    assert read_mark(_png(4, 1, _chunk(b"tEXt", MARK_KEY.encode() + b"\0{not json"))) is None
    marked = _png(4, 1, _chunk(b"tEXt", MARK_KEY.encode() + b'\0{"a": 1}'))
    assert read_mark(marked[:40]) is None
    assert read_mark(b"") is None


def test_an_itxt_mark_is_read() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(MARK_KEY, '{"generator": "crack", "note": "\u00e9"}')
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG", pnginfo=info)
    assert read_mark(buf.getvalue()) == {"generator": "crack", "note": "\u00e9"}


@pytest.mark.parametrize("seed", [-1, 2**32, 2**70, 1.5, True, "3", None])
def test_a_bad_seed_is_refused_naming_it(seed: object) -> None:
    with pytest.raises(ValidationError, match=r"seed .* is not an integer in \[0, 4294967295\]") as exc:
        generate("scratch", Image.new("RGB", (8, 8)), seed=seed, parent_id="img-9")  # type: ignore[arg-type]
    assert exc.value.where == "synth img-9:seed"


def test_numpy_integer_seeds_give_the_plain_int_result() -> None:
    img = Image.new("RGB", (16, 16), (90, 90, 90))
    a, b = generate("pitting", img, seed=np.int64(5), parent_id="p"), generate("pitting", img, seed=5, parent_id="p")
    assert a.seed == 5 and type(a.seed) is int and a.sha256() == b.sha256()
