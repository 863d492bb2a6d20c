"""``sensors fit-rul`` checks every option before any work: exit code 2 naming the option and what is allowed."""

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


def _write_fleet(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        life = int(rng.integers(40, 60))
        pd.DataFrame({"cycle": np.arange(1, life + 1), "temp": 500 + rng.normal(0, 1, life),
                      "vib": np.linspace(1, 4, life) + rng.normal(0, 0.1, life)}).to_csv(folder / f"u{k}.csv",
                                                                                         index=False)


@pytest.mark.parametrize(("args", "needle"), [
    (["--cap", "0"], "--cap: 0 is not allowed; it must be > 0"),
    (["--cap", "-5"], "--cap: -5 is not allowed; it must be > 0"),
    (["--cap", "nan"], "--cap: nan is not allowed; it must be a finite number > 0"),
    (["--cap", "inf"], "--cap: inf is not allowed; it must be a finite number > 0"),
    (["--coverage", "0"], "--coverage: 0 is not allowed; it must be in (0, 1)"),
    (["--coverage", "1"], "--coverage: 1 is not allowed; it must be in (0, 1)"),
    (["--coverage", "1.5"], "--coverage: 1.5 is not allowed; it must be in (0, 1)"),
    (["--coverage", "nan"], "--coverage: nan is not allowed"),
    (["--seed", "-1"], "--seed: -1 is not allowed; it must be in [0, 4294967295]"),
    (["--seed", "4294967296"], "--seed: 4294967296 is not allowed"),
])
def test_bad_option_values_are_refused_before_any_work(tmp_path: Path, args: list[str], needle: str) -> None:
    # the histories folder does not even exist: the option is refused first
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(tmp_path / "nowhere"),
                                           "--out", str(tmp_path / "m"), *args])
    assert isinstance(res.exception, ValidationError) and exit_code_for(res.exception) == 2
    assert needle in str(res.exception)
    assert not (tmp_path / "m").exists()


def test_out_naming_a_file_or_another_bundle_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "bundle.json").write_text('{"kind": "grader"}', encoding="utf-8")
    for out, needle in ((tmp_path / "afile", "is a file"), (tmp_path / "afile" / "sub", "which is a file"),
                        (tmp_path / "grader", "holds a saved 'grader' bundle")):
        res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(tmp_path / "nowhere"), "--out", str(out)])
        assert isinstance(res.exception, ValidationError) and exit_code_for(res.exception) == 2
        assert str(res.exception).startswith("--out: ") and needle in str(res.exception)
    assert (tmp_path / "grader" / "bundle.json").read_text(encoding="utf-8") == '{"kind": "grader"}'


def test_a_file_listed_twice_with_different_end_rul_is_left_out(tmp_path: Path) -> None:
    _write_fleet(tmp_path / "fleet", 5)
    ends = tmp_path / "end_rul.csv"
    ends.write_text("file,end_rul\nu0.csv,10\nu0.csv,50\nu1.csv,7\nu1.csv,7\n", encoding="utf-8")
    fleet = read_fleet_histories(tmp_path / "fleet", end_rul_csv=ends)
    assert fleet.names == ["u1.csv", "u2.csv", "u3.csv", "u4.csv"]  # u0 left out; u1's repeated row is harmless
    assert fleet.end_rul == [7.0, 0.0, 0.0, 0.0]
    text = "\n".join(fleet.errors)
    assert "row 3: 'u0.csv' is listed twice with different end_rul (10 and 50)" in text
    assert "u0.csv: left out" in text and "row 5: 'u1.csv' is listed twice (same end_rul 7" in text


def test_fit_rul_writes_valid_json(tmp_path: Path) -> None:
    _write_fleet(tmp_path / "fleet", 5)
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(tmp_path / "fleet"), "--out", str(tmp_path / "m"),
                                           "--cap", "30", "--coverage", "0.8", "--seed", "3"])
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "m" / "bundle.json").read_text(encoding="utf-8"),
                      parse_constant=lambda c: pytest.fail(f"{c} in bundle.json"))
    assert info["cap"] == 30 and info["coverage"] == 0.8
    # an existing RUL model folder may be overwritten
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(tmp_path / "fleet"), "--out", str(tmp_path / "m"),
                                           "--cap", "30"])
    assert res.exit_code == 0, res.output
