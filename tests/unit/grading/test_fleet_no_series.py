"""``read_fleet_histories`` on a folder holding no series file is bad input (ValidationError, exit 2) naming the
folder, what it holds and the suffixes read, as ``sensors fit-rul`` says it; it was NotFoundError (exit 3) for every
caller other than the CLI, which checks first."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.cli.app import exit_code_for
from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.grading import fleet_rul
from assetgrade.grading.fleet_rul import SERIES_SUFFIXES, read_fleet_histories


def test_the_suffixes_read_are_public() -> None:
    assert SERIES_SUFFIXES == (".csv", ".tsv", ".parquet")
    assert "SERIES_SUFFIXES" in fleet_rul.__all__ and not hasattr(fleet_rul, "_SERIES_SUFFIXES")


@pytest.mark.parametrize("files", [[], ["README.txt", "notes.xlsx"]])
def test_a_folder_without_series_files_is_bad_input_naming_it(tmp_path: Path, files: list[str]) -> None:
    folder = tmp_path / "fleet"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("x", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        read_fleet_histories(folder)
    assert not isinstance(exc.value, NotFoundError) and exit_code_for(exc.value) == 2
    said = str(exc.value)
    assert str(folder) in said and ".csv, .tsv or .parquet" in said, said
    assert ("is empty" in said) if not files else (f"{len(files)} other file(s)" in said), said


def test_series_files_one_level_down_are_named(tmp_path: Path) -> None:
    (tmp_path / "fleet" / "line-a").mkdir(parents=True)
    (tmp_path / "fleet" / "line-a" / "u1.csv").write_text("t,v\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="sub-folders are not searched, and series files are in: line-a"):
        read_fleet_histories(tmp_path / "fleet")
