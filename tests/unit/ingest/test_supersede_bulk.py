"""``ingest --supersede`` withdraws a row group's superseded items in one bulk operation (``withdraw_in_turn``); the
store it leaves is the one a ``withdraw_evidence`` call per row, in row order (the writer before the bulk form),
leaves. Two workspaces ingest the same files, one through each; their rows and audit events are compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.workspace_template import new_workspace

from assetgrade.ingest import Ingestor, WorkOrderColumns, work_order_items
from assetgrade.ingest import commit as commit_module
from assetgrade.store import verify_chain
from assetgrade.store.schema import Asset, AuditEvent, Evidence, EvidenceWithdrawal, IngestBatch
from assetgrade.store.withdrawals import WithdrawalReport, withdraw_evidence
from assetgrade.workspace import Workspace

HEAD = "BscStartDate,Asset,OriginalShorttext,Cost,PMType\n"
ROWS = ["2004-07-01,A,BUCKET WONT OPEN,183.05,PM01", "2005-03-20,A,LEAKING,407.4,PM01",
        "2005-04-01,B,HOSE BURST,90,PM01", "2005-04-02,A,LEAKING,407.4,PM01", "2005-05-01,B,TRACK LOOSE,12,PM02",
        "2005-06-01,C,ENGINE OVERHEATS,300,PM01", "2005-06-02,A,TOOTH MISSING,50,PM01"]


def _per_row(s: Session, items: list[tuple[str, str]], *, by: str, actor: str | None = None) -> WithdrawalReport:
    """The writer's withdrawals before the bulk form: one ``withdraw_evidence`` call per superseded row, in turn."""
    out = WithdrawalReport()
    for i, reason in items:
        rep = withdraw_evidence(s, [i], reason=reason, by=by, actor=actor)
        out.withdrawn += rep.withdrawn
        out.already += rep.already
    return out


def _ingest(ws: Workspace, path: Path, rows: list[str], *, supersede: bool) -> list[tuple[str, str, str, int | None]]:
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    rep = Ingestor(ws, kind="work-orders", source="wo.csv", check_export=True, supersede=supersede,
                   group_size=3).run(work_order_items(path, WorkOrderColumns()))
    assert rep.ok, [str(e) for e in rep.errors]
    return [(x.old, x.new, Path(x.file).name, x.row) for x in rep.superseded]


def _store(ws: Workspace) -> dict[str, Any]:
    """What the store holds, without times, hashes and batch ids (each run draws its own)."""
    with ws.session(readonly=True) as s:
        assert verify_chain(s).ok
        batches = list(s.execute(select(IngestBatch.id).order_by(IngestBatch.started_at)).scalars())

        def plain(value: Any) -> str:
            text = json.dumps(value, sort_keys=True)
            for k, b in enumerate(batches):
                text = text.replace(b, f"batch-{k}")
            return text

        return {
            "withdrawals": sorted(s.execute(select(
                EvidenceWithdrawal.evidence_id, EvidenceWithdrawal.n, EvidenceWithdrawal.reason,
                EvidenceWithdrawal.withdrawn_by)).tuples()),
            "assets": sorted(s.execute(select(Asset.id, Asset.version)).tuples()),
            "evidence": sorted(s.execute(select(Evidence.id, Evidence.asset_id, Evidence.attributes)).tuples(),
                               key=lambda r: r[0]),
            "events": [(e.seq, e.actor, e.action, e.entity, plain(e.entity_id), plain(e.payload))
                       for e in s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()],
        }


def _run(ws: Workspace, tmp: Path) -> list[list[tuple[str, str, str, int | None]]]:
    """Ingest ROWS; then PMType changed in rows 1, 2, 4 and 6 (three of asset A, one of B across row groups of 3),
    one row added; then rows 2 and 4 changed again (v3 withdraws v2); then the same file again (nothing)."""
    tmp.mkdir(exist_ok=True)  # one path for both runs: the reasons name the file
    v2 = [r.replace("PM01", "PM03") if k in (0, 1, 3, 5) else r for k, r in enumerate(ROWS)]
    v2.append("2005-07-01,B,BOOM CRACK,800,PM01")
    v3 = [r.replace("PM03", "PM04") if k in (1, 3) else r for k, r in enumerate(v2)]
    return [_ingest(ws, tmp / "wo.csv", ROWS, supersede=False), _ingest(ws, tmp / "wo.csv", v2, supersede=True),
            _ingest(ws, tmp / "wo.csv", v3, supersede=True), _ingest(ws, tmp / "wo.csv", v3, supersede=True)]


def test_supersede_stores_what_a_withdrawal_per_row_stored(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bulk_ws = new_workspace(tmp_path / "bulk", tmp_path_factory)
    each_ws = new_workspace(tmp_path / "each", tmp_path_factory)
    try:
        bulk = _run(bulk_ws, tmp_path / "in")
        with monkeypatch.context() as m:
            m.setattr(commit_module, "withdraw_in_turn", _per_row)
            each = _run(each_ws, tmp_path / "in")
        assert bulk == each
        assert [len(x) for x in bulk] == [0, 4, 2, 0]
        assert [row for *_, row in bulk[1]] == [2, 3, 5, 7]
        stored = _store(bulk_ws)
        assert stored == _store(each_ws)
        assert len(stored["withdrawals"]) == 6
        # two of A's items in one row group: two raises and the events between them, then the group's own raise
        withdrawn = [json.loads(p) for _, _, action, _, _, p in stored["events"] if action == "evidence.withdraw"]
        assert [(w["asset_id"], w["asset_version"]) for w in withdrawn] == [
            ("A", 4), ("A", 5), ("A", 7), ("C", 2), ("A", 9), ("A", 11)]
        assert stored["assets"] == [("A", 12), ("B", 3), ("C", 3)]
    finally:
        bulk_ws.close()
        each_ws.close()
