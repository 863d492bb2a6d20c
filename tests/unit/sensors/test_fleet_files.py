"""``sensors fit-rul`` on a fleet folder with bad files: each is named and left out, the channels do not hang on one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import ValidationError
from assetgrade.grading.fleet_rul import read_fleet_histories
from assetgrade.modalities.sensors.health import RulModel, majority_columns


def _unit(rng: np.random.Generator, life: int) -> pd.DataFrame:
    wear = np.exp((np.arange(life) - life) / 15.0)
    return pd.DataFrame({
        "cycle": np.arange(1, life + 1),
        "setting_1": rng.normal(0, 0.001, life),
        "s1": 500 + 20 * wear + rng.normal(0, 0.5, life),
        "s2": 20 - 3 * wear + rng.normal(0, 0.2, life),
        "vib": 1 + 3 * wear + rng.normal(0, 0.1, life),
    })


def _write_fleet(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        _unit(rng, int(rng.integers(50, 90))).to_csv(folder / f"unit-{k:02d}.csv", index=False)


def test_bad_files_are_named_and_left_out(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    _write_fleet(fleet, 6)
    rng = np.random.default_rng(1)
    (fleet / "unit-99-short.csv").write_text("cycle,setting_1,s1,s2,vib\n1,0.0,505.0,17.1,0.3\n", encoding="utf-8")
    _unit(rng, 60).drop(columns=["s2"]).to_csv(fleet / "unit-03b-nos2.csv", index=False)
    dead = _unit(rng, 60)
    dead.loc[10:40, "vib"] = np.nan  # a dead stretch of a channel the other files have
    dead.to_csv(fleet / "unit-04b-deadvib.csv", index=False)
    got = read_fleet_histories(fleet)
    assert got.names == [f"unit-{k:02d}.csv" for k in range(6)]
    text = "\n".join(got.errors)
    assert "unit-99-short.csv: too short" in text
    assert "unit-03b-nos2.csv: left out" in text and "s2 (missing)" in text
    assert "unit-04b-deadvib.csv" in text and "vib" in text
    assert all(list(f.columns) == ["setting_1", "s1", "s2", "vib"] for f in got.frames)


def test_channels_do_not_depend_on_which_file_sorts_first(tmp_path: Path) -> None:
    """The first file by name lacking s2 is left out (not s2 from every unit); its extra channel is dropped."""
    fleet = tmp_path / "fleet"
    _write_fleet(fleet, 6)
    first = _unit(np.random.default_rng(2), 70).drop(columns=["s2"])
    first["extra"] = 1.0 + np.arange(70.0)
    first.to_csv(fleet / "a-first.csv", index=False)
    got = read_fleet_histories(fleet)
    assert "a-first.csv" not in got.names and len(got.names) == 6
    assert all(list(f.columns) == ["setting_1", "s1", "s2", "vib"] for f in got.frames)
    assert got.dropped_channels == ["extra"]
    text = "\n".join(got.errors)
    assert "a-first.csv: left out" in text and "channel 'extra' dropped: usable in 1 of 7 files" in text


def test_rul_model_takes_the_channels_most_histories_have() -> None:
    rng = np.random.default_rng(3)
    hs = [_unit(rng, int(rng.integers(50, 90))).set_index("cycle") for _ in range(5)]
    hs[0]["extra"] = rng.normal(0, 1, len(hs[0]))
    m = RulModel(cap=40, n_estimators=5, window=5, slope_windows=(5,)).fit(hs)
    assert m.channels_ == ["s1", "s2", "vib"] and "extra" in m.dropped_channels_
    hs[0] = hs[0].drop(columns=["s2"])
    with pytest.raises(ValidationError, match=r"series first\.csv: channel\(s\) \['s2'\] missing"):
        RulModel(cap=40, n_estimators=5).fit(hs, names=["first.csv", "b", "c", "d", "e"])
    assert majority_columns([["a", "b"], ["b", "a"], ["a"]]) == (["a", "b"], [])


def test_cli_fit_rul_leaves_bad_files_out(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    _write_fleet(fleet, 5)
    (fleet / "unit-99-short.csv").write_text("cycle,setting_1,s1,s2,vib\n1,0.0,505.0,17.1,0.3\n", encoding="utf-8")
    _unit(np.random.default_rng(4), 60).drop(columns=["s2"]).to_csv(fleet / "a-nos2.csv", index=False)
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(fleet), "--out", str(tmp_path / "m"),
                                           "--cap", "40", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["histories"] == 5 and summary["skipped"] == 2 and summary["channels"] == ["s1", "s2", "vib"]
    info = json.loads((tmp_path / "m" / "bundle.json").read_text(encoding="utf-8"))
    assert "a-nos2.csv" not in info["files"] and any("unit-99-short.csv" in e for e in info["skipped"])
    # fewer than 4 left once the bad files are out: a clear error, exit code 2, nothing written
    for k in range(2, 5):
        (fleet / f"unit-{k:02d}.csv").unlink()
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(fleet), "--out", str(tmp_path / "m2")])
    assert isinstance(res.exception, ValidationError) and exit_code_for(res.exception) == 2
    assert "2 usable histories" in str(res.exception) and not (tmp_path / "m2").exists()


def test_a_history_with_its_time_axis_as_a_column_is_refused_naming_it() -> None:
    import numpy as np
    import pandas as pd

    from assetgrade.errors import ValidationError
    from assetgrade.modalities.sensors.health import RulModel

    rng = np.random.default_rng(0)
    runs = []
    for _ in range(5):
        n = int(rng.integers(30, 50))
        runs.append(pd.DataFrame({"cycle": np.arange(1, n + 1), "s1": np.linspace(0, 1, n) + rng.normal(0, 0.01, n),
                                  "s2": rng.normal(0, 1, n)}))
    with pytest.raises(ValidationError, match=r"column 'cycle' looks like the time axis.*set_index\('cycle'\)"):
        RulModel(cap=30, n_estimators=5).fit(runs)
    model = RulModel(cap=30, n_estimators=5).fit([r.set_index("cycle") for r in runs])
    assert "cycle" not in model.channels_
