"""JSON manifests: a key given twice and values of the wrong JSON type are errors naming the row and field,
not a silent choice; the other rows go in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from assetgrade.errors import IngestError
from assetgrade.ingest import Ingestor, IngestReport, manifest_items
from assetgrade.store.schema import Asset, Evidence, Label, Provenance
from assetgrade.workspace import Workspace


def _run(ws: Workspace, path: Path) -> IngestReport:
    return Ingestor(ws, kind="manifest", source=str(path)).run(manifest_items(path))


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_key_given_twice_rejects_its_row(ws: Workspace, tmp_path: Path, suffix: str) -> None:
    rows = ['{"asset_id": "d-1", "kind": "log", "text": "worn belt", "asset_id": "d-2"}',
            '{"asset_id": "d-3", "kind": "log", "text": "ok", "grade": "A", "grade": "D"}',
            '{"asset_id": "d-4", "kind": "log", "text": "fine"}']
    m = tmp_path / f"m{suffix}"
    m.write_text("[" + ",\n".join(rows) + "]" if suffix == ".json" else "\n".join(rows) + "\n")
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(1, "asset_id"), (2, "grade")]
    assert "given more than once" in rep.errors[0].reason and "('d-1' and 'd-2')" in rep.errors[0].reason
    assert rep.added == {"assets": 1, "evidence": 1, "labels": 0}
    with ws.session(readonly=True) as s:
        assert list(s.scalars(select(Asset.id))) == ["d-4"]  # neither d-1 nor d-2 was guessed


def test_a_key_given_twice_in_generator_params_rejects_its_row(ws: Workspace, tmp_path: Path) -> None:
    m = tmp_path / "m.jsonl"
    m.write_text('{"asset_id": "g-1", "kind": "log", "text": "a", "generator_params": {"seed": 1, "seed": 2}}\n')
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(1, "generator_params")] and "seed" in rep.errors[0].reason


def test_items_given_twice_at_the_top_is_a_file_error(tmp_path: Path) -> None:
    m = tmp_path / "m.json"
    m.write_text('{"items": [{"asset_id": "a", "kind": "log", "text": "x"}], "items": []}')
    with pytest.raises(IngestError, match="'items' is given more than once"):
        list(manifest_items(m))


@pytest.mark.parametrize(("key", "value"), [
    ("text", {"a": 1}), ("text", ["worn"]), ("text", True), ("annotator", ["ann"]), ("severity", {"x": 1}),
    ("source", True), ("device", [1]), ("parent", {"id": "x"}), ("media_type", ["text/plain"]),
    ("generator", False), ("generator_params", [1, 2]), ("generator_params", "[1, 2]"), ("generator_params", 3),
])
def test_a_value_of_the_wrong_json_type_rejects_its_row(ws: Workspace, tmp_path: Path, key: str,
                                                        value: object) -> None:
    row = {"asset_id": "w-1", "kind": "log", "text": "belt worn", "grade": "B", key: value}
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps(row) + "\n" + json.dumps({"asset_id": "w-2", "kind": "log", "text": "ok"}) + "\n")
    rep = _run(ws, m)
    assert [(e.row, e.field) for e in rep.errors] == [(1, key)], rep.errors
    assert rep.added["evidence"] == 1
    with ws.session(readonly=True) as s:
        assert s.get(Asset, "w-1") is None and not list(s.scalars(select(Label)))


def test_numbers_are_still_read_where_text_is_expected(ws: Workspace, tmp_path: Path) -> None:
    m = tmp_path / "m.jsonl"
    m.write_text('{"asset_id": 7, "kind": "log", "text": 42, "device": 3, "cost": 12.5}\n')
    rep = _run(ws, m)
    assert rep.ok, rep.errors
    with ws.session(readonly=True) as s:
        ev = s.scalars(select(Evidence)).one()
        assert (ev.asset_id, ev.text, ev.attributes["cost"]) == ("7", "42", 12.5)
        assert s.scalars(select(Provenance.device)).one() == "3"
