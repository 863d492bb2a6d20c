"""Reinstating withdrawn evidence: recorded and audited, append-only, and "withdrawn now" follows the latest action."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, NotFoundError, ValidationError
from assetgrade.store import add_asset, add_evidence, load_records, stats, verify_chain
from assetgrade.store.audit import list_events
from assetgrade.store.schema import Asset, EvidenceReinstatement, EvidenceWithdrawal
from assetgrade.store.withdrawals import reinstate_evidence, withdraw_evidence, withdrawals_of
from assetgrade.workspace import Workspace


def _pump(ws: Workspace) -> None:
    """pump-1 with three log entries; pump-2 with one."""
    with ws.session() as s:
        add_asset(s, "pump-1", asset_type="pump")
        add_asset(s, "pump-2", asset_type="pump")
        for ev in ("log-a", "log-b", "log-c"):
            add_evidence(s, asset_id="pump-1", kind="log", sha256=ev.ljust(64, "0"), text=f"entry {ev}",
                         evidence_id=ev)
        add_evidence(s, asset_id="pump-2", kind="log", sha256="8" * 64, text="oil changed", evidence_id="p2-log")


def _logs(ws: Workspace) -> list[str]:
    return [x.evidence_id for x in load_records(ws, ["pump-1"])[0].logs]


def _version(ws: Workspace) -> int:
    with ws.session(readonly=True) as s:
        return int(s.get(Asset, "pump-1").version)  # type: ignore[union-attr]


def test_withdraw_reinstate_withdraw_again_follows_the_latest_action_and_keeps_every_row(ws: Workspace) -> None:
    _pump(ws)
    withdraw_evidence(ws, ["log-a", "log-b"], reason="pump-2's entries", by="ana")
    assert _logs(ws) == ["log-c"]
    v = _version(ws)
    rep = reinstate_evidence(ws, ["log-a"], reason="it is pump-1's after all", by="bo", actor="cli-user")
    assert [(r.evidence_id, r.reason, r.by, r.ended.reason) for r in rep.reinstated] == [
        ("log-a", "it is pump-1's after all", "bo", "pump-2's entries")]
    assert rep.not_withdrawn == [] and rep.asset_versions == {"pump-1": v + 1} and _version(ws) == v + 1
    assert _logs(ws) == ["log-a", "log-c"]
    with ws.session(readonly=True) as s:
        assert sorted(withdrawals_of(s)) == ["log-b"]
        st = stats(s)
        events = list_events(s, action="evidence.reinstate")
        assert [(e.entity_id, e.actor) for e in events] == [("log-a", "cli-user")]
        assert events[0].payload["asset_version"] == v + 1 and events[0].payload["by"] == "bo"
        assert events[0].payload["withdrawal"]["reason"] == "pump-2's entries"
        assert verify_chain(s).ok
    assert st["totals"]["evidence"] == 3 and st["totals"]["withdrawn"] == 1
    # withdrawn again: a second withdrawal row; the first one and its reinstatement stay
    again = withdraw_evidence(ws, ["log-a"], reason="no, pump-2's", by="cy")
    assert [w.evidence_id for w in again.withdrawn] == ["log-a"] and again.already == []
    assert _logs(ws) == ["log-c"]
    with ws.session(readonly=True) as s:
        assert withdrawals_of(s, ["log-a"])["log-a"].reason == "no, pump-2's"
        rows = s.execute(sa.select(EvidenceWithdrawal.n, EvidenceWithdrawal.reason)
                         .where(EvidenceWithdrawal.evidence_id == "log-a").order_by(EvidenceWithdrawal.n)).all()
        assert [tuple(r) for r in rows] == [(1, "pump-2's entries"), (2, "no, pump-2's")]
        assert s.execute(sa.select(EvidenceReinstatement.n)).scalars().all() == [1]
        assert stats(s)["totals"]["withdrawn"] == 2
    # and reinstated a second time
    reinstate_evidence(ws, ["log-a", "log-b"], reason="both pump-1's", by="cy")
    assert _logs(ws) == ["log-a", "log-b", "log-c"]
    with ws.session(readonly=True) as s:
        assert withdrawals_of(s) == {} and len(list_events(s, action="evidence.reinstate")) == 3


def test_an_item_in_use_is_reported_and_left_alone_beside_one_reinstated(ws: Workspace) -> None:
    _pump(ws)
    withdraw_evidence(ws, ["log-b"], reason="wrong", by="ana")
    v = _version(ws)
    rep = reinstate_evidence(ws, ["log-a", "log-b", "log-a"], reason="undo", by="bo")
    assert [r.evidence_id for r in rep.reinstated] == ["log-b"] and rep.not_withdrawn == ["log-a"]
    nothing = reinstate_evidence(ws, ["log-b"], reason="undo again", by="bo")
    assert nothing.reinstated == [] and nothing.not_withdrawn == ["log-b"] and nothing.asset_versions == {}
    assert _version(ws) == v + 1
    with ws.session(readonly=True) as s:
        assert len(list_events(s, action="evidence.reinstate")) == 1


def test_an_unknown_id_is_named_and_nothing_is_reinstated(ws: Workspace) -> None:
    _pump(ws)
    withdraw_evidence(ws, ["log-a"], reason="wrong", by="ana")
    with pytest.raises(NotFoundError, match=r"evidence not found: 'nope', 'gone'; nothing was reinstated"):
        reinstate_evidence(ws, ["log-a", "nope", "gone"], reason="undo", by="bo")
    assert _logs(ws) == ["log-b", "log-c"]
    with ws.session(readonly=True) as s:
        assert list_events(s, action="evidence.reinstate") == [] and s.execute(
            sa.select(sa.func.count()).select_from(EvidenceReinstatement)).scalar_one() == 0


@pytest.mark.parametrize(("ids", "reason", "by", "match"), [
    ([], "r", "ana", "no evidence id given"),
    ("log-a", "r", "ana", "must be a list of ids"),
    (["log-a"], " ", "ana", "reason"),
    (["log-a"], "r", "an\na", "U\\+000A"),
])
def test_bad_ids_reason_or_name_are_refused(tmp_path: Path, ids: object, reason: str, by: str, match: str) -> None:
    with Workspace.init(tmp_path / "w") as w:
        _pump(w)
        withdraw_evidence(w, ["log-a"], reason="wrong", by="ana")
        with pytest.raises(ValidationError, match=match):
            reinstate_evidence(w, ids, reason=reason, by=by)  # type: ignore[arg-type]
        assert _logs(w) == ["log-b", "log-c"]


def _superseded(ws: Workspace) -> None:
    """pump-1's photo ``img`` (source ``a.jpg``) superseded by ``img-v2``, as ``ingest --supersede`` stores it."""
    with ws.session() as s:
        add_asset(s, "pump-1", asset_type="pump")
        add_evidence(s, asset_id="pump-1", kind="log", sha256="1" * 64, text="a", evidence_id="img")
        add_evidence(s, asset_id="pump-1", kind="log", sha256="2" * 64, text="b", evidence_id="img-v2",
                     attributes={"source_item": "img", "supersedes": "img"})
        withdraw_evidence(s, ["img"], reason="superseded by img-v2 from a.csv", by="ingest")


def test_an_item_superseded_by_a_live_one_is_not_reinstated_until_the_successor_is_withdrawn(ws: Workspace) -> None:
    _superseded(ws)
    with pytest.raises(ConflictError, match=r"evidence 'img' of asset 'pump-1' has another item of its source in"
                                            r" use: 'img-v2'.*withdraw 'img-v2' first.*nothing was reinstated"):
        reinstate_evidence(ws, ["img"], reason="the old one was right", by="ana")
    with ws.session(readonly=True) as s:
        assert sorted(withdrawals_of(s)) == ["img"]
    # both at once would give the source two items in use as well
    withdraw_evidence(ws, ["img-v2"], reason="the new export was wrong", by="ana")
    with pytest.raises(ConflictError, match=r"'img' and 'img-v2' are items of one source \('img'\)"):
        reinstate_evidence(ws, ["img", "img-v2"], reason="both", by="ana")
    rep = reinstate_evidence(ws, ["img"], reason="the old one was right", by="ana")
    assert [r.evidence_id for r in rep.reinstated] == ["img"]
    assert [x.evidence_id for x in load_records(ws, ["pump-1"])[0].logs] == ["img"]
    # and the other way round: the successor is refused while the original is in use
    with pytest.raises(ConflictError, match=r"evidence 'img-v2' .* in use: 'img'"):
        reinstate_evidence(ws, ["img-v2"], reason="back", by="ana")


def _downgrade(engine: sa.Engine) -> None:
    from alembic import command

    from assetgrade.store.engine import _alembic_config, current_revision

    command.downgrade(_alembic_config(engine), "0009")
    assert current_revision(engine) == "0009"


def test_a_0009_store_is_upgraded_keeping_its_withdrawals_and_can_reinstate(tmp_path: Path) -> None:
    from assetgrade.store.engine import head_revision, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert upgrade(engine, "0009") == "0009"
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO assets (id, asset_type, attributes, created_at, version)"
                             " VALUES ('pump-1', 'pump', '{}', '2026-01-01 00:00:00', 1)")
        for ev in ("log-1", "log-2"):
            conn.exec_driver_sql("INSERT INTO evidence (id, asset_id, kind, sha256, text, attributes, created_at)"
                                 f" VALUES ('{ev}', 'pump-1', 'log', '{ev[-1] * 64}', 'seal', '{{}}',"
                                 " '2026-01-01 00:00:00')")
        conn.exec_driver_sql("INSERT INTO evidence_withdrawals (evidence_id, reason, withdrawn_by, withdrawn_at)"
                             " VALUES ('log-1', 'wrong asset', 'ana', '2026-01-02 00:00:00')")
    assert upgrade(engine) == head_revision()
    with Session(engine) as s:
        assert [x.evidence_id for x in load_records(s)[0].logs] == ["log-2"]  # still withdrawn
        assert withdrawals_of(s)["log-1"].reason == "wrong asset"
        reinstate_evidence(s, ["log-1"], reason="undo", by="bo")
        withdraw_evidence(s, ["log-1"], reason="again", by="bo")
        s.commit()
    with Session(engine) as s:
        assert s.execute(sa.select(EvidenceWithdrawal.n).order_by(EvidenceWithdrawal.n)).scalars().all() == [1, 2]
    _downgrade(engine)  # back down: the item withdrawn now keeps its newest withdrawal
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT evidence_id, reason FROM evidence_withdrawals").all() == [
            ("log-1", "again")]
    engine.dispose()


def test_a_0009_store_on_postgresql_is_upgraded_keeping_its_withdrawals(tmp_path: Path) -> None:
    from tests.pg import PG_ENV, pg_url, reset_pg

    from assetgrade.store.engine import head_revision, make_engine, upgrade

    url = pg_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    reset_pg(url)
    engine = make_engine(url)
    try:
        assert upgrade(engine, "0009") == "0009"
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO assets (id, asset_type, attributes, created_at, version)"
                                 " VALUES ('pump-1', 'pump', '{}', '2026-01-01 00:00:00+00', 1)")
            conn.exec_driver_sql("INSERT INTO evidence (id, asset_id, kind, sha256, text, attributes, created_at)"
                                 " VALUES ('log-1', 'pump-1', 'log', '" + "1" * 64 + "', 'seal', '{}',"
                                 " '2026-01-01 00:00:00+00')")
            conn.exec_driver_sql("INSERT INTO evidence_withdrawals (evidence_id, reason, withdrawn_by, withdrawn_at)"
                                 " VALUES ('log-1', 'wrong asset', 'ana', '2026-01-02 00:00:00+00')")
        assert upgrade(engine) == head_revision()
        with Session(engine) as s:
            assert load_records(s)[0].logs == ()
            reinstate_evidence(s, ["log-1"], reason="undo", by="bo")
            withdraw_evidence(s, ["log-1"], reason="again", by="bo")
            s.commit()
        with Session(engine) as s:
            assert s.execute(sa.select(EvidenceWithdrawal.n).order_by(EvidenceWithdrawal.n)).scalars().all() == [1, 2]
            assert load_records(s)[0].logs == ()
        _downgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT evidence_id, reason FROM evidence_withdrawals").all() == [
                ("log-1", "again")]
    finally:
        engine.dispose()
        reset_pg(url)


def test_a_withdrawal_and_a_reinstatement_of_one_item_at_once_on_postgresql_take_turns(tmp_path: Path) -> None:
    # the reinstatement waits on the asset row the withdrawal holds, then finds the item withdrawn and reinstates it;
    # a second withdrawal behind a reinstatement gets withdrawal 2 (no duplicate key, no lost action)
    from tests.pg import PG_ENV, pg_url, reset_pg, run_behind

    url = pg_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    reset_pg(url)
    with Workspace.init(tmp_path / "ws", store_url=url) as w:
        _pump(w)
        with w.session() as s:
            withdraw_evidence(s, ["log-a"], reason="first", by="ana")
            worker, out, waited = run_behind(url, s, lambda: reinstate_evidence(w, ["log-a"], reason="undo", by="bo"))
            assert waited
        worker.join(30)
        assert [r.ended.reason for r in out["value"].reinstated] == ["first"]
        with w.session() as s:
            reinstate_evidence(s, ["log-b"], reason="nothing to undo", by="bo")  # takes pump-1's row
            withdraw_evidence(s, ["log-c"], reason="hold", by="bo")
            worker, out, waited = run_behind(url, s, lambda: withdraw_evidence(w, ["log-a"], reason="again", by="cy"))
            assert waited
        worker.join(30)
        assert [x.reason for x in out["value"].withdrawn] == ["again"]
        with w.session(readonly=True) as s:
            rows = s.execute(sa.select(EvidenceWithdrawal.n).where(EvidenceWithdrawal.evidence_id == "log-a")
                             .order_by(EvidenceWithdrawal.n)).scalars().all()
            assert rows == [1, 2] and sorted(withdrawals_of(s)) == ["log-a", "log-c"] and verify_chain(s).ok
    reset_pg(url)
