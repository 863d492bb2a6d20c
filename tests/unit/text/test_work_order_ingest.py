"""``ingest work-orders`` on hostile files: NUL bytes, UTF-16, Excel workbooks given as CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.errors import IngestError
from assetgrade.ingest import WorkOrderColumns, work_order_items
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.report import RowError

HEAD = "BscStartDate,Asset,OriginalShorttext,PMType,Cost\n"


def test_a_nul_byte_is_an_error_on_its_row_and_field(tmp_path: Path) -> None:
    f = tmp_path / "wo.csv"
    f.write_text(HEAD + "2004-07-01,A,le\x00ak,PM01,1\n2004-07-01,B,ok,P\x00M,1\n2004-07-02,C,leak,PM01,1\n",
                 encoding="utf-8")
    out = list(work_order_items(f, WorkOrderColumns()))
    errors = [o for o in out if isinstance(o, RowError)]
    assert [o.asset_id for o in out if isinstance(o, ItemSpec)] == ["C"]
    assert [(e.row, e.field) for e in errors] == [(2, "OriginalShorttext"), (3, "PMType")]
    assert all("NUL" in e.reason for e in errors)


def test_a_utf16_file_with_its_byte_order_mark_is_read(tmp_path: Path) -> None:
    f = tmp_path / "wo.csv"
    f.write_text(HEAD + "2004-07-01,A,Ölleck 漏油 🚜,PM01,1\n", encoding="utf-16")
    (item,) = list(work_order_items(f, WorkOrderColumns()))
    assert isinstance(item, ItemSpec) and item.text == "Ölleck 漏油 🚜"


@pytest.mark.parametrize("magic", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_an_excel_workbook_is_named_as_one(tmp_path: Path, magic: bytes) -> None:
    f = tmp_path / "wo.csv"
    f.write_bytes(magic + b"\x00\xc7\xff" * 50)
    with pytest.raises(IngestError, match="Excel workbook"):
        list(work_order_items(f, WorkOrderColumns()))


def test_na_date_and_cost_are_not_recorded_not_a_rejected_row(tmp_path: Path) -> None:
    f = tmp_path / "wo.csv"
    f.write_text(HEAD + "2004-07-01,A,hose leak,PM01,NA\nNA,B,crack,PM01,5\n2004-07-01,C,crack,PM01,N/A\n"
                 "2004-07-01,D,crack,PM01,n.a.\n", encoding="utf-8")
    out = list(work_order_items(f, WorkOrderColumns()))
    items = {o.asset_id: o.attributes for o in out if isinstance(o, ItemSpec)}
    assert sorted(items) == ["A", "B", "C"]  # the text of a work order is not lost for want of its cost
    assert "cost" not in items["A"] and "date" not in items["B"] and items["B"]["cost"] == 5.0
    (err,) = [o for o in out if isinstance(o, RowError)]
    assert (err.row, err.field) == (5, "Cost")  # anything else that is not a number still is an error


def test_a_missing_cost_column_says_it_can_be_left_unmapped(tmp_path: Path) -> None:
    f = tmp_path / "wo.csv"
    f.write_text("Date,Machine,Notes\n2004-07-01,A,leak\n", encoding="utf-8")
    cols = WorkOrderColumns(text="Notes", asset="Machine", date="Date")
    with pytest.raises(IngestError, match=r"cost column 'Cost' is not in the header .* or to none"):
        list(work_order_items(f, cols))
    (item,) = list(work_order_items(f, WorkOrderColumns(text="Notes", asset="Machine", date="Date", cost=None)))
    assert isinstance(item, ItemSpec) and item.text == "leak"
