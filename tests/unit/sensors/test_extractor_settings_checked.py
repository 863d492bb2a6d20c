"""The sensors extractor's own settings are checked when it is made: a quoted ``"30"`` window or a negative one from
the workspace file went on until ``extract`` failed deep inside, or silently changed the features (a recent window
of 0 read the whole series as "recent")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader_factory import check_grader_settings
from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.modalities.sensors.grading import RulGradeMap
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.store.records import AssetRecord, SeriesRef

BAD = [
    ({"window": "30"}, "window='30'; allowed: a whole number >= 1"),
    ({"window": -5}, "window=-5; allowed: a whole number >= 1"),
    ({"window": 2.5}, "window=2.5; allowed: a whole number >= 1"),
    ({"slope_windows": 30}, "slope_windows=30; allowed: a list of distinct whole numbers >= 2"),
    ({"slope_windows": "30"}, "slope_windows='30'; allowed: a list of distinct whole numbers >= 2"),
    ({"slope_windows": [5, 1]}, "slope_windows=[5, 1]; allowed: a list of distinct whole numbers >= 2"),
    ({"slope_windows": [5, 5]}, "slope_windows=[5, 5]; allowed: a list of distinct whole numbers >= 2"),
    ({"recent_window": 0}, "recent_window=0; allowed: a whole number >= 1"),
    ({"n_bands": True}, "n_bands=True; allowed: a whole number >= 1"),
    ({"z_threshold": "5"}, "z_threshold='5'; allowed: a finite number > 0"),
    ({"z_threshold": float("nan")}, "z_threshold=nan; allowed: a finite number > 0"),
    ({"rms_ratio": 1.0}, "rms_ratio=1.0; allowed: a finite number > 1 (the RMS growth that makes a finding)"),
    ({"min_length": 0}, "min_length=0; allowed: a whole number >= 1"),
    ({"time_unit": ""}, "time_unit=''; allowed: a non-empty word for the time index's unit ('cycles', 'hours'...)"),
    ({"time_unit": 3}, "time_unit=3; allowed: a non-empty word for the time index's unit ('cycles', 'hours'...)"),
    ({"grade_map": {"A": 100}}, "grade_map={'A': 100}; allowed: a RulGradeMap, or none"),
    ({"rul_model": 3}, "rul_model=3; allowed: a RulModel (in the workspace file: a saved fleet RUL model's folder), "
                       "or none"),
    ({"rul_settings": ["cap"]}, "rul_settings=['cap']; allowed: a mapping of RulModel settings, or none"),
]


@pytest.mark.parametrize(("kw", "message"), BAD)
def test_a_bad_setting_is_refused_when_the_extractor_is_made(kw: dict[str, object], message: str) -> None:
    (name,) = kw
    with pytest.raises(ValidationError) as err:
        SensorExtractor(**kw)  # type: ignore[arg-type]
    assert (err.value.where, err.value.reason) == (f"SensorExtractor.{name}", message)


def test_config_check_names_a_bad_setting_at_its_key() -> None:
    def check(sensors: dict[str, object]) -> list[str]:
        return check_grader_settings({"extractors": ["sensors"], "extractor_settings": {"sensors": sensors}})

    key = "assetgrade.yaml:grader.extractor_settings.sensors"
    assert check({"window": "30"}) == [f"{key}.window: window='30'; allowed: a whole number >= 1"]
    assert check({"recent_window": -40}) == [f"{key}.recent_window: recent_window=-40; allowed: a whole number >= 1"]
    assert check({"slope_windows": 10}) == [
        f"{key}.slope_windows: slope_windows=10; allowed: a list of distinct whole numbers >= 2"]
    assert check({"time_unit": ""}) == [
        f"{key}.time_unit: time_unit=''; allowed: a non-empty word for the time index's unit ('cycles', 'hours'...)"]
    # a mapping where a grade map goes used to stop the check itself (AttributeError) once grades were given
    assert check({"grade_map": {"A": 100}, "grades": ["A", "B"]}) == [
        f"{key}.grade_map: grade_map={{'A': 100}}; allowed: a RulGradeMap, or none"]
    assert check({"window": 12, "slope_windows": [4, 12], "z_threshold": 4, "time_unit": "hours"}) == []


def test_good_settings_numpy_numbers_included_are_kept_and_fit() -> None:
    ex = SensorExtractor(window=np.int64(10), slope_windows=np.array([5, 10]), recent_window=np.int64(20),
                         n_bands=np.int64(3), z_threshold=np.float32(4.0), rms_ratio=np.float64(2),
                         min_length=np.int64(5), time_unit="hours", grade_map=RulGradeMap(), rul_model=None,
                         seed=np.int64(3))
    assert (ex.window, ex.slope_windows, ex.n_bands, ex.time_unit) == (10, (5, 10), 3, "hours")
    assert SensorExtractor(rul_model=RulModel()).rul_model is not None  # an unfitted one is refused by fit
    df = pd.DataFrame({"vib": np.sin(np.arange(100.0))}, index=np.arange(100.0))
    rec = AssetRecord("pump-1", series=(SeriesRef("e1", "0", load=lambda: df),))
    block = ex.fit([rec]).extract([rec])
    assert block.present.tolist() == [True] and "vib__slope10" in block.feature_names
