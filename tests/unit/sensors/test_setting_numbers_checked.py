"""The sensors extractor's ``C`` takes numpy numbers and refuses non-finite ones, as its other numeric settings do
(``C=np.int64(2)`` was refused, ``C=inf`` went on into the grade model); and the RUL model refuses the slope windows
the extractor refuses (a window of one row has no slope; a repeated one made two columns of one name), in the
extractor's words."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader_factory import check_grader_settings
from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.modalities.sensors.health import RulModel

C_ALLOWED = "allowed: a finite number > 0, or 'auto'"


@pytest.mark.parametrize("C", [np.int64(2), np.float64(0.5), np.float32(3.0), 2, 0.1, "auto"])
def test_c_takes_python_and_numpy_numbers(C: object) -> None:
    assert SensorExtractor(C=C).C == C  # type: ignore[arg-type]


@pytest.mark.parametrize(("C", "shown"), [
    (float("inf"), "inf"), (np.float64("inf"), "np.float64(inf)"), (float("-inf"), "-inf"), (float("nan"), "nan"),
    (0, "0"), (np.int64(-1), "np.int64(-1)"), (True, "True"), (np.bool_(True), "np.True_"), ("big", "'big'"),
    ("1", "'1'"), (None, "None"),
])
def test_c_refuses_what_is_not_a_finite_positive_number_naming_the_setting(C: object, shown: str) -> None:
    with pytest.raises(ValidationError) as err:
        SensorExtractor(C=C)  # type: ignore[arg-type]
    assert (err.value.where, err.value.reason) == ("SensorExtractor.C", f"C={shown}; {C_ALLOWED}")


def test_config_check_names_a_bad_c_at_its_key() -> None:
    assert check_grader_settings({"extractors": ["sensors"], "extractor_settings": {"sensors": {"C": float("inf")}}}) \
        == [f"assetgrade.yaml:grader.extractor_settings.sensors.C: C=inf; {C_ALLOWED}"]


@pytest.mark.parametrize("windows", [(5, 1), (1,), (5, 5), [np.int64(4), np.int64(4)], (5, 0), 10, "10"])
def test_the_rul_model_refuses_the_slope_windows_the_extractor_refuses_in_its_words(windows: object) -> None:
    with pytest.raises(ValidationError) as ex_err:
        SensorExtractor(slope_windows=windows)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as rul_err:
        RulModel(slope_windows=windows)  # type: ignore[arg-type]
    assert rul_err.value.where == "RulModel.slope_windows"
    assert rul_err.value.reason == ex_err.value.reason == (
        f"slope_windows={windows!r}; allowed: a list of distinct whole numbers >= 2")
    with pytest.raises(ValidationError) as err:  # as a workspace's rul_settings entry, named at its key
        SensorExtractor(rul_settings={"slope_windows": windows})
    assert (err.value.where, err.value.reason) == ("SensorExtractor.rul_settings.slope_windows", ex_err.value.reason)


def test_the_rul_model_keeps_good_slope_windows() -> None:
    assert RulModel(slope_windows=np.array([5, 10])).slope_windows == (5, 10)
    assert RulModel(slope_windows=[2]).slope_windows == (2,)
