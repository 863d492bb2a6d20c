"""A defect is labelled only where it is visible: boxes from the change achieved after clipping, redraws, refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import ValidationError
from assetgrade.synth import generate, get_generator
from assetgrade.synth.base import GENERATOR_VERSION
from assetgrade.synth.defects import VISIBLE_LEVELS, Crack, Pitting, Scratch, _lines_mask

DEFECTS = ("crack", "pitting", "scratch")


def _changed_box(before: Image.Image, after: Image.Image, mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box of the pixels under the mask (> 0.1, as in version 1) that changed by VISIBLE_LEVELS or more."""
    change = np.abs(np.asarray(after, np.int16) - np.asarray(before, np.int16)).max(axis=2)
    ys, xs = np.nonzero((change >= VISIBLE_LEVELS) & (mask > 0.1))
    if len(xs) == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


@pytest.mark.parametrize("value", [0, 255])
def test_a_scratch_on_a_saturated_surface_is_always_visible_where_its_box_says(value: int) -> None:
    # v1: a brighter scratch on white (a darker one on black) was clipped away, yet labelled with a box (107/200
    # seeds on white, 93/200 on black)
    img = Image.new("RGB", (64, 64), (value,) * 3)
    for seed in range(40):
        s = generate("scratch", img, seed=seed, parent_id="p")
        assert s.defect == "scratch" and len(s.boxes) == 1
        mask = _lines_mask(img.size, s.params["lines"], s.params["widths"], s.params["blur"])
        assert s.boxes[0][1] == _changed_box(img, s.image, mask)
        assert (s.params["delta"] < 0) == (value == 255)


def _flat_line_params(delta: float) -> dict[str, Any]:
    return {"lines": [[[0.0, 32.0], [63.0, 32.0]]], "widths": [3], "delta": delta, "blur": 0.5}


def test_the_box_covers_only_the_part_of_a_defect_that_survived_clipping() -> None:
    # left half white, right half grey: a brighter scratch across the whole width shows on the right half only
    arr = np.full((64, 64, 3), 120, np.uint8)
    arr[:, :32] = 255
    img = Image.fromarray(arr)
    out, boxes = Scratch().render(img, _flat_line_params(60.0))
    ((name, (x0, y0, x1, y1)),) = boxes
    assert name == "scratch" and x0 == 32.0 and x1 == 64.0 and y0 < 32 < y1
    p = _flat_line_params(60.0)
    assert boxes[0][1] == _changed_box(img, out, _lines_mask(img.size, p["lines"], p["widths"], p["blur"]))


def _v1_apply(image: Image.Image, mask: np.ndarray, delta: float) -> bytes:
    """Version 1's arithmetic (the reference pixels): clip(x + delta * mask + 0.5)."""
    out = np.asarray(image, np.float64) + delta * mask[:, :, None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8).tobytes()


def _v1_box(mask: np.ndarray, name: str) -> tuple[Any, ...]:
    ys, xs = np.nonzero(mask > 0.1)
    return ((name, (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))),)


@pytest.mark.parametrize("gen", [Crack(), Scratch()])
def test_version_1_params_render_the_same_pixels_and_unclipped_boxes(gen: Crack | Scratch,
                                                                     rng: np.random.Generator) -> None:
    # the pixels of a recorded parameter set do not change; where nothing is clipped neither does the box
    for k in range(20):
        w, h = int(rng.integers(8, 80)), int(rng.integers(8, 80))
        img = Image.fromarray(rng.integers(100, 156, size=(h, w, 3)).astype(np.uint8))
        params = gen.sample_params(np.random.default_rng(k), (w, h))
        out, boxes = gen.render(img, params)
        mask = _lines_mask(img.size, params["lines"], params["widths"], params["blur"])
        assert out.tobytes() == _v1_apply(img, mask, params["delta"])
        assert boxes == (_v1_box(mask, gen.defect) if (mask > 0.1).any() else ())


def test_generate_redraws_until_the_defect_shows_and_records_the_draws() -> None:
    white = Image.new("RGB", (48, 48), (255, 255, 255))
    draws = [generate("scratch", white, seed=seed, parent_id="p") for seed in range(30)]
    assert {s.draws for s in draws} > {1}  # some first draws were brighter scratches
    for s in draws:
        again = generate("scratch", white, seed=s.seed, parent_id="p")
        assert again.sha256() == s.sha256() and again.draws == s.draws
        assert s.provenance()["draws"] == s.draws and s.provenance()["generator_version"] == GENERATOR_VERSION
        out, boxes = get_generator("scratch").render(white, s.params)  # the recorded params reproduce it
        assert out.tobytes() == s.image.tobytes() and boxes == s.boxes


def test_a_first_draw_that_shows_is_the_version_1_result() -> None:
    grey = Image.new("RGB", (48, 48), (128, 128, 128))
    for seed in range(10):
        s = generate("scratch", grey, seed=seed, parent_id="p")
        assert s.draws == 1 and s.params == Scratch().sample_params(np.random.default_rng(seed), (48, 48))


@pytest.mark.parametrize("name", ["crack", "pitting"])
def test_a_dark_defect_on_black_is_refused_naming_the_image(name: str) -> None:
    # v1 returned the unchanged black image labelled with the defect and a box
    with pytest.raises(ValidationError, match=rf"{name} drew nothing visible on image img-4 .*darker") as exc:
        generate(name, Image.new("RGB", (32, 32)), seed=0, parent_id="img-4")
    assert exc.value.where == "synth img-4"


@pytest.mark.parametrize("name", [*DEFECTS, "blur", "lighting"])
@pytest.mark.parametrize("size", [(0, 0), (0, 5), (7, 0)])
def test_an_empty_image_is_refused(name: str, size: tuple[int, int]) -> None:
    # v1: a defect on a 0-pixel image was labelled with no box; lighting warned 'Mean of empty slice'
    with pytest.raises(ValidationError, match=r"image img-0 has no pixels") as exc:
        generate(name, Image.new("RGB", size), seed=0, parent_id="img-0")
    assert exc.value.where == "synth img-0"


def test_pitting_on_a_partly_black_surface_is_boxed_where_it_shows() -> None:
    arr = np.zeros((64, 64, 3), np.uint8)
    arr[:, 32:] = 150
    img = Image.fromarray(arr)
    params = {"pits": [[16.0, 20.0, 3.0, 1.0], [48.0, 40.0, 3.0, 1.0]], "delta": -80.0}
    out, ((_, box),) = Pitting().render(img, params)
    yy, xx = np.mgrid[0:64, 0:64]
    right_pit = np.exp(-((xx - 48.0) ** 2 + (yy - 40.0) ** 2) / 18.0)  # the one on black shows nothing
    assert box == _changed_box(img, out, right_pit) and box == (42.0, 34.0, 55.0, 47.0)
