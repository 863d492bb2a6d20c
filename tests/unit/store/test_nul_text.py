"""A NUL character (U+0000) in a text written to the store: SQLite stored it, PostgreSQL refused it with a driver
error (the whole write, or the whole ingest, failed). Now both stores refuse it the same way, naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.ingest import Ingestor, manifest_items
from assetgrade.rest import create_token
from assetgrade.store.auth_schema import ApiToken
from assetgrade.store.repository import (
    ProvenanceInfo,
    add_asset,
    add_evidence,
    add_label,
    add_transaction,
    get_asset,
    get_evidence,
)
from assetgrade.store.results import add_review
from assetgrade.store.schema import Asset, Evidence, Label, Review, Transaction
from assetgrade.workspace import Workspace

NUL = "\x00"

_EVIDENCE = [
    ("text", {"text": f"bearing{NUL} noisy"}),
    ("media_type", {"text": "ok", "media_type": f"text/plain{NUL}"}),
    ("attributes.site", {"text": "ok", "attributes": {"site": f"north{NUL}"}}),
    ("attributes", {"text": "ok", "attributes": {f"si{NUL}te": 1}}),
    ("source", {"text": "ok", "provenance": ProvenanceInfo(source=f"cam{NUL}")}),
    ("generator_params.seed", {"text": "ok", "provenance": ProvenanceInfo(generator_params={"seed": f"1{NUL}"})}),
    ("device", {"text": "ok", "provenance": ProvenanceInfo(device=NUL)}),
]


def _count(ws: Workspace, table: Any) -> int:
    with ws.session(readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.parametrize(("where", "kw"), _EVIDENCE, ids=[w for w, _ in _EVIDENCE])
def test_add_evidence_refuses_a_nul_naming_the_field_on_both_stores(store_ws: Workspace, where: str,
                                                                    kw: dict[str, Any]) -> None:
    with store_ws.session() as s:
        add_asset(s, "pump-1")
    with pytest.raises(ValidationError, match="U\\+0000") as info, store_ws.session() as s:
        add_evidence(s, asset_id="pump-1", kind="log", sha256="0" * 64, **kw)
    assert info.value.where == where
    assert _count(store_ws, Evidence) == 0


def test_other_user_texts_refuse_a_nul_on_both_stores(store_ws: Workspace) -> None:
    with store_ws.session() as s:
        add_asset(s, "pump-1")
    writes: list[tuple[str, Any]] = [
        ("asset_type", lambda s: add_asset(s, "pump-2", asset_type=f"pump{NUL}")),
        ("make", lambda s: add_asset(s, "pump-2", make=f"KSB{NUL}")),
        ("attributes.site[1]", lambda s: add_asset(s, "pump-2", attributes={"site": ["a", f"b{NUL}"]})),
        ("annotator", lambda s: add_label(s, asset_id="pump-1", kind="grade", value="B", annotator=f"bob{NUL}")),
        ("severity", lambda s: add_label(s, asset_id="pump-1", kind="defect", value="rust", severity=NUL)),
        ("note", lambda s: add_review(s, "pump-1", reviewer="alice", expected_version=1, grade="B",
                                      note=f"rust{NUL}")),
        ("reviewer", lambda s: add_review(s, "pump-1", reviewer=f"alice{NUL}", expected_version=1, grade="B")),
        ("defects[0].severity", lambda s: add_review(s, "pump-1", reviewer="alice", expected_version=1,
                                                     defects=[{"id": "rust", "severity": f"x{NUL}"}])),
        ("currency", lambda s: add_transaction(s, "pump-1", kind="sale", amount=1.0, currency=f"U{NUL}D")),
        ("name", lambda s: create_token(s, name=f"carol{NUL}", role="reviewer")),
    ]
    for where, write in writes:
        with pytest.raises(ValidationError, match="U\\+0000") as info, store_ws.session() as s:
            write(s)
        assert info.value.where == where, (where, info.value)
    assert _count(store_ws, Asset) == 1
    for table in (Label, Review, Transaction, ApiToken):
        assert _count(store_ws, table) == 0, table
    with store_ws.session(readonly=True) as s:  # PostgreSQL refused even to look such an id up
        with pytest.raises(NotFoundError, match="U\\+0000"):
            get_asset(s, f"pump-1{NUL}")
        with pytest.raises(NotFoundError, match="U\\+0000"):
            get_evidence(s, f"ev{NUL}")


def test_a_manifest_with_nul_texts_reports_those_rows_and_ingests_the_rest(store_ws: Workspace,
                                                                          tmp_path: Path) -> None:
    (tmp_path / "binary.txt").write_bytes(b"bearing noisy\nrest\x00of it\n")
    (tmp_path / "doc.txt").write_bytes(b"page one\x00page two")
    rows = [
        {"asset_id": "a-1", "kind": "log", "text": "bearing noisy"},
        {"asset_id": "a-2", "kind": "log", "text": f"x{NUL}y"},
        {"asset_id": "a-3", "kind": "log", "path": "binary.txt"},
        {"asset_id": "a-4", "kind": "log", "text": "fine", "asset_type": f"pu{NUL}mp"},
        {"asset_id": "a-5", "kind": "log", "text": "fine", "device": f"cam{NUL}"},
        {"asset_id": "a-6", "kind": "log", "text": "fine", "grade": "B", "annotator": f"bob{NUL}"},
        {"asset_id": "a-7", "kind": "document", "path": "doc.txt"},
    ]
    m = tmp_path / "m.jsonl"
    m.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    rep = Ingestor(store_ws, kind="manifest", source="m").run(manifest_items(m))
    assert rep.status == "done_with_errors"
    got = {(e.row, e.field): e.reason for e in rep.errors}
    assert set(got) == {(2, "text"), (3, "path"), (4, "asset_type"), (5, "device"), (6, "annotator")}, got
    assert all(e.file == str(m) for e in rep.errors)
    assert "binary.txt: line 2 holds a NUL byte" in got[(3, "path")]
    assert all("U+0000" in r for k, r in got.items() if k != (3, "path"))
    assert rep.added == {"assets": 2, "evidence": 2, "labels": 0}
    with store_ws.session(readonly=True) as s:
        stored = {e.asset_id: e for e in s.execute(select(Evidence)).scalars()}
        assert set(stored) == {"a-1", "a-7"}
        assert stored["a-1"].text == "bearing noisy"
        doc = stored["a-7"]  # a document holding a NUL byte is no text: kept as it is, a blob
        assert doc.text is None and doc.blob_sha is not None
        assert store_ws.blobs.get_bytes(doc.blob_sha) == b"page one\x00page two"


def test_a_path_holding_a_nul_is_an_error_on_its_row_not_a_crash(store_ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("bearing noisy\n")
    m = tmp_path / "m.jsonl"
    m.write_text("\n".join(json.dumps(r) for r in [{"asset_id": "a-1", "kind": "log", "path": f"a{NUL}.txt"},
                                                   {"asset_id": "a-2", "kind": "log", "path": "a.txt"}]) + "\n")
    rep = Ingestor(store_ws, kind="manifest", source="m").run(manifest_items(m))  # was ValueError: embedded null byte
    [err] = rep.errors
    assert (err.row, err.field) == (1, "path") and "U+0000" in err.reason
    assert rep.added["evidence"] == 1
