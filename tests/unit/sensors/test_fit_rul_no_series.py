"""``sensors fit-rul`` on a folder holding no series file: bad input (exit 2) naming the folder and what it looked
for, before any work; it was exit 3, "not found", the code for things missing from the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import ValidationError


def _fit(folder: Path, out: Path) -> ValidationError:
    res = CliRunner().invoke(build_app(), ["sensors", "fit-rul", str(folder), "--out", str(out)])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    return res.exception


@pytest.mark.parametrize("files", [[], ["README.txt", "u1.CSV.bak", "notes.xlsx"]])
def test_a_folder_without_series_files_is_exit_2_naming_it_and_the_suffixes(tmp_path: Path, files: list[str]) -> None:
    folder = tmp_path / "fleet"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("x", encoding="utf-8")
    exc = _fit(folder, tmp_path / "m")
    assert exit_code_for(exc) == 2
    assert exc.where == "HISTORIES", exc.where
    said = str(exc)
    assert str(folder) in said and ".csv, .tsv or .parquet" in said, said
    assert f"{len(files)} other file(s)" in said if files else "is empty" in said, said
    assert not (tmp_path / "m").exists()


def test_series_files_one_level_down_are_named_as_the_likely_mistake(tmp_path: Path) -> None:
    (tmp_path / "fleet" / "line-a").mkdir(parents=True)
    (tmp_path / "fleet" / "line-a" / "u1.csv").write_text("t,v\n1,2\n", encoding="utf-8")
    exc = _fit(tmp_path / "fleet", tmp_path / "m")
    assert exit_code_for(exc) == 2
    assert "sub-folders are not searched, and series files are in: line-a" in str(exc), str(exc)
