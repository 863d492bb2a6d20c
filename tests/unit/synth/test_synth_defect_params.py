"""Recorded defect parameters given to ``render`` are checked, naming the parameter, instead of drawing garbage."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assetgrade.errors import ValidationError
from assetgrade.synth.defects import Crack, Pitting, Scratch

LINE = {"lines": [[[0.0, 16.0], [31.0, 16.0]]], "widths": [2], "delta": 50.0, "blur": 0.5}
PITS = {"pits": [[16.0, 16.0, 2.0, 1.0]], "delta": -80.0}


# v1: a NaN delta turned the whole image black and boxed it; a NaN or zero pit radius or depth blacked out the
# pit's neighbourhood; a negative width or blur drew anyway; a NaN point drew a line elsewhere
@pytest.mark.parametrize(("change", "where", "message"), [
    ({"delta": math.nan}, "delta", r"nan is not a finite number"),
    ({"delta": "40"}, "delta", r"'40' is not a finite number"),
    ({"blur": -1.0}, "blur", r"-1 is below 0"),
    ({"widths": [-3]}, "widths", r"width 1 is -3, not an integer >= 1"),
    ({"widths": [2.5]}, "widths", r"width 1 is 2\.5, not an integer >= 1"),
    ({"widths": []}, "widths", r"0 widths for 1 lines"),
    ({"lines": [[[math.nan, 1.0], [3.0, 4.0]]]}, "lines", r"line 1 point 1 is not two finite numbers"),
    ({"lines": [[[1.0, 2.0]]]}, "lines", r"line 1 has 1 point; a line needs 2 or more"),
    ({"lines": "oops"}, "lines", r"not a list of lines"),
])
@pytest.mark.parametrize("gen", [Scratch(), Crack()])
def test_bad_line_params_are_refused_naming_them(gen: Scratch | Crack, change: dict[str, Any], where: str,
                                                 message: str) -> None:
    with pytest.raises(ValidationError, match=message) as exc:
        gen.render(Image.new("RGB", (32, 32), (120,) * 3), {**LINE, **change})
    assert exc.value.where == f"{gen.name} {where}"


@pytest.mark.parametrize(("change", "where", "message"), [
    ({"pits": [[16.0, 16.0, 0.0, 1.0]]}, "pits", r"pit 1: radius 0 must be above 0"),
    ({"pits": [[16.0, 16.0, -2.0, 1.0]]}, "pits", r"pit 1: radius -2 must be above 0"),
    ({"pits": [[math.nan, 16.0, 2.0, 1.0]]}, "pits", r"pit 1 is not four finite numbers"),
    ({"pits": [[16.0, 16.0, 2.0, math.nan]]}, "pits", r"pit 1 is not four finite numbers"),
    ({"pits": [[16.0, 16.0, 2.0, 1.5]]}, "pits", r"pit 1: depth 1\.5 is not in \[0, 1\]"),
    ({"pits": [[16.0, 16.0, 2.0]]}, "pits", r"pit 1 is not four finite numbers"),
    ({"delta": math.inf}, "delta", r"inf is not a finite number"),
])
def test_bad_pit_params_are_refused_naming_them(change: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as exc:
        Pitting().render(Image.new("RGB", (32, 32), (120,) * 3), {**PITS, **change})
    assert exc.value.where == f"pitting {where}"


@pytest.mark.parametrize("gen", [Scratch(), Crack(), Pitting()])
def test_drawn_params_pass_the_check(gen: Scratch | Crack | Pitting, rng: np.random.Generator) -> None:
    img = Image.new("RGB", (40, 30), (120,) * 3)
    for k in range(30):
        gen.render(img, gen.sample_params(np.random.default_rng(k), img.size))
