"""Work-order CSV loading: per-asset entries with dates and costs; bad rows recorded, not fatal."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from assetgrade.datasets.work_orders import load_work_orders, read_labelled_texts, read_work_orders
from assetgrade.errors import ValidationError

CSV = """BscStartDate,Asset,OriginalShorttext,PMType,Cost
2005-03-20,A,L/H BUCKET CYL LEAKING.,PM01,407.4
2004-07-01,A,BUCKET WON'T OPEN,PM01,183.05
not-a-date,B,SWAP BUCKET,PM01,0
2006-07-11,B,FIT BUCKET TOOTH,PM01,abc
2006-07-12,,NO ASSET,PM01,1
2006-07-13,C,,PM02,NA
"""


def test_groups_sorts_and_records_bad_rows() -> None:
    wo = read_work_orders(io.StringIO(CSV), source="wo.csv")
    assert sorted(wo.by_asset) == ["A", "C"]
    a = wo.by_asset["A"]
    assert [e.date for e in a] == [datetime(2004, 7, 1), datetime(2005, 3, 20)]
    assert a[1].cost == 407.4 and a[1].attributes["PMType"] == "PM01"
    assert wo.by_asset["C"][0].cost is None and wo.by_asset["C"][0].text == ""
    assert [e.where for e in wo.errors] == ["wo.csv:4:BscStartDate", "wo.csv:5:Cost", "wo.csv:6:Asset"]


def test_missing_column_is_named() -> None:
    with pytest.raises(ValidationError, match="Asset"):
        read_work_orders(io.StringIO("date,OriginalShorttext\n"), source="x.csv")


def test_non_utf8_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "wo.csv"
    f.write_bytes(CSV.encode() + b"2007-01-01,D,PUMP \xff LEAK,PM01,5\n")
    wo = load_work_orders(f)
    assert "\ufffd" in wo.by_asset["D"][0].text
    assert "UTF-8" in str(wo.errors[0])


HEAD = "BscStartDate,Asset,OriginalShorttext,PMType,Cost\n"


def test_long_note_and_unclosed_quote_are_row_errors() -> None:
    long_note = "x" * 300_000  # over Python's default CSV cell limit of 131,072 characters
    wo = read_work_orders(io.StringIO(HEAD + f"2004-07-01,A,{long_note},PM01,1\n"
                                      '2004-07-02,B,"leak,PM01,1\n2004-07-03,B,crack,PM01,1\n'), source="wo.csv")
    assert len(wo.by_asset["A"][0].text) == 300_000
    assert "B" not in wo.by_asset
    assert [e.where for e in wo.errors] == ["wo.csv:3"] and "never closed" in str(wo.errors[0])


def test_decimal_comma_ambiguous_date_and_nul_are_refused_by_row() -> None:
    wo = read_work_orders(io.StringIO(HEAD + '2004-07-01,A,leak,PM01,"1,5"\n2004-07-01,B,leak,PM01,"1,250.50"\n'
                                      "07/01/2004,C,leak,PM01,1\n25/12/2004,D,leak,PM01,-20\n07/7/2004,D,leak,PM01,1\n"
                                      "2004-07-01,E,le\x00ak,PM01,1\n"), source="wo.csv")
    assert sorted(wo.by_asset) == ["B", "D"]  # 1,5 is not read as 15
    assert wo.by_asset["B"][0].cost == 1250.5
    assert [e.date for e in wo.by_asset["D"]] == [datetime(2004, 7, 7), datetime(2004, 12, 25)]  # 07/7 is one day
    assert wo.by_asset["D"][1].cost == -20.0
    where = [e.where for e in wo.errors]
    assert where == ["wo.csv:2:Cost", "wo.csv:4:BscStartDate", "wo.csv:7:OriginalShorttext"]
    assert "ambiguous" in str(wo.errors[0]) and "ambiguous" in str(wo.errors[1]) and "NUL" in str(wo.errors[2])


def test_semicolon_and_utf16_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    semi = tmp_path / "semi.csv"
    semi.write_text(HEAD.replace(",", ";") + "2004-07-01;A;Ölleck, Hydraulik;PM01;12.5\n", encoding="utf-8")
    u16 = tmp_path / "u16.csv"
    u16.write_text(HEAD + "2004-07-01,A,漏油 leak 🚜,PM01,3\n", encoding="utf-16")
    a = load_work_orders(semi).by_asset["A"][0]
    assert (a.text, a.cost) == ("Ölleck, Hydraulik", 12.5)
    wo = load_work_orders(u16)
    assert wo.errors == [] and wo.by_asset["A"][0].text == "漏油 leak 🚜"


def test_an_excel_workbook_is_named_as_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "wo.xlsx"
    f.write_bytes(b"PK\x03\x04" + b"\x00\xc7\xff" * 50)
    with pytest.raises(ValidationError, match="Excel workbook"):
        load_work_orders(f)


def test_separator_is_read_from_the_first_line_of_a_cr_only_file() -> None:
    head = HEAD.replace(",", ";").rstrip("\n")
    note = ", ".join(["leak"] * 20)  # more commas in the texts than semicolons in the file
    text = head + f"\r2004-07-01;A;{note};PM01;5\r2004-07-02;A;crack;PM01;6\r"
    wo = read_work_orders(io.StringIO(text), source="mac.csv")
    assert wo.errors == [] and [e.text for e in wo.by_asset["A"]] == [note, "crack"]


def test_a_truncated_last_line_is_an_error_naming_file_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the last line cut off mid-write was read as an entry without PM type and cost
    f = tmp_path / "wo.csv"
    f.write_text("BscStartDate,Asset,OriginalShorttext,PMType,Cost\n2004-07-01,A,BUCKET WON'T OPEN,PM01,183.05\n"
                 "2004-07-02,A,REPLACE HO", encoding="utf-8")
    wo = load_work_orders(f)
    assert wo.n_entries == 1 and [e.where for e in wo.errors] == [f"{f}:3"]
    assert wo.errors[0].reason.startswith("3 cells but the header has 5 columns: no cell for PMType, Cost")
    texts = read_labelled_texts(f, "OriginalShorttext", "PMType")
    assert texts.n_rows == 2 and texts.labels == ["PM01"] and [e.where for e in texts.errors] == [f"{f}:3"]
