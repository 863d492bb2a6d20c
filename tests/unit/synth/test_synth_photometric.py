"""Lighting and blur: ranges and parameters checked by name, and lighting rendered without image-sized temporaries."""

from __future__ import annotations

import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import ValidationError
from assetgrade.synth import generate
from assetgrade.synth.photometric import Blur, Lighting


def _lighting_v1(image: Image.Image, params: dict[str, Any]) -> bytes:
    """Version 1's lighting render, verbatim (the reference bytes)."""
    x = np.asarray(image, dtype=np.float64) / 255.0
    x = params["gain"] * x ** params["gamma"]
    mean = x.mean()
    x = mean + params["contrast"] * (x - mean)
    h, w = x.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    a = params["gradient_angle"]
    ramp = ((xx / max(1, w - 1) - 0.5) * np.cos(a) + (yy / max(1, h - 1) - 0.5) * np.sin(a))
    x = x * (1.0 + params["gradient"] * ramp)[:, :, None]
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8).tobytes()


def test_lighting_renders_the_version_1_bytes(rng: np.random.Generator) -> None:
    wide = Lighting(gain=(0.2, 2.5), contrast=(0.0, 3.0), gamma=(0.3, 3.0), gradient=(0.0, 1.0))
    for k in range(60):
        w, h = int(rng.integers(1, 300)), int(rng.integers(1, 120))
        lo = int(rng.integers(0, 200))
        img = Image.fromarray(rng.integers(lo, 256, size=(h, w, 3)).astype(np.uint8))
        gen = wide if k % 2 else Lighting()
        params = gen.sample_params(np.random.default_rng(k), (w, h))
        assert gen.render(img, params)[0].tobytes() == _lighting_v1(img, params)
    img = Image.fromarray(rng.integers(0, 256, size=(600, 37, 3)).astype(np.uint8))  # more rows than one block
    for gamma in (0.5, 1.0, 2.0, 3.0):  # numpy's fast paths for these powers, in place and not
        params = {"gain": 1.1, "contrast": 1.2, "gamma": gamma, "gradient": 1.0, "gradient_angle": 2.0}
        assert Lighting().render(img, params)[0].tobytes() == _lighting_v1(img, params)


def test_lighting_on_a_large_image_needs_one_float_copy() -> None:
    # v1 held ~96 bytes a pixel at its peak (several float64 copies and a 2-D int64 mgrid): 8.5 GB for a
    # Pillow-limit 89 Mpx image; now the float64 RGB copy (24) and a few rows of the light gradient
    w, h = 1000, 800
    img = Image.new("RGB", (w, h), (120, 120, 120))
    params = Lighting().sample_params(np.random.default_rng(0), (w, h))
    tracemalloc.start()
    try:
        Lighting().render(img, params)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (w * h) < 32


BAD_RANGES = [
    ("gain", (-0.5, 1.0), r"gain: low -0\.5 is below 0"),
    ("gain", (1.4, 0.6), r"gain: low 1\.4 is above high 0\.6"),
    ("gain", (math.nan, 1.0), r"gain: low nan is not a finite number"),
    ("contrast", (0.5, math.inf), r"contrast: high inf is not a finite number"),
    ("contrast", (-1.0, 1.0), r"contrast: low -1 is below 0"),
    ("gamma", (0.0, 1.0), r"gamma: low 0 must be above 0"),
    ("gamma", (-2.0, -1.0), r"gamma: low -2 must be above 0"),
    ("gradient", (0.0, 1.5), r"gradient: high 1\.5 is above 1"),
    ("gradient", (-0.1, 0.2), r"gradient: low -0\.1 is below 0"),
    ("gain", (1.0,), r"gain: \(1\.0,\) is not a \(low, high\) pair"),
    ("gain", "0.5", r"gain: '0\.5' is not a \(low, high\) pair"),
    ("gamma", (True, 2.0), r"gamma: low True is not a finite number"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_RANGES)
def test_a_bad_lighting_range_is_refused_naming_it(name: str, value: Any, message: str) -> None:
    # v1 took them all: gamma <= 0 then drew inf/NaN on black pixels, a reversed or NaN range drew anyway
    with pytest.raises(ValidationError, match=message) as exc:
        Lighting(**{name: value})
    assert exc.value.where == f"lighting {name}"


@pytest.mark.parametrize(("value", "message"), [((-1.0, 2.0), r"radius: low -1 is below 0"),
                                                ((3.0, 1.0), r"radius: low 3 is above high 1"),
                                                ((1.0, math.nan), r"radius: high nan is not a finite number")])
def test_a_bad_blur_range_is_refused_naming_it(value: tuple[float, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as exc:
        Blur(radius=value)
    assert exc.value.where == "blur radius"


def test_the_default_and_degenerate_ranges_are_accepted() -> None:
    Lighting()
    Blur()
    Lighting(gain=(0.0, 0.0), contrast=(1, 1), gamma=(1, 1), gradient=(1.0, 1.0))
    assert Blur(radius=(0.0, 0.0)).sample_params(np.random.default_rng(0), (4, 4)) == {"radius": 0.0}


@pytest.mark.parametrize(("key", "value", "message"), [
    ("gamma", 0.0, r"gamma: 0 must be above 0"),
    ("gamma", -1.0, r"gamma: -1 must be above 0"),
    ("gain", math.nan, r"gain: nan is not a finite number"),
    ("gradient_angle", math.inf, r"gradient_angle: inf is not a finite number"),
    ("contrast", -2.0, r"contrast: -2 is below 0"),
])
def test_bad_recorded_lighting_params_are_refused_naming_them(key: str, value: float, message: str) -> None:
    # v1: gamma -1 on a black pixel gave inf, cast to uint8 without a word
    params = {"gain": 1.0, "contrast": 1.0, "gamma": 1.0, "gradient": 0.0, "gradient_angle": 0.0, key: value}
    with pytest.raises(ValidationError, match=message) as exc:
        Lighting().render(Image.new("RGB", (4, 4)), params)
    assert exc.value.where == f"lighting {key}"


def test_bad_recorded_blur_radius_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"radius: -3 is below 0"):
        Blur().render(Image.new("RGB", (4, 4)), {"radius": -3.0})


def test_lighting_of_a_one_pixel_image_is_finite() -> None:
    s = generate("lighting", Image.new("RGB", (1, 1), (0, 0, 0)), seed=0, parent_id="p")
    assert s.image.size == (1, 1)


@pytest.mark.parametrize(("value", "message"), [((0.8, 51.0), r"radius: high 51 is above 50 \(allowed: \[0, 50\]\)"),
                                                ((1e9, 1e9), r"radius: low 1e\+09 is above 50")])
def test_a_blur_radius_past_the_maximum_is_refused(value: tuple[float, float], message: str) -> None:
    # no upper limit before: Pillow's blur keeps its time, but a radius near the image's side leaves a field of the
    # clamped edge pixels (1000x800 grey noise of mean 127.5 at radius 2000: every pixel 172 or 173)
    with pytest.raises(ValidationError, match=message) as exc:
        Blur(radius=value)
    assert exc.value.where == "blur radius"
    with pytest.raises(ValidationError, match=r"blur radius: 2000 is above 50") as exc:
        Blur().render(Image.new("RGB", (4, 4)), {"radius": 2000.0})
    assert Blur(radius=(50, 50)).sample_params(np.random.default_rng(0), (4, 4)) == {"radius": 50.0}
