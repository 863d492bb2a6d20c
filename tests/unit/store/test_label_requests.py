"""Label requests: one round opens requests, a review closes the asset's request, withdrawal, order, audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from assetgrade.errors import ValidationError
from assetgrade.store import add_asset, add_label, add_review, verify_chain
from assetgrade.store.requests import (
    RequestedLabel,
    add_label_requests,
    get_label_request,
    list_label_requests,
    withdraw_label_requests,
)
from assetgrade.store.schema import AuditEvent
from assetgrade.workspace import Workspace


def _assets(ws: Workspace, n: int = 6) -> list[str]:
    ids = [f"lr-{i}" for i in range(n)]
    with ws.session() as s:
        for aid in ids:
            add_asset(s, aid, asset_type="pump")
    return ids


def _round(ids: list[str], chosen_by: str = "typiclust") -> list[RequestedLabel]:
    return [RequestedLabel(asset_id=a, rank=i + 1, chosen_by=chosen_by, predicted_grade="B", confidence=0.4)
            for i, a in enumerate(ids)]


def test_round_opens_requests_in_rank_order_and_skips_labelled_and_unknown(ws: Workspace) -> None:
    ids = _assets(ws)
    with ws.session() as s:
        add_label(s, asset_id=ids[0], kind="grade", value="A")
    with ws.session() as s:
        rep = add_label_requests(s, _round([ids[2], ids[0], ids[1], "nope"]), strategy="budget_switch",
                                 model_version="m1", requested_by="alice")
    assert rep.added == [ids[2], ids[1]]
    assert rep.skipped == {ids[0]: "already has a grade label", "nope": "unknown asset"}
    with ws.session(readonly=True) as s:
        rows, total = list_label_requests(s)
        assert total == 2 and [r.asset_id for r in rows] == [ids[2], ids[1]]  # rank 1 then rank 3
        assert rows[0].strategy == "budget_switch" and rows[0].chosen_by == "typiclust"
        assert rows[0].requested_by == "alice" and rows[0].model_version == "m1"
        assert get_label_request(s, ids[0]) is None
        assert list_label_requests(s, status="done") == ([], 0)


def test_newer_round_comes_first_and_refreshes_open_requests(ws: Workspace) -> None:
    ids = _assets(ws)
    with ws.session() as s:
        add_label_requests(s, _round(ids[:3]), strategy="random", model_version="m1")
    with ws.session() as s:
        rep = add_label_requests(s, _round([ids[4], ids[1]], "uncertain_coreset"), strategy="budget_switch",
                                 model_version="m2")
    assert rep.added == [ids[4]] and rep.refreshed == [ids[1]] and rep.withdrawn == []
    with ws.session(readonly=True) as s:
        rows, total = list_label_requests(s)
        # the second round (ids 4, 1 at ranks 1, 2) first, then what is left of the first (ids 0, 2)
        assert [r.asset_id for r in rows] == [ids[4], ids[1], ids[0], ids[2]] and total == 4
        assert get_label_request(s, ids[1]).model_version == "m2"  # type: ignore[union-attr]


def test_replace_withdraws_earlier_open_requests(ws: Workspace) -> None:
    ids = _assets(ws)
    with ws.session() as s:
        add_label_requests(s, _round(ids[:3]), strategy="random", model_version="m1")
    with ws.session() as s:
        rep = add_label_requests(s, _round([ids[2], ids[5]]), strategy="random", model_version="m2", replace=True)
    assert sorted(rep.withdrawn) == [ids[0], ids[1]] and rep.refreshed == [ids[2]] and rep.added == [ids[5]]
    with ws.session(readonly=True) as s:
        assert [r.asset_id for r in list_label_requests(s)[0]] == [ids[2], ids[5]]
        assert list_label_requests(s, status="withdrawn")[1] == 2


def test_review_closes_the_request_in_its_transaction(ws: Workspace) -> None:
    ids = _assets(ws, 3)
    with ws.session() as s:
        add_label_requests(s, _round(ids), strategy="random", model_version="m1")
    with ws.session() as s:
        rev = add_review(s, ids[1], reviewer="bob", expected_version=1, grade="C")
    with ws.session(readonly=True) as s:
        req = get_label_request(s, ids[1])
        assert req is not None and req.status == "done" and req.review_id == rev.id and req.closed_at is not None
        assert [r.asset_id for r in list_label_requests(s)[0]] == [ids[0], ids[2]]
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
        assert actions.count("label_request.add") == 1 and actions.count("label_request.close") == 1
        assert verify_chain(s).ok
    # a labelled asset is not asked again
    with ws.session() as s:
        rep = add_label_requests(s, _round([ids[1]]), strategy="random", model_version="m2")
    assert rep.skipped == {ids[1]: "already has a grade label"} and rep.added == []


def test_withdraw_some_or_all(ws: Workspace) -> None:
    ids = _assets(ws, 4)
    with ws.session() as s:
        add_label_requests(s, _round(ids), strategy="random", model_version="m1")
    with ws.session() as s:
        assert withdraw_label_requests(s, [ids[3], ids[0], "nope"], actor="carol") == [ids[0], ids[3]]
    with ws.session() as s:
        assert withdraw_label_requests(s) == [ids[1], ids[2]]
        assert withdraw_label_requests(s) == []
    with ws.session(readonly=True) as s:
        assert list_label_requests(s)[1] == 0 and list_label_requests(s, status="withdrawn")[1] == 4
    # a withdrawn request comes back as added when asked again
    with ws.session() as s:
        assert add_label_requests(s, _round([ids[0]]), strategy="random", model_version="m2").added == [ids[0]]


def test_bad_rounds_are_refused_naming_the_item(ws: Workspace) -> None:
    ids = _assets(ws, 2)
    with ws.session() as s, pytest.raises(ValidationError, match=r"lr-0.*listed twice") as err:
        add_label_requests(s, _round([ids[0], ids[1], ids[0]]), strategy="random", model_version="m1")
    assert err.value.where == "items[2].asset_id"
    with ws.session(readonly=True) as s:
        assert list_label_requests(s)[1] == 0
        with pytest.raises(ValidationError, match="status must be one of"):
            list_label_requests(s, status="pending")


def test_an_imported_grade_closes_the_assets_request_in_the_ingest_transaction(ws: Workspace, tmp_path: Path) -> None:
    from assetgrade.ingest import Ingestor, manifest_items

    ids = _assets(ws, 3)
    with ws.session() as s:
        add_label_requests(s, _round(ids), strategy="random", model_version="m1")
    manifest = tmp_path / "grades.csv"
    # a grade for ids[0]; a log without a grade for ids[1]; a bad grade for ids[2] (the row is refused)
    manifest.write_text(f"asset_id,kind,text,grade\n{ids[0]},log,worn bucket teeth,C\n{ids[1]},log,fine,\n"
                        f"{ids[2]},log,fine,Z\n", encoding="utf-8")
    rep = Ingestor(ws, kind="manifest", source=str(manifest)).run(manifest_items(manifest))
    assert rep.added["labels"] == 1 and len(rep.errors) == 1
    with ws.session(readonly=True) as s:
        done = get_label_request(s, ids[0])
        assert done is not None and done.status == "done" and done.closed_at is not None and done.review_id is None
        assert [r.asset_id for r in list_label_requests(s)[0]] == [ids[1], ids[2]]
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "label_request.close")).one()
        assert ev.entity_id == ids[0] and ev.payload["ingest_batch_id"] == rep.batch_id
        assert ev.payload["label_id"]
        assert verify_chain(s).ok
    # ingesting the same file again adds nothing and closes nothing twice
    again = Ingestor(ws, kind="manifest", source=str(manifest)).run(manifest_items(manifest))
    assert again.added["labels"] == 0
    with ws.session(readonly=True) as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "label_request.close")).all()) == 1


def test_an_import_does_not_overwrite_a_request_a_review_closed_meanwhile(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    if ws.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the two transactions cannot interleave")
    import assetgrade.store.requests as requests_mod
    from assetgrade.store.requests import close_label_requests_labelled

    ids = _assets(ws, 1)
    with ws.session() as s:
        add_label_requests(s, _round(ids), strategy="random", model_version="m1")
    real_now = requests_mod.utcnow

    def review_lands_now() -> object:  # runs after the import read the request as open, before it writes
        with ws.session() as other:
            add_review(other, ids[0], reviewer="carol", expected_version=1, grade="B")
        return real_now()

    monkeypatch.setattr(requests_mod, "utcnow", review_lands_now)
    with ws.session() as s:
        assert close_label_requests_labelled(s, {ids[0]: "label-1"}, actor="ingest", ingest_batch_id="b1") == []
    with ws.session(readonly=True) as s:
        row = get_label_request(s, ids[0])
        assert row is not None and row.status == "done" and row.review_id is not None  # the review's close stands
        closes = s.scalars(select(AuditEvent).where(AuditEvent.action == "label_request.close")).all()
        assert [e.payload.get("review_id") is not None for e in closes] == [True]
