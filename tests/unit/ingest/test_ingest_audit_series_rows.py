"""Series errors name the file line the bad cell is on, also after blank lines and quoted line breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.ingest import Ingestor, SeriesOptions, manifest_items, series_items
from assetgrade.workspace import Workspace


def _errors(ws: Workspace, path: Path, opts: SeriesOptions | None = None) -> list[tuple[int | None, str | None, str]]:
    rep = Ingestor(ws, kind="series", source=path.name).run(series_items([path], opts or SeriesOptions()))
    return [(e.row, e.field, e.reason) for e in rep.errors]


@pytest.mark.parametrize("body", [
    "time,temp\n0,1\n1,2\n\n2,x\n",              # a blank line before the bad row
    "time,temp\r\n0,1\r\n\r\n1,2\r\n2,x\r\n",      # Windows line ends, blank line
    "time,temp\n0,1\n   \n1,2\n2,x\n",             # a line of spaces (pandas skips it too)
])
def test_a_bad_cell_after_a_blank_line_is_named_on_its_own_line(ws: Workspace, tmp_path: Path, body: str) -> None:
    p = tmp_path / "pump.csv"
    p.write_bytes(body.encode())
    line = 1 + body.replace("\r\n", "\n").split("\n").index("2,x")
    [(row, field, reason)] = _errors(ws, p)
    assert (row, field) == (line, "temp") and "'x'" in reason


def test_a_bad_cell_after_a_quoted_line_break_is_named_on_its_own_line(ws: Workspace, tmp_path: Path) -> None:
    p = tmp_path / "pump.csv"
    p.write_text('time,temp,note\n0,1,"first\nsecond"\n1,2,c\n2,x,d\n')  # the bad cell is on line 5
    [(row, field, _)] = _errors(ws, p)
    assert (row, field) == (5, "temp")


def test_rows_after_a_units_row_and_a_blank_line_keep_their_lines(ws: Workspace, tmp_path: Path) -> None:
    p = tmp_path / "pump.csv"
    p.write_text("time,temp\nunits,degC\n0,1\n\n1,1\n1,2\n")  # line 6 repeats line 5's time
    [(row, _, reason)] = _errors(ws, p)
    assert row == 6 and "also at row 5" in reason


def test_nan_run_and_asset_column_rows_count_blank_lines(ws: Workspace, tmp_path: Path) -> None:
    p = tmp_path / "fleet.csv"
    p.write_text("time,asset,temp\n0,a,1\n\n0,b,2\n1,a,\n2,a,\n3,a,4\n\n4,,5\n")
    errs = _errors(ws, p, SeriesOptions(asset_col="asset"))
    rows = sorted((row, field, reason) for row, field, reason in errs)
    assert rows[0][:2] == (5, "temp") and "rows 5-6" in rows[0][2]  # asset a's NaN run: file lines 5 and 6
    assert rows[1][:2] == (9, "asset") and "rows 9" in rows[1][2]  # the row without an asset id


def test_manifest_series_error_names_the_series_files_own_line(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("time,temp\n0,1\n\n1,x\n")
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path\np-1,series,s.csv\n")
    rep = Ingestor(ws, kind="manifest", source="m").run(manifest_items(m))
    [err] = rep.errors
    assert (err.row, err.field) == (2, "path") and "s.csv:row 4:field temp" in err.reason
