"""The RUL model's settings are checked when it is made, and a workspace's ``rul_settings`` when the sensors
extractor is: a quoted ``"30"`` window or the text ``"true"`` went on unchecked (any non-empty text counted as
true), and an unknown key surfaced only when the RUL model was fitted, after the other modalities had trained."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader_factory import check_grader_settings
from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.modalities.sensors.health import RulModel

BAD = [
    ({"window": "30"}, "window='30'; allowed: a whole number >= 1"),
    ({"full_stats": "true"}, "full_stats='true'; allowed: true or false"),
    ({"cap": float("nan")}, "cap=nan; allowed: a finite number > 0"),
    ({"coverage": 1.0}, "coverage=1.0; allowed: a number in (0, 1)"),
    ({"n_estimators": True}, "n_estimators=True; allowed: a whole number >= 1"),
    ({"num_leaves": 1}, "num_leaves=1; allowed: a whole number >= 2"),
    ({"n_folds": 1}, "n_folds=1; allowed: a whole number >= 2"),
    ({"n_jobs": 0}, "n_jobs=0; allowed: a whole number >= 1, or -1 for every core"),
    ({"slope_windows": (5, 0)}, "slope_windows=(5, 0); allowed: a list of distinct whole numbers >= 2"),
    ({"channels": "s1"}, "channels='s1'; allowed: a list of column names, or none"),
    ({"seed": 2**32}, "seed=4294967296; allowed: a whole number in [0, 4294967295]"),
]


@pytest.mark.parametrize(("kw", "message"), BAD)
def test_a_bad_setting_is_refused_when_the_model_is_made(kw: dict[str, object], message: str) -> None:
    (name,) = kw
    with pytest.raises(ValidationError) as err:
        RulModel(**kw)  # type: ignore[arg-type]
    assert (err.value.where, err.value.reason) == (f"RulModel.{name}", message)


def test_good_settings_numpy_numbers_included_are_kept() -> None:
    m = RulModel(cap=np.float64(60), window=np.int64(10), slope_windows=[np.int64(5)], n_jobs=-1, full_stats=True,
                 channels=["s1", "s2"], n_regimes=6)
    assert (m.window, m.slope_windows, m.full_stats) == (10, (5,), True)


def test_config_check_names_a_bad_rul_setting_at_its_key() -> None:
    def check(rul: dict[str, object]) -> list[str]:
        return check_grader_settings({"extractors": ["sensors"],
                                      "extractor_settings": {"sensors": {"rul_settings": rul}}})

    assert check({"window": "30"}) == [
        "assetgrade.yaml:grader.extractor_settings.sensors.rul_settings.window: window='30'; allowed: a whole "
        "number >= 1"]
    assert check({"full_stats": "true"}) == [
        "assetgrade.yaml:grader.extractor_settings.sensors.rul_settings.full_stats: full_stats='true'; allowed: "
        "true or false"]
    (unknown,) = check({"windw": 3})
    assert unknown.startswith("assetgrade.yaml:grader.extractor_settings.sensors.rul_settings: bad rul_settings "
                              "['windw']") and "known keys: ['cap', 'channels'," in unknown
    assert check({"window": 12, "full_stats": "no"}) == []  # the file's yes/no words (24c828e)


def test_the_extractor_names_the_setting_when_it_is_made() -> None:
    with pytest.raises(ValidationError) as err:
        SensorExtractor(rul_settings={"learning_rate": -1})
    assert err.value.where == "SensorExtractor.rul_settings.learning_rate"
    with pytest.raises(ValidationError) as err:
        SensorExtractor(seed=-1)
    assert err.value.where == "SensorExtractor.seed"
