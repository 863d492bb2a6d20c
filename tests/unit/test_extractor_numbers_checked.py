"""The three extractors check ``C`` by one rule, in one wording (a finite number > 0, numpy's taken, or 'auto'), and
the vision extractor's other numeric settings take numpy numbers: ``TextExtractor(C=np.int64(2))`` and
``VisionExtractor(C=np.int64(2), image_size=np.int64(64), ...)`` were refused, ``TextExtractor(C=inf)`` went on into
the grade model. The vision extractor keeps a numpy whole number as a Python int (a numpy image size failed inside
the backbone library)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader_factory import check_grader_settings
from assetgrade.modalities.base import get_extractor

C_ALLOWED = "allowed: a finite number > 0, or 'auto'"
EXTRACTORS = {"text": "TextExtractor", "vision": "VisionExtractor", "sensors": "SensorExtractor"}


@pytest.mark.parametrize("name", EXTRACTORS)
@pytest.mark.parametrize("C", [np.int64(2), np.float64(0.5), np.float32(3.0), 2, 0.1, "auto"])
def test_c_takes_python_and_numpy_numbers(name: str, C: object) -> None:
    assert get_extractor(name, C=C).C == C  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", EXTRACTORS)
@pytest.mark.parametrize(("C", "shown"), [
    (float("inf"), "inf"), (np.float64("inf"), "np.float64(inf)"), (float("-inf"), "-inf"), (float("nan"), "nan"),
    (0, "0"), (np.int64(-1), "np.int64(-1)"), (True, "True"), (np.bool_(True), "np.True_"), ("big", "'big'"),
    (None, "None"),
])
def test_c_refuses_what_is_not_a_finite_positive_number_in_one_wording(name: str, C: object, shown: str) -> None:
    with pytest.raises(ValidationError) as err:
        get_extractor(name, C=C)
    assert (err.value.where, err.value.reason) == (f"{EXTRACTORS[name]}.C", f"C={shown}; {C_ALLOWED}")


@pytest.mark.parametrize("name", EXTRACTORS)
def test_config_check_names_a_bad_c_at_its_key(name: str) -> None:
    assert check_grader_settings({"extractors": [name], "extractor_settings": {name: {"C": float("inf")}}}) \
        == [f"assetgrade.yaml:grader.extractor_settings.{name}.C: C=inf; {C_ALLOWED}"]


VISION_NUMBERS: dict[str, Any] = {"image_size": np.int64(64), "coreset_size": np.int64(100),
                                  "batch_size": np.int32(2), "seed": np.uint32(7), "mil_rounds": np.int64(0),
                                  "target_false_alarm": np.float32(0.05)}


@pytest.mark.parametrize(("setting", "value"), VISION_NUMBERS.items())
def test_the_vision_extractors_numeric_settings_take_numpy_numbers(setting: str, value: Any) -> None:
    kept = getattr(get_extractor("vision", **{setting: value}), setting)
    assert kept == value
    if isinstance(value, np.integer):  # as a Python int: the backbone library unpacks a non-int image size
        assert type(kept) is int


@pytest.mark.parametrize(("setting", "value", "allowed"), [
    ("image_size", np.int64(16), "an integer in 32..1024"), ("image_size", np.float64(64.0), "an integer in 32..1024"),
    ("coreset_size", np.bool_(True), "an integer >= 1"), ("batch_size", np.int64(0), "an integer >= 1"),
    ("seed", np.int64(-1), "an integer in 0..4294967295"), ("mil_rounds", 1.0, "an integer >= 0"),
    ("target_false_alarm", float("nan"), "a share of good photos in (0, 1)"),
    ("target_false_alarm", np.bool_(True), "a share of good photos in (0, 1)"),
])
def test_the_vision_extractor_still_refuses_bad_numbers(setting: str, value: Any, allowed: str) -> None:
    with pytest.raises(ValidationError) as err:
        get_extractor("vision", **{setting: value})
    assert (err.value.where, err.value.reason) == (f"VisionExtractor.{setting}",
                                                   f"{setting}={value!r}; allowed: {allowed}")
