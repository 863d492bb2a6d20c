"""Quality flags fire on blurred and dark images, not on sharp ones; CAM maps and peak boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.heatmaps import cam_map, overlay_png, peak_in_boxes, peak_region
from assetgrade.modalities.vision.quality import assess_quality, temper


def _sharp(rng: np.random.Generator) -> Image.Image:
    base = np.kron(rng.integers(40, 215, (16, 16)), np.ones((16, 16))).astype(np.uint8)  # edges every 16 px
    return Image.fromarray(base).convert("RGB")


def test_sharp_image_is_clean(rng: np.random.Generator) -> None:
    report = assess_quality(_sharp(rng))
    assert report.flags == [] and report.confidence_factor == 1.0


def test_blurred_image_is_flagged(rng: np.random.Generator) -> None:
    blurred = _sharp(rng).filter(ImageFilter.GaussianBlur(6))
    report = assess_quality(blurred)
    assert "blurry" in report.flags and report.confidence_factor < 1.0


def test_dark_and_glare_images_are_flagged(rng: np.random.Generator) -> None:
    dark = Image.fromarray((np.asarray(_sharp(rng)) // 12).astype(np.uint8))
    assert "underexposed" in assess_quality(dark).flags
    glare = np.asarray(_sharp(rng)).copy()
    glare[100:160, 100:160] = 255
    assert "glare" in assess_quality(Image.fromarray(glare)).flags
    small = _sharp(rng).resize((40, 40), Image.Resampling.NEAREST)
    assert "low_resolution" in assess_quality(small).flags


def test_temper_pulls_toward_uniform() -> None:
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    out = temper(p, np.array([1.0, 0.5]))
    assert np.allclose(out[0], p[0]) and np.allclose(out[1], [0.35, 0.65])


def test_cam_map_is_the_weighted_sum_and_peak_box(tmp_path: Path) -> None:
    m1 = np.zeros((2, 4, 4), np.float32)
    m1[1, 3, 0] = 1.0
    m2 = np.zeros((1, 2, 2), np.float32)
    heat = cam_map([m1, m2], [0.0, 2.0, 0.0])
    assert heat.shape == (4, 4) and heat[3, 0] == 2.0 and heat.sum() == 2.0
    (x, y), box = peak_region(heat)
    assert (x, y) == (0, 3) and box == (0, 3, 1, 4)
    assert peak_in_boxes(heat, [(0, 2, 1, 4)]) and not peak_in_boxes(heat, [(2, 0, 4, 2)])
    path = overlay_png(Image.new("RGB", (32, 32)), heat, tmp_path / "o.png", box=(0, 24, 8, 32))
    assert Image.open(path).size == (32, 32)


def test_learned_flag_factors_follow_what_the_flag_does_to_accuracy(rng: np.random.Generator) -> None:
    from assetgrade.modalities.vision.quality import FLAG_FACTORS, fit_flag_factors, flag_factor

    n = 200
    y = rng.integers(0, 4, n)
    proba = np.full((n, 4), 0.02)
    proba[np.arange(n), y] = 0.94
    flags: list[list[str]] = [[] for _ in range(n)]
    for i in range(0, 80):  # "blurry" photos are read as well as clean ones
        flags[i].append("blurry")
    for i in range(80, 160):  # "glare" photos are read right only half the time, still with 94 % confidence
        flags[i].append("glare")
        if i % 2:
            proba[i] = np.roll(proba[i], 1)
    for i in range(160, 170):  # too few to learn from
        flags[i].append("underexposed")
    factors, counts = fit_flag_factors(proba, y, flags)
    assert counts == {"blurry": 80, "glare": 80, "underexposed": 10}
    assert factors["blurry"] > 0.99  # no longer costs confidence
    assert factors["glare"] < 0.6  # deeper than its default 0.8
    assert factors["underexposed"] == FLAG_FACTORS["underexposed"]
    tempered = factors["glare"] * 0.94 + (1 - factors["glare"]) / 4
    assert 0.45 < tempered < 0.55  # the half it gets right
    assert flag_factor(["blurry", "glare"], factors) == pytest.approx(factors["blurry"] * factors["glare"])
    assert flag_factor([], factors) == 1.0 and flag_factor(["low_resolution"], {}) == FLAG_FACTORS["low_resolution"]
    with pytest.raises(ValidationError, match="must match"):
        fit_flag_factors(proba, y[:-1], flags)


def test_region_box_is_exact_on_small_images_and_scaled_on_large_ones() -> None:
    from assetgrade.modalities.vision.heatmaps import region_box, resize_map

    grid = np.zeros((14, 14), np.float32)
    grid[3:5, 9:12] = 1.0  # one clear blob: the same region at any sampling
    assert region_box(grid, (300, 200)) == peak_region(resize_map(grid, (300, 200)))[1]
    x0, y0, x1, y1 = region_box(grid, (6000, 4000))
    fx0, fy0, fx1, fy1 = peak_region(resize_map(grid, (6000, 4000)))[1]
    assert max(abs(x0 - fx0), abs(x1 - fx1)) <= 6000 / 512 + 1 and max(abs(y0 - fy0), abs(y1 - fy1)) <= 4000 / 512 + 1
    assert 0 <= x0 < x1 <= 6000 and 0 <= y0 < y1 <= 4000
