"""Synthetic generators: every output is marked (origin, generator, params) and deterministic for a seed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import ValidationError
from assetgrade.synth import SyntheticImage, available_generators, generate, get_generator, read_mark

GENERATORS = ("blur", "crack", "lighting", "pitting", "scratch")


@pytest.fixture
def photo(rng: np.random.Generator) -> Image.Image:
    base = rng.integers(90, 160, size=(48, 64)).astype(np.uint8)
    return Image.fromarray(base).convert("RGB")


def test_registry_lists_the_builtins() -> None:
    assert set(GENERATORS) <= set(available_generators())
    with pytest.raises(ValidationError, match="known"):
        get_generator("nope")


@pytest.mark.parametrize("name", GENERATORS)
def test_output_is_marked_and_deterministic(name: str, photo: Image.Image) -> None:
    a = generate(name, photo, seed=7, parent_id="img-1")
    b = generate(name, photo, seed=7, parent_id="img-1")
    c = generate(name, photo, seed=8, parent_id="img-1")
    assert a.generator == name and a.parent_id == "img-1" and a.seed == 7
    assert a.origin == ("augmented" if name in ("blur", "lighting") else "synthetic")
    assert a.params == b.params and a.sha256() == b.sha256()
    assert a.params != c.params and a.sha256() != c.sha256()
    assert a.image.size == photo.size and a.image.mode == "RGB"
    assert not np.array_equal(np.asarray(a.image), np.asarray(photo))
    mark = read_mark(a.to_png_bytes())
    assert mark is not None and mark["origin"] == a.origin and mark["generator"] == name
    assert mark["params"] == a.params and mark["parent_id"] == "img-1"


@pytest.mark.parametrize("name", GENERATORS)
def test_recorded_params_reproduce_the_output(name: str, photo: Image.Image) -> None:
    s = generate(name, photo, seed=3, parent_id="p")
    again, _ = get_generator(name).render(photo, s.provenance()["params"])
    assert np.array_equal(np.asarray(again), np.asarray(s.image))


@pytest.mark.parametrize("name", ["scratch", "pitting", "crack"])
def test_defects_carry_a_box_inside_the_image(name: str, photo: Image.Image) -> None:
    s = generate(name, photo, seed=11, parent_id="p")
    assert s.defect is not None and s.boxes
    label, (x0, y0, x1, y1) = s.boxes[0]
    assert label == s.defect
    assert 0 <= x0 < x1 <= photo.width and 0 <= y0 < y1 <= photo.height


def test_lighting_changes_brightness_as_parametrised(photo: Image.Image) -> None:
    params = {"gain": 0.5, "contrast": 1.0, "gamma": 1.0, "gradient": 0.0, "gradient_angle": 0.0}
    out, _ = get_generator("lighting").render(photo, params)
    ratio = np.asarray(out, np.float64).mean() / np.asarray(photo, np.float64).mean()
    assert ratio == pytest.approx(0.5, abs=0.02)


def test_unmarked_image_reads_none(photo: Image.Image) -> None:
    import io

    buf = io.BytesIO()
    photo.save(buf, format="PNG")
    assert read_mark(buf.getvalue()) is None
    assert read_mark(b"not an image") is None
    s = SyntheticImage(photo, "synthetic", "x", {}, "p", 0)
    assert read_mark(s.to_png_bytes())["origin"] == "synthetic"
