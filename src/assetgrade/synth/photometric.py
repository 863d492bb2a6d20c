"""Photometric augmentations: lighting/contrast/gamma changes and blur (origin ``augmented``, no new defect)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter

from assetgrade.synth.base import Box, register_generator

__all__ = ["Blur", "Lighting"]


@register_generator("lighting")
class Lighting:
    """Lighting change: out = 255 * (gain * (x/255) ** gamma), then contrast about the mean, plus a linear gradient.

    Parameters
    ----------
    gain, contrast, gamma, gradient : (low, high) ranges the parameters are drawn from.

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
        x = np.asarray(image, dtype=np.float64) / 255.0
        x = params["gain"] * x ** params["gamma"]
        mean = x.mean()
        x = mean + params["contrast"] * (x - mean)
        h, w = x.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        a = params["gradient_angle"]
        ramp = ((xx / max(1, w - 1) - 0.5) * np.cos(a) + (yy / max(1, h - 1) - 0.5) * np.sin(a))
        x = x * (1.0 + params["gradient"] * ramp)[:, :, None]
        return Image.fromarray(np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="RGB"), ()


@register_generator("blur")
class Blur:
    """Defocus: a Gaussian blur of radius drawn from ``radius`` (pixels).

    Examples
    --------
    >>> Blur(radius=(2.0, 2.0)).sample_params(np.random.default_rng(0), (8, 8))
    {'radius': 2.0}
    """

    name = "blur"
    origin: Literal["augmented"] = "augmented"
    defect = None

    def __init__(self, *, radius: tuple[float, float] = (0.8, 2.5)) -> None:
        self.radius = radius

    def sample_params(self, rng: np.random.Generator, size: tuple[int, int]) -> dict[str, Any]:
        return {"radius": round(float(rng.uniform(*self.radius)), 4)}

    def render(self, image: Image.Image, params: dict[str, Any]) -> tuple[Image.Image, tuple[Box, ...]]:
        return image.filter(ImageFilter.GaussianBlur(params["radius"])), ()
