"""``ingest work-orders``: rows that repeat an earlier row cell for cell are kept and named in the summary."""

from __future__ import annotations

import json
from pathlib import Path

from assetgrade.ingest import Ingestor, WorkOrderColumns, work_order_items
from assetgrade.ingest.report import IngestNotice
from assetgrade.store import load_records
from assetgrade.workspace import Workspace

HEAD = "BscStartDate,Asset,OriginalShorttext,PMType,Cost\n"


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "wo.csv"
    p.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def test_exact_duplicate_rows_are_kept_and_reported_with_their_rows(ws: Workspace, tmp_path: Path) -> None:
    a, b = "2004-07-01,A,BUCKET WON'T OPEN,PM01,183.05", "2005-03-20,B,L/H BUCKET CYL LEAKING.,PM01,407.4"
    p = _csv(tmp_path, [
        a, b, a,
        "2004-07-01,A,BUCKET WON'T OPEN,PM02,183.05",  # another PMType: not a repeat of row 2
        a, b,
        "2004-07-01 , A ,BUCKET WON'T OPEN,PM01,183.05",  # the same once blanks around cells are dropped
    ])
    rep = Ingestor(ws, kind="work-orders", source=str(p)).run(work_order_items(p, WorkOrderColumns()))
    assert rep.ok and rep.added["evidence"] == 7  # all kept: no id tells a job done twice from one entered twice
    (note,) = [n for n in rep.notices if "repeat" in n.message]
    assert (note.file, note.row) == (str(p), None)
    assert note.message.startswith("4 rows repeat an earlier row cell for cell: row 4 (= row 2), row 6 (= row 2), "
                                   "row 7 (= row 3), row 8 (= row 2); ")
    assert json.loads(Path(rep.report_path or "").read_text())["notices"] == [str(n) for n in rep.notices]
    costs = [e.cost for r in load_records(ws) for e in r.logs if r.asset_id == "A"]
    assert costs == [183.05] * 5  # counting is unchanged: each repeat is its own log entry


def test_only_the_first_five_repeats_are_named(tmp_path: Path) -> None:
    p = _csv(tmp_path, ["2004-07-01,A,leak,PM01,1"] * 8 + ["2004-07-02,A,leak,PM01,1"])
    notes = [o for o in work_order_items(p, WorkOrderColumns()) if isinstance(o, IngestNotice)]
    assert [n.message.split(";")[0] for n in notes] == [
        "7 rows repeat an earlier row cell for cell: row 3 (= row 2), row 4 (= row 2), row 5 (= row 2), "
        "row 6 (= row 2), row 7 (= row 2) and 2 more"]


def test_a_file_without_repeats_has_no_notice(tmp_path: Path) -> None:
    p = _csv(tmp_path, ["2004-07-01,A,leak,PM01,1", "2004-07-01,A,leak,PM01,2", "2004-07-01,B,leak,PM01,1"])
    assert not [o for o in work_order_items(p, WorkOrderColumns()) if isinstance(o, IngestNotice)]


def test_the_excavator_file_repeats_358_rows(shared_data: Path) -> None:
    p = shared_data / "excavator-work-orders" / "excavators.csv"
    (note,) = [o for o in work_order_items(p, WorkOrderColumns()) if isinstance(o, IngestNotice)]
    assert note.message.startswith("358 rows repeat an earlier row cell for cell: row 1377 (= row 1376), ")
