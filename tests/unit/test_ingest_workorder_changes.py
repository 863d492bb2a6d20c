"""``ingest work-orders`` again with a row whose asset, date, text and cost are a stored entry's (its evidence id) but
whose other columns changed: one notice per file names the rows and the columns (stored -> new), and
``--supersede`` stores the new values as a new entry, withdrawing the stored one. Before, such a row was skipped as
already stored without a word, its stored values unchanged. Rows with the same values say nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.workspace_template import new_workspace
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.ingest import Ingestor, WorkOrderColumns, work_order_items
from assetgrade.ingest.report import IngestReport
from assetgrade.store import load_records
from assetgrade.store.schema import Evidence
from assetgrade.store.withdrawals import withdrawals_of
from assetgrade.workspace import Workspace

HEAD = "BscStartDate,Asset,OriginalShorttext,Cost,PMType,Comment\n"
ROWS = ["2004-07-01,A,BUCKET WONT OPEN,183.05,PM01,", "2005-03-20,A,LEAKING,407.4,PM01,at the boom",
        "2005-04-01,B,HOSE BURST,90,PM02,"]


@pytest.fixture
def ws(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = new_workspace(tmp_path / "ws", tmp_path_factory)
    yield w
    w.close()


def _run(ws: Workspace, path: Path, rows: list[str], *, supersede: bool = False) -> IngestReport:
    path.write_text(HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    return Ingestor(ws, kind="work-orders", source=str(path), check_export=True, supersede=supersede).run(
        work_order_items(path, WorkOrderColumns()))


def _entries(ws: Workspace) -> dict[tuple[str, str], tuple[str, dict[str, object]]]:
    """The live entries: (asset, text) -> (evidence id, attributes without the ones ingest adds)."""
    out = {}
    for r in load_records(ws, ["A", "B"]):
        for e in r.logs:
            attrs = {k: v for k, v in e.attributes.items() if k not in ("source_item", "supersedes")}
            assert (r.asset_id, e.text) not in out, f"two live entries of {e.text!r}"
            out[(r.asset_id, e.text)] = (e.evidence_id, attrs)
    return out


def test_a_changed_column_is_named_and_the_stored_entry_kept(ws: Workspace, tmp_path: Path) -> None:
    wo = tmp_path / "wo.csv"
    assert _run(ws, wo, ROWS).added["evidence"] == 3
    before = _entries(ws)
    old_id = before[("A", "LEAKING")][0]
    rep = _run(ws, wo, [ROWS[0], "2005-03-20,A,LEAKING,407.4,PM03,", ROWS[2]])
    assert rep.ok and rep.added["evidence"] == 0 and rep.skipped_existing == 3
    (notice,) = rep.notices
    assert (notice.file, notice.row) == (str(wo), None)
    assert notice.message == (
        f"1 row(s) are a stored entry (the same asset, date, text and cost) with other values in other columns:"
        f" row 3 ({old_id}: Comment 'at the boom' -> (empty), PMType 'PM01' -> 'PM03'). They were skipped as already"
        " stored and the stored entries keep their values. To store the new values, run the same command with"
        " --supersede (each stored entry is withdrawn, and kept in the history)")
    assert _entries(ws) == before  # nothing changed without --supersede
    assert not _run(ws, wo, ROWS).notices  # the same values again: silent (idempotent)


def test_five_are_named_and_long_values_shortened(ws: Workspace, tmp_path: Path) -> None:
    wo = tmp_path / "wo.csv"
    rows = [f"2005-01-{d:02d},A,JOB {d},{d}.5,PM01," for d in range(1, 8)]
    assert _run(ws, wo, rows).added["evidence"] == 7
    long = "the hydraulic hose at the boom cylinder was leaking oil all day"
    rep = _run(ws, wo, [r[:-1] + "," + long for r in rows])
    (notice,) = rep.notices
    assert notice.message.startswith("7 row(s) are a stored entry")
    assert notice.message.count("Comment (empty) -> 'the hydraulic hose at the boom cylind...'") == 5
    assert "; and 2 more. They were skipped" in notice.message
    assert [f"row {n} (" in notice.message for n in range(2, 9)] == [True] * 5 + [False] * 2


def test_supersede_stores_the_new_values_and_withdraws_the_entry(ws: Workspace, tmp_path: Path) -> None:
    wo = tmp_path / "wo.csv"
    _run(ws, wo, ROWS)
    v1 = _entries(ws)[("A", "LEAKING")][0]
    changed = [ROWS[0], "2005-03-20,A,LEAKING,407.4,PM03,at the boom", ROWS[2]]
    rep = _run(ws, wo, changed, supersede=True)
    assert rep.ok and rep.added["evidence"] == 1 and rep.skipped_existing == 2
    [sup] = rep.superseded
    assert (sup.old, sup.file, sup.row) == (v1, str(wo), 3)
    assert "With --supersede each is stored as a new entry and the stored one withdrawn" in rep.notices[0].message
    entries = _entries(ws)
    v2, attrs = entries[("A", "LEAKING")]
    assert v2 == sup.new != v1 and attrs == {"date": "2005-03-20T00:00:00+00:00", "cost": 407.4, "PMType": "PM03",
                                             "Comment": "at the boom"}
    assert len(entries) == 3  # one live entry per row: counts and cost sums hold it once
    with ws.session(readonly=True) as s:
        assert v1 in withdrawals_of(s, [v1])
        stored = s.get(Evidence, v2)
        assert stored is not None and stored.attributes["source_item"] == v1 == stored.attributes["supersedes"]
    for again in (True, False):  # the same file again, with or without --supersede: nothing to do, nothing said
        rep = _run(ws, wo, changed, supersede=again)
        assert rep.added["evidence"] == 0 and rep.skipped_existing == 3 and not rep.superseded and not rep.notices
    rep = _run(ws, wo, [ROWS[0], "2005-03-20,A,LEAKING,407.4,PM04,at the boom", ROWS[2]])
    assert f"row 3 ({v2}: PMType 'PM03' -> 'PM04')" in rep.notices[0].message  # compared with the live entry
    rep = _run(ws, wo, [ROWS[0], "2005-03-20,A,LEAKING,407.4,PM04,at the boom", ROWS[2]], supersede=True)
    [sup3] = rep.superseded
    assert sup3.old == v2 and _entries(ws)[("A", "LEAKING")] == (sup3.new, {**attrs, "PMType": "PM04"})


def test_the_first_values_again_meet_the_withdrawn_entry(ws: Workspace, tmp_path: Path) -> None:
    wo = tmp_path / "wo.csv"
    _run(ws, wo, ROWS)
    _run(ws, wo, [ROWS[0], "2005-03-20,A,LEAKING,407.4,PM03,at the boom", ROWS[2]], supersede=True)
    rep = _run(ws, wo, ROWS, supersede=True)  # back to the first values: that entry, withdrawn (as for a file)
    assert rep.added["evidence"] == 0 and not rep.superseded
    assert any("the same content was withdrawn" in n.message for n in rep.notices), rep.notices
    assert _entries(ws)[("A", "LEAKING")][1]["PMType"] == "PM03"


def test_the_cli_takes_supersede_for_work_orders(ws: Workspace, tmp_path: Path) -> None:
    wo = tmp_path / "wo.csv"
    _run(ws, wo, ROWS)
    wo.write_text(HEAD + f"{ROWS[0]}\n2005-03-20,A,LEAKING,407.4,PM03,at the boom\n{ROWS[2]}\n", encoding="utf-8")
    cmd = ["ingest", "work-orders", str(wo), "-w", str(ws.path)]
    res = CliRunner().invoke(build_app(), cmd)
    assert res.exit_code == 0 and "PMType 'PM01' -> 'PM03'" in " ".join(res.output.split()), res.output
    res = CliRunner().invoke(build_app(), [*cmd, "--supersede"])
    assert res.exit_code == 0 and "superseded (stored item withdrawn)" in res.output, res.output
    with ws.session(readonly=True) as s:
        live = [a for a in s.scalars(select(Evidence.attributes).where(Evidence.asset_id == "A"))
                if a.get("PMType") == "PM03"]
    assert len(live) == 1 and _entries(ws)[("A", "LEAKING")][1]["PMType"] == "PM03"
