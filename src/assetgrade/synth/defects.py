"""Procedural defect generators: scratches, pitting/corrosion blotches and cracks drawn onto real images.

Each draws a soft mask (PIL lines or Gaussian blobs) and shifts the image's intensity under it;
the parameters (positions, widths, intensities) are plain numbers, recorded with the output.
They make plausible-looking but simple defects: good for stress-testing and for measuring,
with the audit checks, how far such data is from real defects — not a stand-in for real ones.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from assetgrade.errors import ValidationError
from assetgrade.synth.base import VISIBLE_LEVELS, Box, register_generator

__all__ = ["VISIBLE_LEVELS", "Crack", "Pitting", "Scratch"]


def _apply_mask(
    image: Image.Image, mask: npt.NDArray[np.float64], delta: float, name: str
) -> tuple[Image.Image, tuple[Box, ...]]:
    """``clip(x + delta * mask + 0.5)`` and the box of the defect as drawn: the pixels under the mask (> 0.1)
    that changed by at least ``VISIBLE_LEVELS`` in some channel. Where clipping took the change away (a brighter
    scratch on white, a dark pit on black) the box leaves those pixels out; no such pixel, no box."""
    before = np.asarray(image)
    # in place: the same arithmetic as clip(arr + delta * mask + 0.5), without four image-sized temporaries
    arr = before.astype(np.float64)
    arr += (delta * mask)[:, :, None]
    arr += 0.5
    np.clip(arr, 0, 255, out=arr)
    after = arr.astype(np.uint8)
    del arr
    ys, xs = np.nonzero(mask > 0.1)
    change = np.abs(after[ys, xs].astype(np.int16) - before[ys, xs]).max(axis=1, initial=0)
    ys, xs = ys[change >= VISIBLE_LEVELS], xs[change >= VISIBLE_LEVELS]
    out = Image.fromarray(after, mode="RGB")
    if len(xs) == 0:
        return out, ()
    return out, ((name, (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))),)


def _finite(v: object) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) and math.isfinite(v)


def _check_number(generator: str, params: dict[str, Any], name: str, *, nonnegative: bool = False) -> None:
    """A ValidationError naming parameter ``name`` when it is not a finite number (or is negative)."""
    v = params.get(name)
    if not _finite(v):
        raise ValidationError(f"{v!r} is not a finite number", where=f"{generator} {name}")
    if nonnegative and v < 0:  # type: ignore[operator]
        raise ValidationError(f"{v:g} is below 0", where=f"{generator} {name}")


def _check_lines(generator: str, params: dict[str, Any]) -> None:
    """A ValidationError naming the parameter when the recorded lines, widths, delta or blur cannot be drawn."""
    _check_number(generator, params, "delta")
    _check_number(generator, params, "blur", nonnegative=True)
    lines, widths = params.get("lines"), params.get("widths")
    if not isinstance(lines, list | tuple):
        raise ValidationError(f"{lines!r:.60} is not a list of lines", where=f"{generator} lines")
    for i, line in enumerate(lines, 1):
        if not isinstance(line, list | tuple) or len(line) < 2:
            n = len(line) if isinstance(line, list | tuple) else 0
            raise ValidationError(f"line {i} has {n} point{'s' * (n != 1)}; a line needs 2 or more",
                                  where=f"{generator} lines")
        for j, pt in enumerate(line, 1):
            if not isinstance(pt, list | tuple) or len(pt) != 2 or not all(_finite(c) for c in pt):
                raise ValidationError(f"line {i} point {j} is not two finite numbers: {pt!r:.60}",
                                      where=f"{generator} lines")
    if not isinstance(widths, list | tuple) or len(widths) != len(lines):
        count = len(widths) if isinstance(widths, list | tuple) else repr(widths)
        raise ValidationError(f"{count} widths for {len(lines)} lines", where=f"{generator} widths")
    for i, w in enumerate(widths, 1):
        if not _finite(w) or w < 1 or w != int(w):
            raise ValidationError(f"width {i} is {w!r}, not an integer >= 1", where=f"{generator} widths")


def _check_pits(generator: str, params: dict[str, Any]) -> None:
    """A ValidationError naming the parameter when the recorded pits or delta cannot be drawn."""
    _check_number(generator, params, "delta")
    pits = params.get("pits")
    if not isinstance(pits, list | tuple):
        raise ValidationError(f"{pits!r:.60} is not a list of pits", where=f"{generator} pits")
    for i, pit in enumerate(pits, 1):
        if not isinstance(pit, list | tuple) or len(pit) != 4 or not all(_finite(c) for c in pit):
            raise ValidationError(f"pit {i} is not four finite numbers (x, y, radius, depth): {pit!r:.60}",
                                  where=f"{generator} pits")
        if pit[2] <= 0:
            raise ValidationError(f"pit {i}: radius {pit[2]:g} must be above 0", where=f"{generator} pits")
        if not 0 <= pit[3] <= 1:
            raise ValidationError(f"pit {i}: depth {pit[3]:g} is not in [0, 1]", where=f"{generator} pits")


def _lines_mask(size: tuple[int, int], polylines: list[list[list[float]]], widths: list[int], blur: float) -> Any:
    layer = Image.new("L", size, 0)
    draw = ImageDraw.Draw(layer)
    for pts, w in zip(polylines, widths, strict=True):
        draw.line([tuple(p) for p in pts], fill=255, width=int(w), joint="curve")
    if blur > 0:
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(layer, dtype=np.float64) / 255.0


@register_generator("scratch")
class Scratch:
    """Straight-ish scratches: 1-4 slightly bent lines, 1-3 px wide, brighter or darker than the surface.

    Examples
    --------
    >>> p = Scratch().sample_params(np.random.default_rng(0), (64, 64))
    >>> sorted(p)
    ['blur', 'delta', 'lines', 'widths']
    """

    name = "scratch"
    origin: Literal["synthetic"] = "synthetic"
    defect = "scratch"

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int]) -> dict[str, Any]:
        w, h = size
        lines, widths = [], []
        for _ in range(int(rng.integers(1, 5))):
            x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
            angle, length = rng.uniform(0, np.pi), rng.uniform(0.3, 0.9) * max(w, h)
            bend = rng.normal(0, 0.05) * length
            pts = []
            for t in np.linspace(-0.5, 0.5, 6):
                off = bend * (1 - 4 * t * t)
                pts.append([round(x0 + t * length * np.cos(angle) - off * np.sin(angle), 2),
                            round(y0 + t * length * np.sin(angle) + off * np.cos(angle), 2)])
            lines.append(pts)
            widths.append(int(rng.integers(1, 4)))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return {"lines": lines, "widths": widths, "delta": round(sign * rng.uniform(40, 90), 2),
                "blur": round(float(rng.uniform(0.3, 1.0)), 3)}

    def render(self, image: Image.Image, params: dict[str, Any]) -> tuple[Image.Image, tuple[Box, ...]]:
        _check_lines(self.name, params)
        mask = _lines_mask(image.size, params["lines"], params["widths"], params["blur"])
        return _apply_mask(image, mask, params["delta"], self.defect)


PIT_REACH = 8.0
"""How many radii from its centre a pit is drawn (its Gaussian is below exp(-32) of its depth beyond)."""


@register_generator("pitting")
class Pitting:
    """Pitting/corrosion: a cluster of 10-60 dark Gaussian pits, 1-5 px radius, around a random centre.

    Examples
    --------
    >>> p = Pitting().sample_params(np.random.default_rng(0), (64, 64))
    >>> len(p["pits"]) >= 10
    True
    """

    name = "pitting"
    origin: Literal["synthetic"] = "synthetic"
    defect = "corrosion.pitting"

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int]) -> dict[str, Any]:
        w, h = size
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        spread = rng.uniform(0.08, 0.3) * min(w, h)
        pits = [[round(float(cx + rng.normal(0, spread)), 2), round(float(cy + rng.normal(0, spread)), 2),
                 round(float(rng.uniform(1, 5)), 2), round(float(rng.uniform(0.5, 1.0)), 3)]
                for _ in range(int(rng.integers(10, 61)))]
        return {"pits": pits, "delta": round(float(-rng.uniform(50, 110)), 2)}

    def render(self, image: Image.Image, params: dict[str, Any]) -> tuple[Image.Image, tuple[Box, ...]]:
        _check_pits(self.name, params)
        w, h = image.size
        mask = np.zeros((h, w))
        for x, y, r, depth in params["pits"]:
            # each pit only within PIT_REACH radii of its centre (clipped to the image; a pit off the image adds
            # nothing): beyond, depth * exp(-reach²/2) < 1e-13 of a grey level, so the output is that of the whole
            # image, at a cost independent of the image's size
            reach = PIT_REACH * r
            x0, x1 = max(0, int(np.floor(x - reach))), min(w, int(np.ceil(x + reach)) + 1)
            y0, y1 = max(0, int(np.floor(y - reach))), min(h, int(np.ceil(y + reach)) + 1)
            if x0 >= x1 or y0 >= y1:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
            pit = depth * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * r * r))
            np.maximum(mask[y0:y1, x0:x1], pit, out=mask[y0:y1, x0:x1])
        return _apply_mask(image, mask, params["delta"], self.defect)


@register_generator("crack")
class Crack:
    """Cracks: a jagged random walk with 0-3 branches, 1-2 px wide, darker than the surface.

    Examples
    --------
    >>> p = Crack().sample_params(np.random.default_rng(0), (64, 64))
    >>> len(p["lines"]) >= 1
    True
    """

    name = "crack"
    origin: Literal["synthetic"] = "synthetic"
    defect = "crack"

    @staticmethod
    def _walk(rng: np.random.Generator, x: float, y: float, angle: float, steps: int, step: float) -> list[list[float]]:
        pts = [[round(x, 2), round(y, 2)]]
        for _ in range(steps):
            angle += rng.normal(0, 0.45)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            pts.append([round(float(x), 2), round(float(y), 2)])
        return pts

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int]) -> dict[str, Any]:
        w, h = size
        step = max(2.0, min(w, h) / 30)
        main = self._walk(rng, rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h, rng.uniform(0, 2 * np.pi),
                          int(rng.integers(10, 25)), step)
        lines = [main]
        for _ in range(int(rng.integers(0, 4))):
            x, y = main[int(rng.integers(1, len(main)))]
            lines.append(self._walk(rng, x, y, rng.uniform(0, 2 * np.pi), int(rng.integers(3, 10)), step))
        widths = [int(rng.integers(1, 3))] + [1] * (len(lines) - 1)
        return {"lines": lines, "widths": widths, "delta": round(float(-rng.uniform(60, 120)), 2),
                "blur": round(float(rng.uniform(0.2, 0.7)), 3)}

    def render(self, image: Image.Image, params: dict[str, Any]) -> tuple[Image.Image, tuple[Box, ...]]:
        _check_lines(self.name, params)
        mask = _lines_mask(image.size, params["lines"], params["widths"], params["blur"])
        return _apply_mask(image, mask, params["delta"], self.defect)
