"""Bad sensor series files: each is one error naming the file, row or field, the rest of the batch goes in, and
the store holds only whole items (the audit of 2026-12-02; docs/ingest.md, Checks)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from assetgrade.ingest import Ingestor, ItemSpec, SeriesOptions, series_items
from assetgrade.ingest.report import IngestNotice, RowError
from assetgrade.workspace import Workspace


def _out(*paths: Path, **kw: object) -> list[ItemSpec | RowError]:
    return [x for x in series_items(list(paths), SeriesOptions(**kw))  # type: ignore[arg-type]
            if not isinstance(x, IngestNotice)]


def _write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


# A truncated line (fewer cells than the header) was read as a missing sample, and --repair filled it in


@pytest.mark.parametrize("repair", [False, True])
def test_a_row_with_fewer_cells_than_the_header_is_named_not_read_as_a_missing_sample(tmp_path: Path,
                                                                                      repair: bool) -> None:
    f = _write(tmp_path / "short.csv", "time,temp,vib\n0,20,0.1\n1,21\n2,22,0.3\n")
    (err,) = _out(f, repair=repair)
    assert isinstance(err, RowError), err
    assert (err.row, err.field) == (3, "vib")
    assert err.reason == "2 cells but the header has 3 columns: no cell for vib (a truncated line, or a missing ','?)"


def test_a_truncated_line_after_a_units_row_and_a_blank_line_names_its_own_line(tmp_path: Path) -> None:
    f = _write(tmp_path / "short.csv", "time;temp;vib;rpm\nunit;degC;g;rpm\n0;20;0.1;900\n\n1;21\n2;22;0.3;910\n")
    (err,) = _out(f, repair=True)
    assert isinstance(err, RowError), err
    assert (err.row, err.field) == (5, "vib")
    assert "no cell for vib, rpm (a truncated line, or a missing ';'?)" in err.reason


def test_an_empty_last_cell_is_still_a_missing_sample(tmp_path: Path) -> None:
    f = _write(tmp_path / "gap.csv", "time,temp,vib\n0,20,0.1\n1,21,\n2,22,0.3\n")
    (item,) = _out(f, repair=True)
    assert isinstance(item, ItemSpec), item
    assert item.data is not None
    assert pd.read_parquet(io.BytesIO(item.data))["vib"].tolist() == pytest.approx([0.1, 0.2, 0.3])


# A column mixing timestamps with and without a UTC offset: the ones without were taken as UTC without a word


def test_timestamps_with_and_without_an_offset_in_one_column_are_refused(tmp_path: Path) -> None:
    f = _write(tmp_path / "tz.csv", "time,temp\n2024-04-13T10:00:00Z,20\n2024-04-13T13:00:00+02:00,21\n"
                                    "2024-04-13T12:00:00,22\n")
    (err,) = _out(f, repair=True)
    assert isinstance(err, RowError), err
    assert err.row == 4 and err.field == "time"
    assert err.reason == ("timestamp '2024-04-13T12:00:00' has no UTC offset but '2024-04-13T10:00:00Z' (row 2)"
                          " has one: which zone it is in would be a guess; give every timestamp an offset (Z or"
                          " +02:00) or none (all read as UTC)")


@pytest.mark.parametrize("cells", [
    ("2024-04-13T10:00:00Z", "2024-04-13T13:00:00+02:00", "2024-04-13 12:30:00 +0000"),  # offsets differ: fine
    ("2024-04-13T10:00:00", "2024-04-13 11:00", "13/04/2024 12:00"),  # none has one: all UTC
    ("2024-04-13", "2024-04-14", "2024-04-15"),  # dates alone: '-15' is not an offset
])
def test_columns_whose_timestamps_agree_on_having_an_offset_are_read(tmp_path: Path, cells: tuple[str, ...]) -> None:
    f = _write(tmp_path / "tz.csv", "time,temp\n" + "".join(f"{c},{20 + k}\n" for k, c in enumerate(cells)))
    (item,) = _out(f)
    assert isinstance(item, ItemSpec), item
    assert item.data is not None
    t = pd.read_parquet(io.BytesIO(item.data)).index
    assert t.is_monotonic_increasing and str(t.tz) == "UTC"


# What already behaved: one regression test over every case of the audit


_CASES: dict[str, tuple[str | bytes, str, int | None, str | None, str]] = {
    # name: (content, encoding, row, field, words of the reason)
    "all_nan.csv": ("time,temp,vib\n0,,0.1\n1,nan,0.2\n2,,0.3\n", "utf-8", None, "temp",
                    "channel 'temp' has no values"),
    "nan_time.csv": ("time,temp\n0,20\nnan,21\n2,22\n", "utf-8", 3, None, "timestamp 'nan' is missing"),
    "inf_time.csv": ("time,temp\n0,20\ninf,21\n2,22\n", "utf-8", 3, None, "timestamp 'inf' is infinite"),
    "backwards.csv": ("time,temp\n0,20\n2,21\n1,22\n", "utf-8", 4, None, "timestamp '1' goes backwards"),
    "duplicate.csv": ("time,temp\n0,20\n1,21\n1,22\n", "utf-8", 4, None, "duplicated timestamp '1' (also at row 3)"),
    "offsets.csv": ("time,temp\n2024-04-13T10:00:00Z,20\n2024-04-13T10:30:00+02:00,21\n", "utf-8", 3, None,
                    "timestamp '2024-04-13T10:30:00+02:00' goes backwards"),
    "day_month.csv": ("time,temp\n13/04/2024 11:00,21\n04/13/2024 12:00,22\n", "utf-8", 3, None,
                      "dates mix day-first '13/04/2024 11:00' (row 2) and month-first"),
    "text_channel.csv": ("time,temp,state\n0,20,on\n1,21,off\n", "utf-8", 2, "state",
                         "'on' in channel 'state' is not a number"),
    "long_row.csv": ("time,temp,vib\n0,20,0.1\n1,21,0.2,9\n", "utf-8", 3, None, "4 cells but the header has 3 columns"),
    "header_only.csv": ("time,temp,vib\n", "utf-8", None, None, "file has a header but no data rows"),
    "zero_bytes.csv": (b"", "utf-8", None, None, "file is empty"),
    "latin1_name.csv": ("time,temp\xe9rature\n0,20\n1,21\n", "latin-1", 1, None,
                        "byte 0xe9 at column 10 is not valid utf-8; pass --encoding"),
    "decimal_comma.csv": ("time;temp;vib\n0;20,5;0,1\n1;21,5;0,2\n", "utf-8", 2, "temp",
                          "'20,5' in channel 'temp' is not a number (a decimal comma? write it with a point)"),
}


def test_every_bad_file_is_one_named_error_and_the_good_ones_go_in_whole(
    ws: Workspace, tmp_path: Path, counts: Callable[[Workspace], dict[str, int]],
    consistent: Callable[[Workspace], bool],
) -> None:
    bad = [_write(tmp_path / name, content, enc) for name, (content, enc, *_rest) in _CASES.items()]
    good = [_write(tmp_path / "ok.csv", "time,temp,vib\n0,20,0.1\n1,21,0.2\n2,22,0.3\n"),
            _write(tmp_path / "utf16_bom.csv", "time,temp,vib\r\n0,20,0.1\r\n1,21,0.2\r\n", "utf-16"),
            _write(tmp_path / "one_row.csv", "time,temp\n0,20\n")]
    files = [bad[0], good[0], *bad[1:7], good[1], *bad[7:], good[2]]
    rep = Ingestor(ws, kind="series", source="audit").run(series_items(files, SeriesOptions()))
    errors = {Path(e.file).name: e for e in rep.errors}
    assert set(errors) == set(_CASES)
    for name, (_c, _e, row, fld, words) in _CASES.items():
        e = errors[name]
        assert (e.row, e.field, words in e.reason) == (row, fld, True), (name, e)
    assert rep.added["evidence"] == 3 and counts(ws)["evidence"] == 3 and consistent(ws)
    with ws.session(readonly=True) as s:
        from sqlalchemy import select

        from assetgrade.store.schema import Asset
        assert sorted(s.scalars(select(Asset.id))) == ["ok", "one_row", "utf16_bom"]


def test_a_latin1_channel_name_reads_with_its_encoding(tmp_path: Path) -> None:
    f = _write(tmp_path / "latin1.csv", "time,temp\xe9rature\n0,20\n1,21\n", "latin-1")
    (item,) = _out(f, encoding="latin-1")
    assert isinstance(item, ItemSpec), item
    assert item.attributes["channels"] == ["température"]


# Two files of one asset whose windows overlap on a channel went in without a word


def test_two_files_of_one_asset_overlapping_on_a_channel_are_said(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", "time,temp,vib\n" + "".join(f"{t},20,0.{t % 9}\n" for t in range(0, 60)))
    b = _write(tmp_path / "b.csv", "time,temp\n" + "".join(f"{t},21\n" for t in range(30, 90)))
    c = _write(tmp_path / "c.csv", "time,temp\n" + "".join(f"{t},21\n" for t in range(100, 160)))
    out = list(series_items([a, b, c], SeriesOptions(), asset_id="pump-7"))
    items = [x for x in out if isinstance(x, ItemSpec)]
    assert len(items) == 3 and len(out) == 3  # both still go in: which one is right is the user's call
    assert [len(x.notices) for x in items] == [0, 1, 0]  # on b's item: said once its row is stored
    (notice,) = items[1].notices
    assert (notice.file, notice.row) == (str(b), None)
    assert notice.message == (f"asset 'pump-7': channel(s) temp overlap the series from {a} in this batch (30 to"
                              " 59); the sensor evidence of an asset is read from one series (the others are"
                              " flagged and left out): merge the files, or give each its own asset")


def test_an_iso_first_cell_in_a_day_first_column_warns_nobody(tmp_path: Path) -> None:
    # pandas' format guess told stderr that an ISO cell cannot be read day-first ("Parsing dates in %Y-%m-%dT%H:%M:%S
    # format when dayfirst=True was specified"), a remark about its own internals on every such ingest
    f = _write(tmp_path / "mixed.csv", "time,temp\n2024-04-13T10:00:00,20\n2024-04-13 11:00,21\n13/04/2024 12:00,22\n")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        (item,) = _out(f)
    assert [str(w.message) for w in said] == []
    assert isinstance(item, ItemSpec) and item.attributes["date_order"] == "day-first"
