"""Withdrawing evidence: kept in the store and the audit trail, left out of what models, grades and counts read."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from PIL import Image

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.store import add_asset, add_evidence, add_label, load_records, stats, verify_chain
from assetgrade.store.audit import list_events
from assetgrade.store.schema import Asset, Evidence, EvidenceWithdrawal, Provenance
from assetgrade.store.withdrawals import MAX_REASON, withdraw_evidence, withdrawals_of
from assetgrade.workspace import Workspace


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def _parquet() -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"temp": [1.0, 2.0]}, index=pd.Index([0.0, 1.0], name="t")).to_parquet(buf)
    return buf.getvalue()


def _pump(ws: Workspace) -> dict[str, str]:
    """pump-1 with two images (a box on each), two log entries and two series; pump-2 with one log entry."""
    png, other = _png(), _png()[:-1] + b"\x01"
    shas = {"png": ws.blobs.put_bytes(png), "png2": ws.blobs.put_bytes(other), "ser": ws.blobs.put_bytes(_parquet())}
    with ws.session() as s:
        add_asset(s, "pump-1", asset_type="pump")
        add_asset(s, "pump-2", asset_type="pump")
        for ev in ("img-ok", "img-wrong"):
            sha = shas["png"] if ev == "img-ok" else shas["png2"]
            add_evidence(s, asset_id="pump-1", kind="image", sha256=sha, blob_sha=sha, evidence_id=ev)
            add_label(s, asset_id="pump-1", evidence_id=ev, kind="defect", value="dent" if ev == "img-ok" else "crack",
                      box=[1, 1, 4, 4])
        for ev, text in (("log-ok", "replaced seal"), ("log-wrong", "pump-2's bearing")):
            add_evidence(s, asset_id="pump-1", kind="log", sha256=ev.ljust(64, "0"), text=text, evidence_id=ev)
        add_evidence(s, asset_id="pump-1", kind="series", sha256=shas["ser"], blob_sha=shas["ser"],
                     evidence_id="ser-ok", attributes={"sampling_rate_hz": 1.0})
        add_evidence(s, asset_id="pump-1", kind="series", sha256="9" * 64, blob_sha=shas["ser"],
                     evidence_id="ser-dup", attributes={"sampling_rate_hz": 1.0})
        add_evidence(s, asset_id="pump-2", kind="log", sha256="8" * 64, text="oil changed", evidence_id="p2-log")
        add_label(s, asset_id="pump-1", kind="grade", value="B")
    return shas


def _ids(rec: object, part: str) -> list[str]:
    return [x.evidence_id for x in getattr(rec, part)]


def test_withdrawn_image_log_and_series_are_left_out_of_load_records_with_the_boxes(ws: Workspace) -> None:
    _pump(ws)
    before = load_records(ws, ["pump-1"])[0]
    assert (_ids(before, "images"), _ids(before, "logs"), _ids(before, "series")) == (
        ["img-ok", "img-wrong"], ["log-ok", "log-wrong"], ["ser-dup", "ser-ok"])
    rep = withdraw_evidence(ws, ["img-wrong", "log-wrong", "ser-dup"], reason="attached to the wrong asset", by="ana")
    assert [w.evidence_id for w in rep.withdrawn] == ["img-wrong", "log-wrong", "ser-dup"] and rep.already == []
    rec = load_records(ws, ["pump-1"])[0]
    assert (_ids(rec, "images"), _ids(rec, "logs"), _ids(rec, "series")) == (["img-ok"], ["log-ok"], ["ser-ok"])
    # the box drawn on the withdrawn image went with it; the other image keeps its own
    assert [img.boxes for img in rec.images] == [(("dent", (1.0, 1.0, 4.0, 4.0)),)]
    assert rec.grade == "B" and _ids(load_records(ws, ["pump-2"])[0], "logs") == ["p2-log"]
    # nothing was deleted: rows, provenance and blobs stay
    with ws.session(readonly=True) as s:
        for ev in ("img-wrong", "log-wrong", "ser-dup"):
            row = s.get(Evidence, ev)
            assert row is not None and s.get(Provenance, ev) is not None
            if row.blob_sha:
                assert ws.blobs.exists(row.blob_sha)
        st = stats(s)
    assert st["totals"]["evidence"] == 4 and st["totals"]["withdrawn"] == 3
    assert st["modality"] == {"image": 1, "log": 2, "series": 1} and st["origin"] == {"real": 4}
    assert st["defect"] == {"dent": 1}  # the crack was drawn on the withdrawn image


def test_a_withdrawal_is_audited_in_the_same_transaction_and_raises_the_asset_version(ws: Workspace) -> None:
    _pump(ws)
    with ws.session(readonly=True) as s:
        version = s.get(Asset, "pump-1").version  # type: ignore[union-attr]
    rep = withdraw_evidence(ws, ["img-wrong", "log-wrong"], reason="pump-2's photo", by="ana", actor="cli-user")
    assert rep.asset_versions == {"pump-1": version + 1}  # a review against the asset as it was is stale
    with ws.session(readonly=True) as s:
        events = list_events(s, action="evidence.withdraw")
        assert [(e.entity, e.entity_id, e.actor) for e in events] == [
            ("evidence", "img-wrong", "cli-user"), ("evidence", "log-wrong", "cli-user")]
        assert events[0].payload == {"asset_id": "pump-1", "reason": "pump-2's photo", "by": "ana",
                                     "asset_version": version + 1}
        assert verify_chain(s).ok
        gone = withdrawals_of(s)
    assert sorted(gone) == ["img-wrong", "log-wrong"]
    assert (gone["img-wrong"].reason, gone["img-wrong"].by) == ("pump-2's photo", "ana")
    assert str(gone["img-wrong"]).startswith("withdrawn on 20") and str(gone["img-wrong"]).endswith(
        "by ana: pump-2's photo")


def test_a_second_withdrawal_changes_nothing_and_says_so(ws: Workspace) -> None:
    _pump(ws)
    first = withdraw_evidence(ws, ["img-wrong"], reason="wrong asset", by="ana")
    with ws.session(readonly=True) as s:
        n_events = verify_chain(s).n_events
        version = s.get(Asset, "pump-1").version  # type: ignore[union-attr]
    again = withdraw_evidence(ws, ["img-wrong", "img-wrong"], reason="another reason", by="bo")
    assert again.withdrawn == [] and again.asset_versions == {}
    assert [(w.evidence_id, w.reason, w.by, w.at) for w in again.already] == [
        ("img-wrong", "wrong asset", "ana", first.withdrawn[0].at)]
    # with a new id beside it: the new one goes through, the old one is reported
    mixed = withdraw_evidence(ws, ["img-wrong", "log-wrong"], reason="another reason", by="bo")
    assert [w.evidence_id for w in mixed.withdrawn] == ["log-wrong"]
    assert [w.evidence_id for w in mixed.already] == ["img-wrong"]
    with ws.session(readonly=True) as s:
        assert verify_chain(s).n_events == n_events + 1  # one event, for log-wrong
        assert s.get(Asset, "pump-1").version == version + 1  # type: ignore[union-attr]
        assert withdrawals_of(s, ["img-wrong"])["img-wrong"].reason == "wrong asset"


def test_an_unknown_id_is_named_and_nothing_is_withdrawn(ws: Workspace) -> None:
    _pump(ws)
    with pytest.raises(NotFoundError, match=r"evidence not found: 'no-such', 'nul\\x00id'; nothing was withdrawn"):
        withdraw_evidence(ws, ["img-wrong", "no-such", "nul\x00id"], reason="wrong asset", by="ana")
    with ws.session(readonly=True) as s:
        assert withdrawals_of(s) == {}
        assert list_events(s, action="evidence.withdraw") == []
    assert "img-wrong" in _ids(load_records(ws, ["pump-1"])[0], "images")


@pytest.mark.parametrize(("reason", "by", "message"), [
    ("", "ana", "reason: the reason must not be empty"),
    ("   ", "ana", "reason: the reason must not be empty"),
    ("a" * (MAX_REASON + 1), "ana", f"reason: the reason has {MAX_REASON + 1:,} characters; at most {MAX_REASON:,}"),
    ("wrong\nasset", "ana", "reason: the reason 'wrong\\nasset' holds the control character U+000A at position 5"),
    ("wrong\tasset", "ana", "U+0009 at position 5"),
    ("wrong\x00", "ana", "reason: 'wrong\\x00' holds the NUL character U+0000"),
    ("bad \ud800", "ana", "lone surrogate"),
    (None, "ana", "reason: the reason must be text, got NoneType"),
    ("wrong asset", "", "by: the name of who withdraws must not be empty"),
    ("wrong asset", "a" * 201, "by: the name of who withdraws has 201 characters; at most 200"),
    ("wrong asset", "ana\x1b[31m", "by: the name of who withdraws 'ana\\x1b[31m' holds the control character U+001B"),
])
def test_the_reason_and_who_are_one_line_of_printable_text(tmp_path: Path, reason: object, by: str,
                                                           message: str) -> None:
    w = Workspace.init(tmp_path / "ws")
    with w:
        _pump(w)
        with pytest.raises(ValidationError) as info:
            withdraw_evidence(w, ["img-wrong"], reason=reason, by=by)  # type: ignore[arg-type]
        assert message in str(info.value)
        with w.session(readonly=True) as s:
            assert withdrawals_of(s) == {}


def test_no_ids_or_a_string_is_refused(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as w:
        with pytest.raises(ValidationError, match="no evidence id given"):
            withdraw_evidence(w, [], reason="x", by="ana")
        with pytest.raises(ValidationError, match="a list of ids, got the string 'img-wrong'"):
            withdraw_evidence(w, "img-wrong", reason="x", by="ana")


def test_the_reason_is_stored_stripped(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as w:
        _pump(w)
        rep = withdraw_evidence(w, ["img-wrong"], reason="  wrong asset ", by=" ana ")
        assert (rep.withdrawn[0].reason, rep.withdrawn[0].by) == ("wrong asset", "ana")


def test_the_grade_inputs_change_and_the_stored_prediction_stays(ws: Workspace) -> None:
    from assetgrade.grading.cache import asset_input_hash
    from assetgrade.store.results import add_prediction, list_predictions

    _pump(ws)
    before = asset_input_hash(load_records(ws, ["pump-1"])[0])
    with ws.session() as s:
        add_prediction(s, "pump-1", model_version="m1", grade="B", distribution={"B": 1.0}, conformal_set=["B"],
                       decision="accept", payload={"inputs": before})
    withdraw_evidence(ws, ["ser-dup"], reason="the same file twice", by="ana")
    after = asset_input_hash(load_records(ws, ["pump-1"])[0])
    assert after != before
    with ws.session(readonly=True) as s:
        preds = list_predictions(s, "pump-1")
    assert [p.payload["inputs"] for p in preds] == [before]  # history keeps what that grade used


def test_batch_planning_composition_and_the_evidence_sample_leave_it_out(ws: Workspace) -> None:
    from assetgrade.batch.planning import asset_inputs, evidence_by_asset
    from assetgrade.lifecycle.exports import data_composition
    from assetgrade.store.evidence_sample import sample_evidence

    _pump(ws)
    with ws.session(readonly=True) as s:
        plan_before = {a: asset_inputs(h) for a, h in evidence_by_asset(s, None)}
    withdraw_evidence(ws, ["img-wrong", "ser-dup"], reason="wrong asset", by="ana")
    with ws.session(readonly=True) as s:
        everyone = dict(evidence_by_asset(s, None))
        named = dict(evidence_by_asset(s, ["pump-1"]))
        comp = data_composition(s)
        sample = sample_evidence(s, "pump-1", {"image": 5})
        ev = dict(s.execute(sa.select(Evidence.id, Evidence.sha256)).tuples().all())
    kept = [ev[i] for i in ("img-ok", "log-ok", "log-wrong", "ser-ok")]
    assert everyone["pump-1"] == kept and named["pump-1"] == kept
    # the batch's input hash changes, so a batch run grades the asset again
    assert asset_inputs(everyone["pump-1"]) != plan_before["pump-1"]
    assert asset_inputs(everyone["pump-2"]) == plan_before["pump-2"]
    assert comp["origin_by_modality"] == {"image": {"real": 1}, "log": {"real": 3}, "series": {"real": 1}}
    assert comp["totals"]["withdrawn"] == 2
    assert [e.id for e, _ in sample.rows] == ["img-ok", "log-ok", "log-wrong", "ser-ok"]
    assert sample.totals == {"image": 1, "log": 2, "series": 1}


def test_a_golden_asset_whose_evidence_is_withdrawn_no_longer_verifies(tmp_path: Path) -> None:
    from assetgrade.lifecycle.golden import freeze_golden_set, verify_golden_set

    with Workspace.init(tmp_path / "ws") as w:
        _pump(w)
        with w.session() as s:
            s.get(Asset, "pump-1").attributes = {"expert_labelled": True}  # type: ignore[union-attr]
        with w.session() as s:
            gs = freeze_golden_set(s, ["pump-1"], name="g")
        withdraw_evidence(w, ["log-wrong"], reason="pump-2's entry", by="ana")
        with w.session(readonly=True) as s:
            check = verify_golden_set(s, gs)
        # load_records grades pump-1 without it now: the frozen figures would be on other inputs
        assert not check.ok and check.problems == (("pump-1", "evidence changed: log-wrong"),)


def test_an_older_sqlite_store_is_upgraded_and_keeps_its_evidence_in_use(tmp_path: Path) -> None:
    from assetgrade.store.engine import head_revision, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert upgrade(engine, "0008") == "0008"
    with engine.begin() as conn:
        assert "evidence_withdrawals" not in sa.inspect(conn).get_table_names()
        conn.exec_driver_sql("INSERT INTO assets (id, asset_type, attributes, created_at, version)"
                             " VALUES ('pump-1', 'pump', '{}', '2026-01-01 00:00:00', 1)")
        conn.exec_driver_sql("INSERT INTO evidence (id, asset_id, kind, sha256, text, attributes, created_at)"
                             " VALUES ('log-1', 'pump-1', 'log', '" + "1" * 64 + "', 'seal', '{}',"
                             " '2026-01-01 00:00:00')")
    assert upgrade(engine) == head_revision()
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        assert [r.logs[0].evidence_id for r in load_records(s)] == ["log-1"]
        rep = withdraw_evidence(s, ["log-1"], reason="another machine's", by="ana")
        s.commit()
    assert [w.evidence_id for w in rep.withdrawn] == ["log-1"]
    with Session(engine) as s:
        assert load_records(s)[0].logs == ()
        assert s.execute(sa.select(EvidenceWithdrawal.reason)).scalar_one() == "another machine's"
    engine.dispose()


def test_ingesting_withdrawn_content_again_stores_nothing_and_says_when_and_why(ws: Workspace) -> None:
    from assetgrade.ingest import Ingestor, ItemSpec
    from assetgrade.ingest.items import LabelSpec

    def item(grade: str) -> ItemSpec:
        return ItemSpec(where="wo.csv", asset_id="pump-7", kind="log", text="pump-9's bearing replaced",
                        source_key="wo-17", file="wo.csv", row=3, labels=[LabelSpec("grade", grade)])

    first = Ingestor(ws, kind="doc", source="wo.csv").run([item("B")])
    assert first.added["evidence"] == 1
    eid = load_records(ws, ["pump-7"])[0].logs[0].evidence_id
    withdraw_evidence(ws, [eid], reason="pump-9's work order", by="ana")
    with ws.session(readonly=True) as s:
        n_rows = len(list_events(s, action="ingest.rows"))
        version = s.get(Asset, "pump-7").version  # type: ignore[union-attr]
    again = Ingestor(ws, kind="doc", source="wo.csv").run([item("C")])
    assert again.ok and again.added == {"assets": 0, "evidence": 0, "labels": 0} and again.skipped_existing == 1
    said = [str(n) for n in again.notices]
    assert len(said) == 1 and said[0].startswith(f"wo.csv:row 3: {eid}: the same content was withdrawn on 20")
    assert said[0].endswith("by ana: pump-9's work order; stored nothing (its labels neither)")
    rec = load_records(ws, ["pump-7"])[0]
    assert rec.logs == () and rec.grade == "B"  # neither resurrected nor its row's new grade stored
    with ws.session(readonly=True) as s:
        assert len(list_events(s, action="ingest.rows")) == n_rows  # no rows were written
        assert verify_chain(s).ok
        assert s.get(Asset, "pump-7").version == version  # type: ignore[union-attr]
        assert sorted(withdrawals_of(s)) == [eid]


def test_a_withdrawn_stored_series_is_no_overlap_for_a_later_file(ws: Workspace, tmp_path: Path) -> None:
    from assetgrade.ingest import Ingestor, SeriesOptions, series_items

    def log(name: str, hours: int) -> Path:
        rows = "".join(f"2024-04-01T{h:02d}:00:00,{20 + h % 7}.5\n" for h in range(hours))
        (tmp_path / name).write_text("time,temp\n" + rows, encoding="utf-8")
        return tmp_path / name

    def ingest(path: Path) -> list[str]:
        rep = Ingestor(ws, kind="series", source="test").run(series_items([path], SeriesOptions(), asset_id="pump-7"))
        assert rep.ok and rep.added["evidence"] == 1
        return [str(n) for n in rep.notices]

    assert ingest(log("a.csv", 12)) == []
    assert any("overlap" in n for n in ingest(log("b.csv", 18)))  # shown, and withdrawn below
    for rec in load_records(ws, ["pump-7"]):
        withdraw_evidence(ws, [s.evidence_id for s in rec.series], reason="exported twice", by="ana")
    assert ingest(log("c.csv", 24)) == []


@pytest.mark.postgres
def test_two_withdrawals_of_one_item_at_once_on_postgresql_take_turns(tmp_path: Path) -> None:
    # the second waits on the asset row the first holds, then finds the item withdrawn (no duplicate-key crash)
    from tests.pg import PG_ENV, pg_url, reset_pg, run_behind

    url = pg_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    reset_pg(url)
    with Workspace.init(tmp_path / "ws", store_url=url) as w:
        _pump(w)
        with w.session() as s:
            withdraw_evidence(s, ["img-wrong"], reason="first", by="ana")
            worker, out, waited = run_behind(
                url, s, lambda: withdraw_evidence(w, ["img-wrong", "log-wrong"], reason="second", by="bo"))
            assert waited
        worker.join(30)
        rep = out["value"]
        assert [(a.evidence_id, a.reason) for a in rep.already] == [("img-wrong", "first")]
        assert [a.evidence_id for a in rep.withdrawn] == ["log-wrong"]
        with w.session(readonly=True) as s:
            assert verify_chain(s).ok and len(list_events(s, action="evidence.withdraw")) == 2
    reset_pg(url)
