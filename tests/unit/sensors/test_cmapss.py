"""The C-MAPSS reader on small files in the original layout (plain and gzipped)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from assetgrade.datasets.cmapss import load_cmapss
from assetgrade.errors import NotFoundError, ValidationError


def write(path: Path, rows: list[list[float]], gz: bool = False) -> None:
    text = "\n".join(" ".join(f"{v:g}" for v in r) + " " for r in rows) + "\n"
    if gz:
        with gzip.open(path.with_suffix(".txt.gz"), "wt") as fh:
            fh.write(text)
    else:
        path.with_suffix(".txt").write_text(text)


def rows(units: dict[int, int]) -> list[list[float]]:
    return [[u, c, 0.0, 0.0, 100.0, *np.arange(21.0)] for u, n in units.items() for c in range(1, n + 1)]


def test_reads_plain_and_gz(tmp_path: Path) -> None:
    write(tmp_path / "train_FD009", rows({1: 5, 2: 7}), gz=True)
    write(tmp_path / "test_FD009", rows({2: 3, 1: 4}))
    (tmp_path / "RUL_FD009.txt").write_text("10\n20\n")
    d = load_cmapss("fd009", tmp_path)
    assert d.name == "FD009" and d.n_test_units == 2
    assert [len(h) for h in d.train_histories()] == [5, 7]
    assert [len(h) for h in d.test_histories()] == [4, 3]
    assert d.test_rul.tolist() == [10.0, 20.0]
    assert list(d.train_histories()[0].columns[:3]) == ["setting_1", "setting_2", "setting_3"]


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="FD001"):
        load_cmapss("X1", tmp_path)
    with pytest.raises(NotFoundError, match="train_FD003"):
        load_cmapss("FD003", tmp_path)
    write(tmp_path / "train_FD004", [r[:10] for r in rows({1: 3})])
    write(tmp_path / "test_FD004", rows({1: 3}))
    (tmp_path / "RUL_FD004.txt").write_text("1\n")
    with pytest.raises(ValidationError, match="expected 26 columns"):
        load_cmapss("FD004", tmp_path)
    write(tmp_path / "train_FD004", rows({1: 3}))
    (tmp_path / "RUL_FD004.txt").write_text("1\n2\n")
    with pytest.raises(ValidationError, match="2 RUL values for 1 test units"):
        load_cmapss("FD004", tmp_path)


def _valid_subset(folder: Path) -> None:
    write(folder / "train_FD007", rows({1: 5, 2: 6}))
    write(folder / "test_FD007", rows({1: 3, 2: 4}))
    (folder / "RUL_FD007.txt").write_text("10\n20\n")


def test_truncated_gz_names_the_file(tmp_path: Path) -> None:
    _valid_subset(tmp_path)
    write(tmp_path / "train_FD007", rows({1: 400}), gz=True)
    (tmp_path / "train_FD007.txt").unlink()
    gz = tmp_path / "train_FD007.txt.gz"
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValidationError, match=r"train_FD007\.txt\.gz.*truncated or corrupt"):
        load_cmapss("FD007", tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ("10\nx\n", "cannot parse"), ("", "file is empty"), ("10\n-5\n", r"RUL_FD007\.txt:row 2: true RUL -5"),
    ("10\nnan\n", r"RUL_FD007\.txt:row 2: true RUL nan"),
])
def test_bad_true_rul_file_names_file_and_row(tmp_path: Path, text: str, message: str) -> None:
    _valid_subset(tmp_path)
    (tmp_path / "RUL_FD007.txt").write_text(text)
    with pytest.raises(ValidationError, match=message):
        load_cmapss("FD007", tmp_path)


def test_fractional_unit_is_refused_not_truncated(tmp_path: Path) -> None:
    _valid_subset(tmp_path)
    r = rows({1: 3, 2: 4})
    r[4][0] = 1.5  # would become unit 1 and give it a duplicated or extra cycle
    write(tmp_path / "test_FD007", r)
    with pytest.raises(ValidationError, match=r"test_FD007\.txt:row 5: unit 1\.5 is not a whole number"):
        load_cmapss("FD007", tmp_path)


@pytest.mark.parametrize(("cycles", "row", "what"), [
    ([1, 2, 4, 5], 3, "cycle 4 follows cycle 2"),  # a lost row: every earlier target would be off by one
    ([2, 3, 4, 5], 1, "cycle 2 is its first cycle"),
    ([1, 2, 2, 3], 3, "cycle 2 is duplicated"),
])
def test_cycle_gaps_and_duplicates_name_the_row(tmp_path: Path, cycles: list[int], row: int, what: str) -> None:
    _valid_subset(tmp_path)
    r = rows({1: 4})
    for k, c in enumerate(cycles):
        r[k][1] = c
    write(tmp_path / "train_FD007", r + rows({2: 3}))
    with pytest.raises(ValidationError, match=rf"train_FD007\.txt:row {row}: unit 1: {what}"):
        load_cmapss("FD007", tmp_path)
