"""CSV inputs shared by the manifest, work-order and series importers and the work-order loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.datasets.work_orders import load_work_orders
from assetgrade.errors import IngestError
from assetgrade.ingest.inputs import CsvRow, read_csv_rows


def _rows(path: Path, **kw: object) -> tuple[list[str], list[CsvRow | tuple[int, str]]]:
    header, rows = read_csv_rows(path, **kw)  # type: ignore[arg-type]
    return header, list(rows)


def test_a_utf16_file_with_its_bom_is_read_without_an_encoding(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_bytes("asset_id,kind,text\npump-1,log,Dichtung undicht – ölig\n".encode("utf-16"))
    header, rows = _rows(f, required=("asset_id",))
    assert header == ["asset_id", "kind", "text"]
    assert rows == [CsvRow(2, {"asset_id": "pump-1", "kind": "log", "text": "Dichtung undicht – ölig"})]


@pytest.mark.parametrize("magic", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0"])
def test_a_workbook_given_as_csv_is_named(tmp_path: Path, magic: bytes) -> None:
    f = tmp_path / "orders.csv"
    f.write_bytes(magic + b"\x00" * 200)
    with pytest.raises(IngestError, match="Excel workbook") as exc:
        read_csv_rows(f)
    assert exc.value.where == str(f)


def test_the_separator_is_the_one_the_header_uses_most(tmp_path: Path) -> None:
    # commas in the text and an empty last cell: a sniffer of the whole sample gives up (and fell back to ',')
    f = tmp_path / "m.csv"
    f.write_text("asset_id;kind;text\npump-1;log;ok, fine, good\npump-2;log;\n", encoding="utf-8")
    header, rows = _rows(f)
    assert header == ["asset_id", "kind", "text"]
    assert rows == [CsvRow(2, {"asset_id": "pump-1", "kind": "log", "text": "ok, fine, good"}),
                    CsvRow(3, {"asset_id": "pump-2", "kind": "log", "text": ""})]


def test_importer_and_loader_report_the_same_bad_rows(tmp_path: Path) -> None:
    f = tmp_path / "wo.csv"
    f.write_text('BscStartDate,Asset,OriginalShorttext,Cost\n2004-07-01,A,BUCKET WONT OPEN,10\n'
                 '2004-07-02,A,too,many,cells\n2004-07-03,B,"never closed,5\n2004-07-04,B,lost,1\n', encoding="utf-8")
    _, rows = _rows(f)
    bad = [r for r in rows if not isinstance(r, CsvRow)]
    assert [line for line, _ in bad] == [3, 4]
    assert "an unquoted ','" in bad[0][1] and "never closed" in bad[1][1]
    wo = load_work_orders(f)
    assert [e.where for e in wo.errors] == [f"{f}:3", f"{f}:4"]
    assert [str(e).split(": ", 1)[-1] for e in wo.errors] == [reason for _, reason in bad]
    assert wo.n_entries == 1


def test_a_row_with_fewer_cells_than_the_header_is_an_error_on_its_line(tmp_path: Path) -> None:
    # a truncated line (cut off mid-write, or a hand edit) was padded with empty cells: the grade was lost silently
    f = tmp_path / "m.csv"
    f.write_text("asset_id,kind,path,grade\np1,image,a.jpg,B\np2,image,b.jp\np3,image,c.jpg,\np4,image\n",
                 encoding="utf-8")
    _, rows = _rows(f)
    assert rows[0] == CsvRow(2, {"asset_id": "p1", "kind": "image", "path": "a.jpg", "grade": "B"})
    assert rows[1] == (3, "3 cells but the header has 4 columns: no cell for grade (a truncated line, or a missing "
                          "','?)")
    assert rows[2] == CsvRow(4, {"asset_id": "p3", "kind": "image", "path": "c.jpg", "grade": ""})  # empty, not absent
    assert rows[3] == (5, "2 cells but the header has 4 columns: no cell for path, grade (a truncated line, or a "
                          "missing ','?)")


def test_a_row_may_stop_before_the_unnamed_columns_a_header_ends_with(tmp_path: Path) -> None:
    # a spreadsheet export whose header line ends in separators: those columns hold nothing a row can lose
    f = tmp_path / "m.csv"
    f.write_text("asset_id,kind,text,,\np1,log,worn\np2,log\n", encoding="utf-8")
    _, rows = _rows(f)
    assert rows == [CsvRow(2, {"asset_id": "p1", "kind": "log", "text": "worn", "": ""}),
                    (3, "2 cells but the header names 3 columns: no cell for text (a truncated line, or a missing "
                        "','?)")]
