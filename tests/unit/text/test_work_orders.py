"""Work-order CSV loading: per-asset entries with dates and costs; bad rows recorded, not fatal."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from assetgrade.datasets.work_orders import load_work_orders, read_work_orders
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
    assert [e.where for e in wo.errors] == ["wo.csv:4", "wo.csv:5", "wo.csv:6"]


def test_missing_column_is_named() -> None:
    with pytest.raises(ValidationError, match="Asset"):
        read_work_orders(io.StringIO("date,OriginalShorttext\n"), source="x.csv")


def test_non_utf8_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "wo.csv"
    f.write_bytes(CSV.encode() + b"2007-01-01,D,PUMP \xff LEAK,PM01,5\n")
    wo = load_work_orders(f)
    assert "\ufffd" in wo.by_asset["D"][0].text
    assert "UTF-8" in str(wo.errors[0])
