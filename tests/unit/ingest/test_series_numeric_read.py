"""Series CSVs are parsed with their channels (and an increasing numeric time column) as numbers: the values, and
every message that quotes a cell, are those of the text read before (series_files._numeric_read)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assetgrade.ingest import ItemSpec, SeriesOptions, series_items
from assetgrade.ingest.report import IngestNotice, RowError

_ROWS = 60_000  # more than one of the parser's 50,000-row chunks


def _out(path: Path, **kw: object) -> list[ItemSpec | RowError]:
    return [x for x in series_items([path], SeriesOptions(**kw))  # type: ignore[arg-type]
            if not isinstance(x, IngestNotice)]


def _big(path: Path, cell: tuple[int, str, str] | None = None, *, iso: bool = False) -> Path:
    """A series of ``_ROWS`` rows (a units row and a blank line above the data, so row = file line - 3); ``cell``
    (data row, channel, text) replaces one cell."""
    k = np.arange(_ROWS)
    times = (pd.Timestamp("2024-01-01") + pd.to_timedelta(k, unit="s")).strftime("%Y-%m-%dT%H:%M:%S") if iso \
        else [f"{v / 10:g}" for v in k]
    cols = {"a": [f"{v % 97 * 0.5:g}" for v in k], "b": [f"{(v * 7) % 1001 / 8:g}" for v in k]}
    if cell is not None:
        cols[cell[1]][cell[0]] = cell[2]
    rows = zip(times, cols["a"], cols["b"], strict=True)
    path.write_text("time,a,b\nunits,bar,degC\n\n" + "".join(f"{t},{a},{b}\n" for t, a, b in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "reason"), [
    ("ERR", "'ERR' in channel 'b' is not a number"),
    ("1e999", "'1e999' in channel 'b' is infinite; leave the cell empty for a missing sample"),
    ("-inf", "'-inf' in channel 'b' is infinite; leave the cell empty for a missing sample"),
    ("NAN", "'NAN' in channel 'b' is not a number"),
])
def test_a_bad_cell_deep_in_a_large_file_is_named_by_its_line_and_quoted_as_written(
        tmp_path: Path, text: str, reason: str) -> None:
    (err,) = _out(_big(tmp_path / "s.csv", (55_000, "b", text)), repair=True)
    assert isinstance(err, RowError), err
    assert (err.row, err.field, err.reason) == (55_004, "b", reason)


def test_a_bad_cell_below_iso_timestamps_is_named_by_its_line(tmp_path: Path) -> None:
    (err,) = _out(_big(tmp_path / "s.csv", (55_000, "a", '"1,5"'), iso=True))
    assert isinstance(err, RowError), err
    assert (err.row, err.field) == (55_004, "a")
    assert err.reason == "'1,5' in channel 'a' is not a number (a decimal comma? write it with a point)"


def test_a_cell_giving_the_units_row_s_unit_later_is_still_not_a_number(tmp_path: Path) -> None:
    (err,) = _out(_big(tmp_path / "s.csv", (52_000, "b", "degC")))
    assert isinstance(err, RowError), err
    assert (err.row, err.field, err.reason) == (52_004, "b", "'degC' in channel 'b' is not a number")


@pytest.mark.parametrize(("text", "reason"), [
    ("", "timestamp '' is missing"),
    ("100", "duplicated timestamp '100' (also at row 1004); pass --repair to keep the first sample"),
    ("1e2", "duplicated timestamp '1e2' (also at row 1004); pass --repair to keep the first sample"),
    ("5.05", "timestamp '5.05' goes backwards (earlier than the row before); pass --repair to sort"),
])
def test_a_bad_numeric_timestamp_deep_in_a_file_is_quoted_as_written(tmp_path: Path, text: str, reason: str) -> None:
    f = _big(tmp_path / "s.csv")
    lines = f.read_text(encoding="utf-8").split("\n")
    lines[55_003] = f"{text},1,2"  # data row 55,000 (file line 55,004); time 100 is on line 1,004
    f.write_text("\n".join(lines), encoding="utf-8")
    (err,) = _out(f)
    assert isinstance(err, RowError), err
    assert (err.row, err.reason) == (55_004, reason)


def test_numbers_are_read_as_the_text_checks_read_them(tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text('time;p;t\nunits;[bar];degC\n0; 2.5 ;+1\n1;.5;1e3\n2;"3.25";NA\n3;;-0.0\n4;None;7.\n5;nan;8\n',
                 encoding="utf-8")
    (item,) = _out(f, repair=True)
    assert isinstance(item, ItemSpec), item
    assert item.data is not None
    got = pd.read_parquet(io.BytesIO(item.data))
    assert got["p"].tolist() == [2.5, 0.5, 3.25, 3.25, 3.25, 3.25]  # the missing samples at the end take the last
    assert got["t"].tolist() == [1.0, 1000.0, 500.0, 0.0, 7.0, 8.0]
    assert item.attributes["units"] == {"p": "[bar]", "t": "degC"}
    assert item.attributes["time_kind"] == "numeric"


def test_a_time_column_that_restarts_per_asset_is_read(tmp_path: Path) -> None:
    f = tmp_path / "fleet.csv"
    f.write_text("asset,cycle,s1\n" + "".join(f"u{u},{c},{u * 100 + c}\n" for u in (1, 2) for c in range(1, 60_001)),
                 encoding="utf-8")
    items = _out(f, asset_col="asset")
    assert [x.asset_id for x in items if isinstance(x, ItemSpec)] == ["u1", "u2"], items
    last = items[-1]
    assert isinstance(last, ItemSpec) and last.data is not None
    got = pd.read_parquet(io.BytesIO(last.data))
    assert got.index[[0, -1]].tolist() == [1.0, 60_000.0] and got["s1"].iloc[-1] == 60_200.0


_CHILD = """
import json, sys
from pathlib import Path
import pandas as pd
from assetgrade.ingest import SeriesOptions, series_items
from assetgrade.ingest.series import to_parquet_bytes
def kib(field):
    return next(int(v.split()[1]) for v in open("/proc/self/status") if v.startswith(field + ":"))
to_parquet_bytes(pd.DataFrame({"a": [1.0]}))  # pyarrow loaded before the baseline
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak so far (module compilation can pass the ingest's) starts again from now
before = kib("VmRSS")
out = list(series_items([Path(sys.argv[1])], SeriesOptions()))
print(json.dumps({"kinds": [type(x).__name__ for x in out], "grown_kib": kib("VmHWM") - before}))
"""


def test_a_series_of_iso_timestamps_and_measured_values_takes_under_9_times_its_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 250_000  # 18 MiB
    frame = pd.DataFrame(rng.normal(50.0, 10.0, size=(n, 6)), columns=list("abcdef"))
    frame.insert(0, "time", (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) * 100, unit="ms"))
                 .strftime("%Y-%m-%dT%H:%M:%S.%f"))
    f = tmp_path / "big.csv"
    frame.to_csv(f, index=False, float_format="%.4f")
    size = f.stat().st_size
    run = subprocess.run([sys.executable, "-c", _CHILD, str(f)], capture_output=True, text=True, check=True)
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["kinds"] == ["ItemSpec"]
    # measured 2026-12-02 at 18 MiB: 10.4 times the file before (each cell held as text), 7.4 after (4.0 at 100 MiB)
    assert got["grown_kib"] * 1024 < 9 * size, (got, size)
