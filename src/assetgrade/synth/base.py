"""The generator contract, the marked output (origin, generator, parameters) and the generator registry.

A generator draws its parameters from a seeded ``numpy.random.Generator`` (``sample_params``)
and renders deterministically from them (``render``), so the recorded parameters reproduce an
output exactly. Every output is marked twice: in ``SyntheticImage`` (origin, generator, params,
parent) for the provenance store, and inside the PNG bytes (a text chunk ``MARK_KEY``) so a
file that leaves the system still says it is not real.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np
from PIL import Image, PngImagePlugin

from assetgrade.errors import ValidationError
from assetgrade.seeds import SEED_MAX

__all__ = [
    "GENERATOR_VERSION",
    "MARK_KEY",
    "MAX_DRAWS",
    "VISIBLE_LEVELS",
    "Generator",
    "SyntheticImage",
    "available_generators",
    "generate",
    "get_generator",
    "read_mark",
    "register_generator",
]

MARK_KEY = "assetgrade-synthetic"
GENERATOR_VERSION = "2"
"""Version 2 (boxes of what is visible, redraws of an invisible defect) renders version 1's parameters to the same
pixels; see ``generate`` and docs/audit.md for what changed."""
VISIBLE_LEVELS = 4
"""Grey levels a pixel must have changed by (in some channel) to count as part of a drawn defect."""
MAX_DRAWS = 20
"""How many parameter draws ``generate`` makes for a defect generator before refusing an image it cannot mark."""

Box = tuple[str, tuple[float, float, float, float]]


@dataclass(frozen=True)
class SyntheticImage:
    """One generated image and its provenance: origin, generator name, parameters, parent, seed, the boxes of
    the added defect where it is visible, and how many parameter draws ``generate`` took (see ``MAX_DRAWS``).

    Examples
    --------
    >>> s = SyntheticImage(Image.new("RGB", (8, 8)), "augmented", "lighting", {"gain": 1.0}, "img-1", 0)
    >>> read_mark(s.to_png_bytes())["generator"]
    'lighting'
    """

    image: Image.Image = field(repr=False)
    origin: Literal["synthetic", "augmented"]
    generator: str
    params: dict[str, Any]
    parent_id: str
    seed: int
    boxes: tuple[Box, ...] = ()
    defect: str | None = None
    draws: int = 1

    def provenance(self) -> dict[str, Any]:
        """What the provenance store records for this item (JSON-ready)."""
        return {
            "origin": self.origin,
            "generator": self.generator,
            "generator_version": GENERATOR_VERSION,
            "params": self.params,
            "parent_id": self.parent_id,
            "seed": self.seed,
            "defect": self.defect,
            "boxes": [[n, list(b)] for n, b in self.boxes],
            "draws": self.draws,
        }

    def to_png_bytes(self) -> bytes:
        """Lossless PNG bytes carrying the provenance in a ``MARK_KEY`` text chunk."""
        info = PngImagePlugin.PngInfo()
        info.add_text(MARK_KEY, json.dumps(self.provenance(), sort_keys=True))
        buf = io.BytesIO()
        self.image.save(buf, format="PNG", pnginfo=info)
        return buf.getvalue()

    def sha256(self) -> str:
        """Content hash of ``to_png_bytes()`` (the evidence hash of the generated item)."""
        return hashlib.sha256(self.to_png_bytes()).hexdigest()


def read_mark(data: bytes) -> dict[str, Any] | None:
    """The provenance embedded by ``to_png_bytes``, or None for an image without a readable mark.

    The PNG's text chunks are read directly, without decoding the image: a marked image of any
    size (beyond Pillow's decompression-bomb limit too) still says it is synthetic. A mark that
    is not a JSON object counts as no mark.

    Examples
    --------
    >>> read_mark(b"not a png") is None
    True
    """
    text = _png_text(data, MARK_KEY)
    if not text:
        return None
    try:
        out = json.loads(text)
    except json.JSONDecodeError:
        return None
    return out if isinstance(out, dict) else None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_MARK_CHARS = 1_000_000
"""The longest compressed mark ``read_mark`` inflates (a mark is a few hundred bytes; this bounds a zip bomb)."""


def _inflate(data: bytes) -> bytes | None:
    """``data`` inflated (zlib), or None when it is not valid deflate or inflates beyond ``MAX_MARK_CHARS``."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, MAX_MARK_CHARS + 1)
    except zlib.error:
        return None
    return out if len(out) <= MAX_MARK_CHARS and not d.unconsumed_tail else None


def _png_text(data: bytes, key: str) -> str | None:
    """The value of the first ``tEXt``, ``zTXt`` or ``iTXt`` chunk named ``key``, or None.

    Text chunks may stand before or after the image data (PNG 1.2, chunk ordering), and some tools move
    them after it, so the chunks are walked up to ``IEND``; image data is stepped over, not copied.

    Compressed values (``zTXt``, ``iTXt`` with its compression flag, as other PNG tools may rewrite the mark)
    are inflated up to ``MAX_MARK_CHARS``; a corrupt or longer one reads as None.
    """
    if not data.startswith(_PNG_SIGNATURE):
        return None
    pos, want = len(_PNG_SIGNATURE), key.encode("latin-1")
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"IEND":
            return None
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):  # image data and other chunks: stepped over, not copied
            pos += 12 + length
            continue
        body = data[pos + 8:pos + 8 + length]
        if len(body) < length:
            return None
        name, _, rest = body.partition(b"\0")
        if name == want and kind == b"tEXt":
            return rest.decode("latin-1")
        if name == want and kind == b"zTXt":  # compression method (0: deflate), then the compressed text
            text = _inflate(rest[1:]) if rest[:1] == b"\0" else None
            return None if text is None else text.decode("latin-1")
        if name == want and kind == b"iTXt":  # compression flag, method, language, translated keyword, text
            flag, method = rest[:1], rest[1:2]
            _, _, after_lang = rest[2:].partition(b"\0")
            _, _, value = after_lang.partition(b"\0")
            if flag == b"\1":
                inflated = _inflate(value) if method == b"\0" else None
                if inflated is None:
                    return None
                value = inflated
            elif flag != b"\0":
                return None
            return value.decode("utf-8", errors="replace")
        pos += 12 + length
    return None


@runtime_checkable
class Generator(Protocol):
    """A seeded generator: ``sample_params(rng, size)`` then a deterministic ``render(image, params)``."""

    name: ClassVar[str]
    origin: ClassVar[Literal["synthetic", "augmented"]]
    defect: ClassVar[str | None]

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int]) -> dict[str, Any]: ...

    def render(self, image: Image.Image, params: dict[str, Any]) -> tuple[Image.Image, tuple[Box, ...]]:
        """The output and, for a defect generator, the box of each defect where it is visible (none: not visible)."""
        ...


_GENERATORS: dict[str, type[Any]] = {}
G = TypeVar("G", bound=type[Any])


def register_generator(name: str) -> Callable[[G], G]:
    """Class decorator registering a generator under ``name``."""

    def deco(cls: G) -> G:
        cls.name = name
        _GENERATORS[name] = cls
        return cls

    return deco


def _load_builtin() -> None:
    from assetgrade.synth import defects, photometric  # noqa: F401


def available_generators() -> tuple[str, ...]:
    """Names of the registered generators."""
    _load_builtin()
    return tuple(sorted(_GENERATORS))


def get_generator(name: str, **settings: Any) -> Generator:
    """An instance of generator ``name`` (a clear error naming the known ones)."""
    _load_builtin()
    if name not in _GENERATORS:
        raise ValidationError(f"unknown generator {name!r}; known: {sorted(_GENERATORS)}", where="synth")
    return _GENERATORS[name](**settings)  # type: ignore[no-any-return]


def generate(generator: str | Generator, image: Image.Image, *, seed: int, parent_id: str) -> SyntheticImage:
    """Apply ``generator`` to ``image`` with parameters drawn from ``seed``; the result is marked.

    ``image`` may be of any mode: it is first made 8-bit RGB as the image decoder does
    (``assetgrade.modalities.vision.images.to_rgb8``). An image without pixels is refused. A defect generator's
    output is labelled only where the defect is visible (its boxes); when a draw shows nothing (clipped away on a
    saturated surface, or off the image) the next parameters are drawn from the same seeded stream, up to
    ``MAX_DRAWS``, and the count is recorded (``draws``); an image no draw can mark (dark pits on black) is refused.

    Examples
    --------
    >>> img = Image.new("RGB", (64, 64), (128, 128, 128))
    >>> a = generate("scratch", img, seed=3, parent_id="p")
    >>> b = generate("scratch", img, seed=3, parent_id="p")
    >>> a.origin, a.params == b.params, a.sha256() == b.sha256(), a.draws
    ('synthetic', True, True, 1)
    """
    from assetgrade.modalities.vision.images import to_rgb8

    where = f"synth {parent_id}"
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed <= SEED_MAX:
        raise ValidationError(f"seed {seed!r} is not an integer in [0, {SEED_MAX}]", where=f"{where}:seed")
    if image.width == 0 or image.height == 0:
        raise ValidationError(f"image {parent_id} has no pixels ({image.width}x{image.height})", where=where)
    seed = int(seed)
    gen = get_generator(generator) if isinstance(generator, str) else generator
    # as the decoder sees the parent: 16-bit and float stretched to 8 bits (``convert("RGB")`` clips them to
    # white), alpha over black; so a copy differs from its parent only by what the generator did
    rgb = to_rgb8(image, where=f"image {parent_id}")
    rng = np.random.default_rng(seed)
    for draw in range(1, MAX_DRAWS + 1):
        params = gen.sample_params(rng, rgb.size)
        out, boxes = gen.render(rgb, params)
        if gen.defect is None or boxes:
            return SyntheticImage(out, gen.origin, gen.name, params, parent_id, seed, boxes, gen.defect, draw)
    arr = np.asarray(rgb)
    lo, hi = int(arr.min()), int(arr.max())
    raise ValidationError(
        f"{gen.name} drew nothing visible on image {parent_id} in {MAX_DRAWS} draws (no pixel under a defect changed "
        f"by {VISIBLE_LEVELS}+ grey levels; its pixels span {lo}-{hi}: a darker defect on black or "
        "a brighter one on white is clipped away)", where=where)
