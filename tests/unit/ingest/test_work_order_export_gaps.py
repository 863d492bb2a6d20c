"""``ingest work-orders``: a newer export with a corrected row stores it as a new entry beside the old one (ids come
from the content); the run names the stored entries of that file for its assets that no row gave any more, so the
old one is not counted twice without a word. An increment (no row stored before) or the same file says nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.ingest import Ingestor, WorkOrderColumns, work_order_items
from assetgrade.ingest.report import IngestReport
from assetgrade.store import load_records
from assetgrade.store.withdrawals import withdraw_evidence
from assetgrade.workspace import Workspace

HEAD = "BscStartDate,Asset,OriginalShorttext,PMType,Cost\n"


def _run(ws: Workspace, path: Path, rows: list[str], *, source: str | None = None) -> IngestReport:
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return Ingestor(ws, kind="work-orders", source=str(path), check_export=True).run(
        work_order_items(path, WorkOrderColumns(), source=source))


def _costs(ws: Workspace, asset: str) -> list[float | None]:
    return sorted(e.cost or 0.0 for r in load_records(ws, [asset]) for e in r.logs)


def test_a_corrected_row_names_the_entry_it_leaves_behind(ws: Workspace, tmp_path: Path) -> None:
    wo = tmp_path / "wo.csv"
    rows = ["2004-07-01,A,BUCKET WONT OPEN,PM01,183.05", "2005-03-20,A,LEAKING,PM01,407.4",
            "2005-04-01,B,HOSE BURST,PM01,90"]
    assert _run(ws, wo, rows).added["evidence"] == 3
    [old] = [e.evidence_id for r in load_records(ws, ["A"]) for e in r.logs if e.cost == 407.4]
    rep = _run(ws, wo, [rows[0], "2005-03-20,A,LEAKING,PM01,470.4"])  # B's row left out of this export
    assert rep.ok and rep.added["evidence"] == 1 and rep.skipped_existing == 1
    (notice,) = rep.notices
    assert (notice.file, notice.row) == (str(wo), None)
    assert notice.message == (
        f"1 stored item(s) of source 'wo.csv' for this file's assets are not among its rows: {old} (asset 'A',"
        " 2005-03-20, cost 407.4: 'LEAKING'). If this file is a newer export of that source, a row corrected since"
        " is stored as a new entry and the old one stays live beside it (both counted): withdraw each that is gone"
        " (assetgrade assets withdraw ID --reason TEXT); if it holds only some of the rows, there is nothing to do")
    assert _costs(ws, "A") == [183.05, 407.4, 470.4]  # named, not withdrawn: that is the user's call
    assert not _run(ws, wo, [rows[0], "2005-03-20,A,LEAKING,PM01,470.4", rows[1]]).notices  # all of them again
    with ws.session() as s:
        withdraw_evidence(s, [old], reason="corrected in the newer export", by="ana")
    assert not _run(ws, wo, [rows[0], "2005-03-20,A,LEAKING,PM01,470.4"]).notices  # the withdrawn one is gone
    assert _costs(ws, "A") == [183.05, 470.4]


def test_an_increment_or_another_source_says_nothing(ws: Workspace, tmp_path: Path) -> None:
    assert _run(ws, tmp_path / "wo.csv", ["2004-07-01,A,BUCKET WONT OPEN,PM01,183.05"]).ok
    new = _run(ws, tmp_path / "more.csv", ["2006-01-01,A,NEW PUMP,PM01,10"], source="wo.csv")
    assert new.added["evidence"] == 1 and not new.notices  # no row of it was stored before: an increment
    other = _run(ws, tmp_path / "other.csv", ["2004-07-01,A,BUCKET WONT OPEN,PM01,183.05"])
    assert other.added["evidence"] == 0 and not other.notices  # its row is wo.csv's entry: 'other.csv' has none


def test_without_check_export_nothing_is_said(ws: Workspace, tmp_path: Path) -> None:
    wo = tmp_path / "wo.csv"
    _run(ws, wo, ["2004-07-01,A,BUCKET WONT OPEN,PM01,183.05", "2005-03-20,A,LEAKING,PM01,407.4"])
    wo.write_text(HEAD + "2004-07-01,A,BUCKET WONT OPEN,PM01,183.05\n", encoding="utf-8")
    assert not Ingestor(ws, kind="work-orders", source=str(wo)).run(work_order_items(wo, WorkOrderColumns())).notices


def test_ingest_work_orders_says_it(tmp_path: Path) -> None:
    runner, ws, wo = CliRunner(), tmp_path / "ws", tmp_path / "wo.csv"
    assert runner.invoke(build_app(), ["init", str(ws)]).exit_code == 0
    for cost in ("407.4", "470.4"):
        wo.write_text(HEAD + f"2005-03-20,A,LEAKING,PM01,{cost}\n2004-07-01,A,BUCKET WONT OPEN,PM01,1\n",
                      encoding="utf-8")
        r = runner.invoke(build_app(), ["ingest", "work-orders", str(wo), "-w", str(ws)], env={"COLUMNS": "400"})
        assert r.exit_code == 0, r.output
    notices = json.loads(Path(r.output.split("report: ")[-1].strip()).read_text(encoding="utf-8"))["notices"]
    assert [n.split(": ev_")[0] for n in notices] == [
        f"{wo}: 1 stored item(s) of source 'wo.csv' for this file's assets are not among its rows"]
