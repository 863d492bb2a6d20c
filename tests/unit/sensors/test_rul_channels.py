"""A RUL model whose channels the workspace's series lack: named by the data check and by train, before fitting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import ValidationError
from assetgrade.grader import Grader
from assetgrade.grading.fleet_rul import rul_channel_gaps, save_fleet_rul
from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.store.records import AssetRecord, SeriesRef
from assetgrade.training_check import check_training_data


def _run(rng: np.random.Generator, life: int, channels: tuple[str, ...]) -> pd.DataFrame:
    wear = np.exp((np.arange(life) - life) / 15.0)
    cols = {"temp": 500 + 20 * wear + rng.normal(0, 0.5, life), "vib": 1 + 3 * wear + rng.normal(0, 0.1, life)}
    return pd.DataFrame({c: cols[c] for c in channels}, index=np.arange(1.0, life + 1))


@pytest.fixture(scope="module")
def model() -> RulModel:
    rng = np.random.default_rng(0)
    fleet = [_run(rng, int(rng.integers(40, 70)), ("temp", "vib")) for _ in range(6)]
    return RulModel(cap=30, n_estimators=5, window=5, slope_windows=(5,)).fit(fleet)


def _records(n: int, lacking: int) -> list[AssetRecord]:
    """``n`` labelled assets; the first ``lacking`` have no 'vib' channel."""
    rng = np.random.default_rng(1)
    out = []
    for k in range(n):
        frame = _run(rng, 50, ("temp",) if k < lacking else ("temp", "vib"))
        out.append(AssetRecord(f"a{k}", grade="AB"[k % 2],
                               series=(SeriesRef(f"s{k}", str(k), load=lambda f=frame: f),)))
    return out


def test_data_check_names_the_channels_the_rul_model_needs(tmp_path: Path, model: RulModel) -> None:
    save_fleet_rul(model, tmp_path / "rul")
    settings = {"extractors": ["sensors"], "folds": 3, "extractor_settings": {"sensors": {"rul_model": "rul"}}}
    check = check_training_data(_records(6, 6), settings, ["A", "B"], base=tmp_path)
    assert any("needs channel(s) ['vib'] that none of the 6 labelled assets' series has" in w
               and "train leaves sensors out" in w for w in check.warnings)
    assert check.modality_counts == {"sensors": 0}
    assert any("no extractor has labelled evidence" in p for p in check.problems)  # sensors alone: train would stop
    check = check_training_data(_records(6, 2), settings, ["A", "B"], base=tmp_path)
    assert not check.problems and check.modality_counts == {"sensors": 4}
    assert any("needs channel(s) ['vib'] that 2 of 6 labelled assets' series lack (a0, a1)" in w
               for w in check.warnings)
    assert not check_training_data(_records(6, 0), settings, ["A", "B"], base=tmp_path).warnings
    assert rul_channel_gaps(model, _records(3, 1)) == {"a0": ["vib"]}
    for plain in ({"extractors": ["sensors"], "folds": 3},  # the default: no RUL model, nothing to check
                  {"extractors": ["sensors"], "folds": 3, "extractor_settings": {"sensors": {"window": 8}}}):
        check = check_training_data(_records(6, 3), plain, ["A", "B"], base=tmp_path)
        assert not check.problems and check.modality_counts == {"sensors": 6}


def test_train_leaves_sensors_out_before_fitting_naming_the_channels(model: RulModel) -> None:
    records = _records(6, 6)
    with pytest.raises(ValidationError, match=r"SensorExtractor.rul_model: the RUL model needs channel\(s\) \['vib'\]"):
        SensorExtractor(rul_model=model).fit(records)
    grader = Grader(extractors=("sensors",), folds=3, extractor_settings={"sensors": {"rul_model": model}})
    with pytest.raises(ValidationError, match=r"sensors left out: .*needs channel\(s\) \['vib'\] that none of the 6"):
        grader.fit(records)
    SensorExtractor(rul_model=model).fit(_records(6, 3))  # some series have them: the others are absent, as before
