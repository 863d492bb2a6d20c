"""Repository functions on SQLite and PostgreSQL: idempotent adds, conflicts, reviews with versions, audit per write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from assetgrade.errors import ConflictError, NotFoundError, ValidationError
from assetgrade.store import (
    ProvenanceInfo,
    add_asset,
    add_evidence,
    add_label,
    add_prediction,
    add_review,
    add_transaction,
    get_asset,
    get_provenance,
    latest_prediction,
    list_assets,
    list_labels,
    list_reviews,
    list_transactions,
    verify_chain,
)
from assetgrade.store.results import latest_graded_inputs
from assetgrade.store.schema import AuditEvent
from assetgrade.workspace import Workspace


def _events(ws: Workspace) -> int:
    with ws.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_assets_idempotent_and_conflicting(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "pump-7", asset_type="pump", make="KSB", value=12000.0)
    n = _events(ws)
    with ws.session() as s:
        add_asset(s, "pump-7", asset_type="pump", make="KSB", value=12000.0)  # same: no-op
    assert _events(ws) == n
    with ws.session() as s, pytest.raises(ConflictError, match="make"):
        add_asset(s, "pump-7", asset_type="pump", make="Grundfos", value=12000.0)
    with ws.session(readonly=True) as s:
        assert [a.id for a in list_assets(s)] == ["pump-7"]
        assert get_asset(s, "pump-7").version == 1
        with pytest.raises(NotFoundError):
            get_asset(s, "nope")
    for bad in (float("nan"), float("inf"), -5000.0):  # would silently fall back to the default asset value
        with ws.session() as s, pytest.raises(ValidationError, match="must be a finite number >= 0"):
            add_asset(s, f"pump-{bad}", value=bad)
    for bad_id in ("pump/reviews", "x/grade"):  # the REST API could not address it
        with ws.session() as s, pytest.raises(ValidationError, match="reads as /assets/<id>/"):
            add_asset(s, bad_id)
    for bad_id in ("x/../pump-7", "./pump-8", "site/.", ".."):  # a URL resolves the segment away: another asset
        with ws.session() as s, pytest.raises(ValidationError, match=r"'\.' or '\.\.' path segment"):
            add_asset(s, bad_id)
    with ws.session() as s:
        add_asset(s, "v1.2/pump..9")  # dots inside a segment are an ordinary id
    # NUL cannot be stored in PostgreSQL text, a lone surrogate in no UTF-8, a line break splits log lines and CSV
    for bad_id, code, at in (("a\x00b", "0000", 1), ("pump\n7", "000A", 4), ("\udcff", "DCFF", 0),
                             ("x\x1b[31m", "001B", 1), ("p\x85", "0085", 1)):
        with ws.session() as s, pytest.raises(ValidationError, match=f"control character U\\+{code} at position {at}"):
            add_asset(s, bad_id)
    with ws.session() as s, pytest.raises(ValidationError, match=r"evidence id .* control character U\+0009"):
        add_evidence(s, asset_id="v1.2/pump..9", kind="log", sha256="0" * 64, text="ok", evidence_id="log\t1")
    with ws.session() as s:
        add_asset(s, "pompe-\u00e9t\u00e9/\u6cf5 7")  # letters of any script and spaces are fine


def test_evidence_with_provenance_and_conflict(ws: Workspace) -> None:
    sha = ws.blobs.put_bytes(b"img")
    with ws.session() as s:
        add_asset(s, "a1")
        ev = add_evidence(s, asset_id="a1", kind="image", sha256=sha, blob_sha=sha, evidence_id="e1",
                          provenance=ProvenanceInfo(source="cam", origin="synthetic", generator="diffusion-x",
                                                    generator_params={"seed": 3},
                                                    capture_time=datetime(2024, 1, 2, tzinfo=UTC)))
        assert ev.id == "e1"
    with ws.session() as s:
        p = get_provenance(s, "e1")
        assert (p.origin, p.generator, p.generator_params, p.sha256) == ("synthetic", "diffusion-x", {"seed": 3}, sha)
        with pytest.raises(ConflictError):
            add_evidence(s, asset_id="a1", kind="image", sha256="0" * 64, blob_sha=sha, evidence_id="e1")
        with pytest.raises(ValidationError, match="origin"):
            add_evidence(s, asset_id="a1", kind="image", sha256=sha, blob_sha=sha,
                         provenance=ProvenanceInfo(origin="fake"))


def test_failed_write_rolls_back_with_its_audit_event(ws: Workspace) -> None:
    n = _events(ws)
    with pytest.raises(RuntimeError), ws.session() as s:
        add_asset(s, "ghost")
        raise RuntimeError("crash mid-transaction")
    with ws.session(readonly=True) as s:
        assert list_assets(s) == []
    assert _events(ws) == n


def test_labels_transactions_predictions(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "a1")
        add_label(s, asset_id="a1", kind="grade", value="B")
        add_label(s, asset_id="a1", kind="grade", value="B")  # same label: once
        add_evidence(s, asset_id="a1", kind="log", sha256="0" * 64, text="dent", evidence_id="e-dent")
        add_label(s, asset_id="a1", evidence_id="e-dent", kind="defect", value="dent", severity="minor")
        with pytest.raises(ConflictError, match=r"other severity \('minor', not 'severe'\)"):
            add_label(s, asset_id="a1", evidence_id="e-dent", kind="defect", value="dent", severity="severe")
        with pytest.raises(ValidationError, match="box"):
            add_label(s, asset_id="a1", kind="defect", value="dent", box=[5, 5, 1, 1])
        add_transaction(s, "a1", kind="sale", amount=900.5, currency="eur", date=datetime(2024, 5, 1, tzinfo=UTC))
        with pytest.raises(ValidationError):
            add_transaction(s, "a1", kind="gift", amount=1.0)
        pred = add_prediction(s, "a1", model_version="m1", grade="B", distribution={"A": 0.2, "B": 0.8},
                              conformal_set=["A", "B"], decision="review", expected_cost=3.5)
    with ws.session(readonly=True) as s:
        assert sorted((lb.value, lb.severity or "") for lb in list_labels(s, "a1")) == [("B", ""), ("dent", "minor")]
        tx = list_transactions(s, "a1")
        assert tx[0].currency == "EUR" and tx[0].amount == pytest.approx(900.5)
        latest = latest_prediction(s, "a1")
        assert latest is not None and latest.id == pred.id and latest.distribution["B"] == pytest.approx(0.8)
        assert latest_graded_inputs(s, ["a1", "nobody"]) == {"a1": ("m1", None)}
    with ws.session() as s:
        add_asset(s, "a2")
        for h in ("h-old", "h-new"):
            add_prediction(s, "a2", model_version="m2", grade="A", distribution={"A": 1.0}, conformal_set=["A"],
                           decision="accept", payload={"versions": {"inputs": h}})
    with ws.session(readonly=True) as s:
        assert latest_graded_inputs(s, ["a1", "a2"]) == {"a1": ("m1", None), "a2": ("m2", "h-new")}


def test_review_optimistic_concurrency(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "a1")
        add_label(s, asset_id="a1", kind="grade", value="A")
    with ws.session() as s:
        r = add_review(s, "a1", reviewer="ana", expected_version=1, grade="C",
                       defects=[{"id": "corrosion", "severity": "moderate"}], note="rust on flange")
        assert r.status == "submitted"
    with ws.session() as s:
        assert get_asset(s, "a1").version == 2
    with pytest.raises(ConflictError, match="version 2"), ws.session() as s:
        add_review(s, "a1", reviewer="bob", expected_version=1, grade="A")  # stale
    with ws.session(readonly=True) as s:
        assert len(list_reviews(s, "a1")) == 1
        labels = list_labels(s, "a1")
        assert {(lb.kind, lb.value, lb.source) for lb in labels} == {
            ("grade", "A", "import"), ("grade", "C", "review"), ("defect", "corrosion", "review")}
        assert verify_chain(s).ok
