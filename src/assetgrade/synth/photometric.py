"""Photometric augmentations: lighting/contrast/gamma changes and blur (origin ``augmented``, no new defect)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter

from assetgrade.errors import ValidationError
from assetgrade.synth.base import Box, register_generator

__all__ = ["BOUNDS", "MAX_BLUR_RADIUS", "Blur", "Lighting"]

MAX_BLUR_RADIUS = 50.0
"""Largest blur radius in pixels (Pillow's radius is the Gaussian's standard deviation): a quarter of the side of
a 200 px NEU image, whose kernel's two standard deviations each way then span the image. Further, the blur is
no defocus but a field of the clamped edge pixels (on 1000 x 800 grey noise of mean 127.5, radius 500 gave a
mean of 136 and radius 2000 every pixel 172 or 173); the default draws from (0.8, 2.5)."""

BOUNDS: dict[str, tuple[float, float, bool]] = {
    "gain": (0.0, math.inf, True),
    "contrast": (0.0, math.inf, True),
    "gamma": (0.0, math.inf, False),
    "gradient": (0.0, 1.0, True),
    "gradient_angle": (-math.inf, math.inf, True),
    "radius": (0.0, MAX_BLUR_RADIUS, True),
}
"""Allowed values of each photometric parameter: (lowest, highest, whether the lowest itself is allowed).

A gamma of 0 or below turns black pixels into 1 or infinity, a negative gain or contrast inverts the image, and a
gradient above 1 can take the light at a corner below zero; a blur radius above ``MAX_BLUR_RADIUS`` leaves no image."""

ROWS_PER_BLOCK = 256
"""Rows of the light gradient made at a time (so it never takes an image-sized array)."""


def _fmt(v: object) -> str:
    return f"{v:g}" if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) else repr(v)


def _bad_value(name: str, v: object, label: str = "") -> str | None:
    """Why ``v`` is not an allowed value of parameter ``name`` (``label``: 'low ', 'high ' or ''), or None."""
    lo, hi, lo_ok = BOUNDS[name]
    allowed = f"allowed: {'[' if lo_ok else '('}{lo:g}, {hi:g}]".replace("inf]", "inf)")
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating) or not math.isfinite(v):
        return f"{label}{_fmt(v)} is not a finite number ({allowed})"
    if v < lo or (v == lo and not lo_ok):
        return f"{label}{_fmt(v)} " + (f"is below {lo:g}" if lo_ok else f"must be above {lo:g}") + f" ({allowed})"
    if v > hi:
        return f"{label}{_fmt(v)} is above {hi:g} ({allowed})"
    return None


def _check_range(generator: str, name: str, value: Any) -> tuple[float, float]:
    """``value`` as a (low, high) range of parameter ``name``; a ValidationError naming it otherwise."""
    where = f"{generator} {name}"
    if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValidationError(f"{value!r} is not a (low, high) pair", where=where)
    for label, v in zip(("low ", "high "), value, strict=True):
        if (why := _bad_value(name, v, label)) is not None:
            raise ValidationError(why, where=where)
    if value[0] > value[1]:
        raise ValidationError(f"low {_fmt(value[0])} is above high {_fmt(value[1])}", where=where)
    return float(value[0]), float(value[1])


def _check_params(generator: str, params: dict[str, Any], names: tuple[str, ...]) -> None:
    """A ValidationError naming the first missing or bad parameter ``render`` was given."""
    for name in names:
        if name not in params:
            raise ValidationError(f"missing; the parameters hold {sorted(params)}", where=f"{generator} {name}")
        if (why := _bad_value(name, params[name])) is not None:
            raise ValidationError(why, where=f"{generator} {name}")


@register_generator("lighting")
class Lighting:
    """Lighting change: out = 255 * (gain * (x/255) ** gamma), then contrast about the mean, plus a linear gradient.

    Parameters
    ----------
    gain, contrast, gamma, gradient : (low, high) ranges the parameters are drawn from, within ``BOUNDS``.

    Examples
    --------
    >>> p = Lighting(gain=(0.6, 0.6)).sample_params(np.random.default_rng(0), (8, 8))
    >>> p["gain"]
    0.6
    """

    name = "lighting"
    origin: Literal["augmented"] = "augmented"
    defect = None

    def __init__(
        self,
        *,
        gain: tuple[float, float] = (0.6, 1.4),
        contrast: tuple[float, float] = (0.6, 1.4),
        gamma: tuple[float, float] = (0.8, 1.25),
        gradient: tuple[float, float] = (0.0, 0.3),
    ) -> None:
        for name, value in (("gain", gain), ("contrast", contrast), ("gamma", gamma), ("gradient", gradient)):
            _check_range(self.name, name, value)
        self.gain, self.contrast, self.gamma, self.gradient = gain, contrast, gamma, gradient

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int]) -> dict[str, Any]:
        return {
            "gain": round(float(rng.uniform(*self.gain)), 4),
            "contrast": round(float(rng.uniform(*self.contrast)), 4),
            "gamma": round(float(rng.uniform(*self.gamma)), 4),
            "gradient": round(float(rng.uniform(*self.gradient)), 4),
            "gradient_angle": round(float(rng.uniform(0, 2 * np.pi)), 4),
        }

    def render(self, image: Image.Image, params: dict[str, Any]) -> tuple[Image.Image, tuple[Box, ...]]:
        _check_params(self.name, params, ("gain", "contrast", "gamma", "gradient", "gradient_angle"))
        # the arithmetic of version 1, element by element in the same order, so the same bytes: in place on one
        # float64 copy (24 bytes a pixel; v1 peaked at ~96) and the gradient as a sum of two 1-D ramps, made a
        # block of rows at a time (v1 built a 2-D int64 mgrid and several image-sized float arrays)
        x = np.asarray(image, dtype=np.float64)
        x /= 255.0
        x **= params["gamma"]
        x *= params["gain"]
        mean = x.mean() if x.size else 0.0
        x -= mean
        x *= params["contrast"]
        x += mean
        h, w = x.shape[:2]
        a = params["gradient_angle"]
        ramp_x = (np.arange(w) / max(1, w - 1) - 0.5) * np.cos(a)
        ramp_y = (np.arange(h) / max(1, h - 1) - 0.5) * np.sin(a)
        for r0 in range(0, h, ROWS_PER_BLOCK):
            light = ramp_x[None, :] + ramp_y[r0:r0 + ROWS_PER_BLOCK, None]
            light *= params["gradient"]
            light += 1.0
            x[r0:r0 + ROWS_PER_BLOCK] *= light[:, :, None]
        x *= 255.0
        x += 0.5
        np.clip(x, 0, 255, out=x)
        return Image.fromarray(x.astype(np.uint8), mode="RGB"), ()


@register_generator("blur")
class Blur:
    """Defocus: a Gaussian blur of radius drawn from ``radius`` (pixels, within ``BOUNDS``: 0 to ``MAX_BLUR_RADIUS``).

    Examples
    --------
    >>> Blur(radius=(2.0, 2.0)).sample_params(np.random.default_rng(0), (8, 8))
    {'radius': 2.0}
    """

    name = "blur"
    origin: Literal["augmented"] = "augmented"
    defect = None

    def __init__(self, *, radius: tuple[float, float] = (0.8, 2.5)) -> None:
        _check_range(self.name, "radius", radius)
        self.radius = radius

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int]) -> dict[str, Any]:
        return {"radius": round(float(rng.uniform(*self.radius)), 4)}

    def render(self, image: Image.Image, params: dict[str, Any]) -> tuple[Image.Image, tuple[Box, ...]]:
        _check_params(self.name, params, ("radius",))
        return image.filter(ImageFilter.GaussianBlur(params["radius"])), ()
