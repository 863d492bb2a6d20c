"""A CSV row with fewer cells than the header (a truncated line) is an error naming the file and line, in every
importer that reads CSVs; the rows around it are still read."""

from __future__ import annotations

from pathlib import Path

from assetgrade.ingest import WorkOrderColumns, manifest_items, work_order_items
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.report import RowError


def test_a_truncated_manifest_row_is_named_not_read_without_its_grade(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(b"\x89PNG")
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path,grade\np1,image,a.png,B\np2,image,b.png\np3,image,c.png,A\n", encoding="utf-8")
    out = list(manifest_items(m))
    items = [o for o in out if isinstance(o, ItemSpec)]
    errors = [o for o in out if isinstance(o, RowError)]
    assert [(i.asset_id, [lb.value for lb in i.labels]) for i in items] == [("p1", ["B"]), ("p3", ["A"])]
    assert [str(e) for e in errors] == [f"{m}:row 3: 3 cells but the header has 4 columns: no cell for grade (a "
                                        "truncated line, or a missing ','?)"]


def test_a_truncated_work_order_line_is_named_and_the_rest_imported(tmp_path: Path) -> None:
    f = tmp_path / "wo.csv"
    f.write_text("BscStartDate,Asset,OriginalShorttext,PMType,Cost\n2004-07-02,A,REPLACE HO\n"
                 "2004-07-01,A,BUCKET WON'T OPEN,PM01,183.05\n", encoding="utf-8")
    out = list(work_order_items(f, WorkOrderColumns()))
    assert [o.text for o in out if isinstance(o, ItemSpec)] == ["BUCKET WON'T OPEN"]
    errors = [o for o in out if isinstance(o, RowError)]
    assert [(e.file, e.row) for e in errors] == [(str(f), 2)]
    assert errors[0].reason.startswith("3 cells but the header has 5 columns: no cell for PMType, Cost")
