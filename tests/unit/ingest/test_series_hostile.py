"""Hostile series files: typed Parquet time, infinities, unreadable files in a batch, units rows, delimiters, dates."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assetgrade.errors import IngestError
from assetgrade.ingest import Ingestor, ItemSpec, SeriesOptions, manifest_items, series_items
from assetgrade.ingest.report import IngestNotice, RowError
from assetgrade.workspace import Workspace


def _items(*paths: Path, **kw: object) -> list[ItemSpec | RowError]:
    return [x for x in series_items(list(paths), SeriesOptions(**kw))  # type: ignore[arg-type]
            if not isinstance(x, IngestNotice)]


def _one(path: Path, **kw: object) -> ItemSpec:
    (item,) = _items(path, **kw)
    assert isinstance(item, ItemSpec), item
    return item


def _error(path: Path, **kw: object) -> RowError:
    (item,) = _items(path, **kw)
    assert isinstance(item, RowError), item
    return item


def _frame(item: ItemSpec) -> pd.DataFrame:
    assert item.data is not None
    return pd.read_parquet(io.BytesIO(item.data))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# 1. Parquet time that is already typed


def test_parquet_datetime_column_is_stored_as_datetime(tmp_path: Path) -> None:
    p = tmp_path / "dt.parquet"
    pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=5, freq="1s"), "temp": range(5)}).to_parquet(p)
    item = _one(p)
    assert item.attributes["time_kind"] == "datetime"
    assert item.attributes["sampling_rate_hz"] == pytest.approx(1.0)
    assert _frame(item).index[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_parquet_datetime_index_is_the_time(tmp_path: Path) -> None:
    p = tmp_path / "idx.parquet"
    pd.DataFrame({"temp": range(5)}, index=pd.date_range("2024-01-01", periods=5, freq="2s")).to_parquet(p)
    item = _one(p)
    assert item.attributes["channels"] == ["temp"]
    assert item.attributes["time_kind"] == "datetime" and item.attributes["sampling_rate_hz"] == pytest.approx(0.5)


def test_parquet_missing_timestamp_names_the_row(tmp_path: Path) -> None:
    p = tmp_path / "nat.parquet"
    pd.DataFrame({"time": pd.to_datetime(["2024-01-01", None, "2024-01-03"]), "v": [1, 2, 3]}).to_parquet(p)
    err = _error(p)
    assert err.row == 2 and "missing" in err.reason


# 2. Infinite values


def test_infinite_channel_value_is_an_error_naming_row_and_channel(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "inf.csv", "time,temp,vib\n0,1,0.1\n1,2,-inf\n2,3,0.3\n"))
    assert err.file.endswith("inf.csv") and err.row == 3 and err.field == "vib"
    assert "'-inf'" in err.reason and "infinite" in err.reason
    p = tmp_path / "inf.parquet"
    pd.DataFrame({"time": [0.0, 1.0], "v": [1.0, np.inf]}).to_parquet(p)
    err2 = _error(p)
    assert err2.row == 2 and err2.field == "v" and "infinite" in err2.reason


@pytest.mark.parametrize(("cell", "word"), [("inf", "infinite"), ("1e999", "infinite"), ("nan", "missing")])
def test_infinite_or_nan_timestamp_is_refused(tmp_path: Path, cell: str, word: str) -> None:
    err = _error(_write(tmp_path / "t.csv", f"time,temp\n0,1\n1,2\n{cell},3\n"))
    assert err.row == 4 and f"timestamp {cell!r} is {word}" in err.reason


# 3. One bad file fails alone, with a clear error


def test_unreadable_files_fail_alone_in_a_batch(ws: Workspace, tmp_path: Path) -> None:
    ok = _write(tmp_path / "ok.csv", "time,temp,vib\n0,20,0.1\n1,21,0.2\n")
    mis = _write(tmp_path / "mis.csv", "time,temp,vib\n0,20,0.1\n1,21,0.2,99\n")
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    missing = tmp_path / "nope.csv"
    items = series_items([ok, mis, missing, corrupt], SeriesOptions())
    rep = Ingestor(ws, kind="series", source="batch").run(items)  # type: ignore[arg-type]
    assert rep.added["evidence"] == 1
    errs = {Path(e.file).name: e for e in rep.errors}
    assert set(errs) == {"mis.csv", "nope.csv", "corrupt.parquet"}
    assert errs["mis.csv"].row == 3 and "4 cells but the header has 3 columns" in errs["mis.csv"].reason
    assert "not found" in errs["nope.csv"].reason
    assert "Parquet" in errs["corrupt.parquet"].reason


def test_every_row_longer_than_the_header_is_refused(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "wide.csv", "time,temp\n0,1,5\n1,2,6\n"))  # pandas would make column 1 an index
    assert err.row == 2 and "3 cells but the header has 2 columns" in err.reason


def test_odd_parquet_column_is_an_error_not_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "lists.parquet"
    pd.DataFrame({"time": [0, 1], "v": [[1.0], [2.0]]}).to_parquet(p)
    err = _error(p)
    assert err.file.endswith("lists.parquet") and err.field == "v"


def test_manifest_series_error_names_the_series_row(tmp_path: Path) -> None:
    _write(tmp_path / "s.csv", "time,temp\n0,1\n1,inf\n")
    m = _write(tmp_path / "manifest.csv", "asset_id,kind,path\npump-1,series,s.csv\n")
    (err,) = [x for x in manifest_items(m) if isinstance(x, RowError)]
    assert err.row == 2 and err.field == "path"
    assert "s.csv:row 3:field temp" in err.reason and "infinite" in err.reason


# 4. Units rows


@pytest.mark.parametrize("units_row", ["units,bar,degC", ",bar,degC", "s,bar,degC", "[s],[bar],[degC]"])
def test_units_rows_are_still_read(tmp_path: Path, units_row: str) -> None:
    item = _one(_write(tmp_path / "u.csv", f"time,pressure,temp\n{units_row}\n0,1.0,20\n1,1.1,21\n"))
    assert item.attributes["n_samples"] == 2
    assert {k: v.strip("[]") for k, v in item.attributes["units"].items()} == {"pressure": "bar", "temp": "degC"}


def test_corrupted_first_row_is_data_not_units(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "err.csv", "time,temp,vib\n0,ERR,ERR\n1,20,0.1\n"))
    assert err.row == 2 and err.field == "temp" and "'ERR' in channel 'temp' is not a number" in err.reason
    err2 = _error(_write(tmp_path / "err2.csv", "time,temp,vib\nERR,ERR,ERR\n1,20,0.1\n"))
    assert err2.row == 2 and "timestamp 'ERR'" in err2.reason


# 5. Delimiters


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_delimited_csv(tmp_path: Path, sep: str) -> None:
    item = _one(_write(tmp_path / "d.csv", sep.join(["time", "temp", "vib"]) + "\n"
                       + "\n".join(sep.join(r) for r in [["0", "20", "0.1"], ["1", "21", "0.2"]]) + "\n"))
    assert item.attributes["channels"] == ["temp", "vib"]
    assert np.allclose(_frame(item)["vib"].to_numpy(), [0.1, 0.2])


def test_decimal_comma_gets_a_hint(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "eu.csv", "time;temp\n0;20,5\n1;21,0\n"))
    assert err.row == 2 and err.field == "temp" and "decimal comma" in err.reason


# 6. Day/month order is one choice for the whole column


def test_day_first_column_is_parsed_day_first_throughout(tmp_path: Path) -> None:
    item = _one(_write(tmp_path / "dm.csv", "time,temp\n03/04/2024,1\n13/04/2024,2\n"))
    assert list(_frame(item).index) == [pd.Timestamp("2024-04-03", tz="UTC"), pd.Timestamp("2024-04-13", tz="UTC")]
    assert item.attributes["date_order"] == "day-first"


def test_month_first_column_and_ambiguous_column(tmp_path: Path) -> None:
    item = _one(_write(tmp_path / "md.csv", "time,temp\n03/04/2024 10:00,1\n04/13/2024 10:00,2\n"))
    assert _frame(item).index[0] == pd.Timestamp("2024-03-04 10:00", tz="UTC")
    amb = _one(_write(tmp_path / "amb.csv", "time,temp\n03/04/2024,1\n04/04/2024,2\n"))
    assert amb.attributes["date_order"] == "month-first"
    assert _frame(amb).index[1] == pd.Timestamp("2024-04-04", tz="UTC")


def test_contradictory_day_month_order_is_refused(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "mix.csv", "time,temp\n13/04/2024,1\n04/14/2024,2\n"))
    assert err.row == 3 and "row 2" in err.reason and "ISO 8601" in err.reason


def test_iso_timestamps_need_no_date_order(tmp_path: Path) -> None:
    item = _one(_write(tmp_path / "iso.csv", "time,temp\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:02+00:00,2\n"))
    assert "date_order" not in item.attributes and item.attributes["sampling_rate_hz"] == pytest.approx(0.5)


# 7. Header names and asset ids


def test_a_channel_named_twice_is_refused_not_renamed(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "twice.csv", "time,vib,vib\n0,1,2\n1,2,3\n"))  # pandas would call one 'vib.1'
    assert err.row == 1 and err.field == "vib" and "named twice (columns 2 and 3)" in err.reason


def test_blank_header_names(tmp_path: Path) -> None:
    err = _error(_write(tmp_path / "blank.csv", "time,,vib\n0,1,2\n1,2,3\n"))  # pandas would call it 'Unnamed: 1'
    assert err.row == 1 and "column 2 has no name" in err.reason
    item = _one(_write(tmp_path / "trailing.csv", "time,vib,\n0,1,\n1,2,\n"))  # a separator ending every line
    assert item.attributes["channels"] == ["vib"]


def test_header_names_are_stripped(tmp_path: Path) -> None:
    item = _one(_write(tmp_path / "sp.csv", "time , vib ,temp\n0,1,2\n1,2,3\n"))
    assert item.attributes["channels"] == ["vib", "temp"] and item.attributes["time_column"] == "time"


def test_quoted_header_names_after_a_space_lose_their_quotes(tmp_path: Path) -> None:
    item = _one(_write(tmp_path / "q.csv", 'time, "vib", "temp C"\n0,1,2\n1,2,3\n'))
    assert item.attributes["channels"] == ["vib", "temp C"] and item.attributes["time_column"] == "time"


def test_empty_parquet_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "empty.parquet"
    pd.DataFrame({"time": pd.Series([], dtype=float), "v": pd.Series([], dtype=float)}).to_parquet(p)
    err = _error(p)
    assert err.file.endswith("empty.parquet") and "no rows" in err.reason


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_rows_without_an_asset_id_are_named_and_the_other_assets_go_in(tmp_path: Path, kind: str) -> None:
    frame = pd.DataFrame({"unit": ["1", None, "2", "1", "2", " "], "time": [0, 0, 0, 1, 1, 1],
                          "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    p = tmp_path / f"fleet.{kind}"
    if kind == "csv":
        frame.to_csv(p, index=False)
    else:
        frame.to_parquet(p)  # a null id: groupby dropped those rows without a word
    out = _items(p, asset_col="unit")
    errs = [x for x in out if isinstance(x, RowError)]
    first = 3 if kind == "csv" else 2  # file line under the header; a Parquet row's number
    assert len(errs) == 1 and errs[0].row == first and errs[0].field == "unit"
    assert "2 row(s) have no asset id" in errs[0].reason and f"rows {first}, {first + 4}" in errs[0].reason
    assert sorted(x.asset_id for x in out if isinstance(x, ItemSpec)) == ["1", "2"]


def test_a_file_over_the_size_limit_is_one_error_and_the_batch_goes_on(tmp_path: Path) -> None:
    big = _write(tmp_path / "big.csv", "time,v\n" + "".join(f"{i},{i % 7}\n" for i in range(2000)))
    ok = _write(tmp_path / "ok.csv", "time,v\n0,1\n1,2\n")
    out = _items(big, ok, max_bytes=4096)
    assert isinstance(out[0], RowError) and out[0].file.endswith("big.csv")
    assert "over the 4,096 bytes a series file may have" in out[0].reason and "max_bytes" in out[0].reason
    assert isinstance(out[1], ItemSpec) and out[1].attributes["n_samples"] == 2


# 8. Unix time in seconds or milliseconds


def _notices(x: object) -> list[IngestNotice]:
    """What an importer's output says: an item's notices (said once it is stored) and notices of their own."""
    if isinstance(x, ItemSpec):
        return list(x.notices)
    return [x] if isinstance(x, IngestNotice) else []


def test_unix_time_in_seconds_or_milliseconds_reads_alike(tmp_path: Path) -> None:
    rows = [(1_700_000_000 + 2 * i, 20.0 + i) for i in range(5)]
    s = _one(_write(tmp_path / "s.csv", "time,temp\n" + "".join(f"{t},{v}\n" for t, v in rows)))
    ms = _one(_write(tmp_path / "ms.csv", "time,temp\n" + "".join(f"{t * 1000},{v}\n" for t, v in rows)))
    p = tmp_path / "us.parquet"
    pd.DataFrame({"time": np.array([t * 10**6 for t, _ in rows], dtype=np.int64), "temp": [v for _, v in rows]}
                 ).to_parquet(p)
    us = _one(p)
    for item, unit in ((s, "s"), (ms, "ms"), (us, "us")):  # read as numbers, ms gave 0.0005 Hz and slopes per ms
        assert item.attributes["epoch_unit"] == unit and item.attributes["time_kind"] == "datetime"
        assert item.attributes["sampling_rate_hz"] == pytest.approx(0.5)
        assert _frame(item).index[0] == pd.Timestamp("2023-11-14 22:13:20", tz="UTC")
    assert _frame(s).equals(_frame(ms)) and _frame(s).equals(_frame(us))
    # the reading is a guess from the range, so the import says it made it
    # (on the item's notices: said once it is stored, not for an item the writer refuses)
    (notice,) = [str(n) for x in series_items([tmp_path / "ms.csv"], SeriesOptions()) for n in _notices(x)]
    assert "read as Unix time in ms (2023-11-14 22:13 to 2023-11-14 22:13 UTC)" in notice and "ms.csv" in notice


def test_numeric_time_number_keeps_a_count_that_looks_like_unix_time(tmp_path: Path) -> None:
    # milliseconds since power-on of a unit that has run for 3 weeks fall in the range of Unix seconds
    # (2000-2100): auto reads them as dates in 2001, "number" keeps them as the counts they are
    rows = "".join(f"{1_814_400_000 + 500 * i},{20 + i}\n" for i in range(4))
    path = _write(tmp_path / "since_power_on.csv", "t_ms,temp\n" + rows)
    assert _one(path).attributes["epoch_unit"] == "s"
    item = _one(path, numeric_time="number")
    assert item.attributes["time_kind"] == "numeric" and "epoch_unit" not in item.attributes
    assert item.attributes["sampling_rate_hz"] == pytest.approx(1 / 500)
    assert _frame(item).index.tolist() == [1_814_400_000 + 500 * i for i in range(4)]
    assert not [n for x in series_items([path], SeriesOptions(numeric_time="number")) for n in _notices(x)]
    (notice,) = [str(n) for x in series_items([path], SeriesOptions()) for n in _notices(x)]
    assert "--numeric-time number" in notice and "2027-" in notice
    with pytest.raises(IngestError, match="numeric time must be one of auto, number, not 'epoch'"):
        SeriesOptions(numeric_time="epoch")
    # a manifest says the same per row, in its numeric_time column; the guess is told at the row it was made
    man = _write(tmp_path / "m.csv", "asset_id,kind,path,text,numeric_time\np1,series,since_power_on.csv,,number\n"
                 "p2,series,since_power_on.csv,,\np3,series,since_power_on.csv,,epoch\np4,log,,seal worn,number\n")
    out = list(manifest_items(man))
    items = {x.asset_id: x for x in out if isinstance(x, ItemSpec)}
    assert items["p1"].attributes["time_kind"] == "numeric" and items["p2"].attributes["epoch_unit"] == "s"
    (told,) = [n for x in out for n in _notices(x)]
    assert told.row == 3 and "read as Unix time in s" in told.message
    errors = {x.row: x for x in out if isinstance(x, RowError)}
    assert set(errors) == {4, 5} and {e.field for e in errors.values()} == {"numeric_time"}
    assert "one of auto, number" in errors[4].reason and "for series rows" in errors[5].reason


def test_small_numeric_time_stays_numeric(tmp_path: Path) -> None:
    item = _one(_write(tmp_path / "cycles.csv", "cycle,temp\n1,20\n2,21\n3,22\n"))
    assert item.attributes["time_kind"] == "numeric" and "epoch_unit" not in item.attributes
