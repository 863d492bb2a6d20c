"""A row whose parent comes later in the same input lands once the parent has: the result does not depend on
the order of the rows, and ingesting the same input again changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from assetgrade.ingest import Ingestor, IngestReport, manifest_items
from assetgrade.store.schema import Asset, Provenance
from assetgrade.workspace import Workspace

Counts = Callable[[Workspace], dict[str, int]]

_HEAD = "asset_id,kind,text,evidence_id,parent,origin,grade\n"


def _run(ws: Workspace, path: Path, group_size: int | None = None) -> IngestReport:
    return Ingestor(ws, kind="manifest", source=str(path), group_size=group_size).run(manifest_items(path))


@pytest.mark.parametrize("group_size", [None, 1])
def test_children_listed_before_their_parents_land_in_one_run(ws: Workspace, tmp_path: Path, counts: Counts,
                                                               consistent: Callable[[Workspace], bool],
                                                               group_size: int | None) -> None:
    m = tmp_path / "m.csv"
    m.write_text(_HEAD + "z-2,log,grandchild,ev-c2,ev-c1,augmented,B\n"  # its parent is the next row's item
                         "z-1,log,child,ev-c1,ev-p,augmented,\n"
                         "z-1,log,parent,ev-p,,,\n")
    rep = _run(ws, m, group_size)
    assert rep.ok, rep.errors
    assert rep.added == {"assets": 2, "evidence": 3, "labels": 1} and rep.status == "done"
    with ws.session(readonly=True) as s:
        parents = dict(s.execute(select(Provenance.evidence_id, Provenance.parent_evidence_id)).tuples().all())
    assert parents == {"ev-c2": "ev-c1", "ev-c1": "ev-p", "ev-p": None}
    assert consistent(ws)
    before = counts(ws)
    again = _run(ws, m, group_size)
    assert again.ok and again.added == {"assets": 0, "evidence": 0, "labels": 0} and again.skipped_existing == 3
    assert counts(ws) == before


def test_a_parent_in_no_row_is_still_an_error_naming_the_row(ws: Workspace, tmp_path: Path, counts: Counts) -> None:
    m = tmp_path / "m.csv"
    m.write_text(_HEAD + "y-1,log,orphan child,ev-o,ev-missing,augmented,C\n"
                         "y-2,log,fine,ev-f,,,\n"
                         "y-3,log,child of a bad row,ev-b,ev-bad,augmented,\n"
                         "y-3,log,,ev-bad,,,\n")  # the parent's own row is rejected (no text)
    rep = _run(ws, m, 1)
    assert sorted((e.row, e.field) for e in rep.errors) == [(2, "parent"), (4, "parent"), (5, "path")]
    orphan = next(e for e in rep.errors if e.row == 2)
    assert "'ev-missing'" in orphan.reason and "not stored" in orphan.reason
    assert rep.added == {"assets": 1, "evidence": 1, "labels": 0}
    with ws.session(readonly=True) as s:
        assert list(s.scalars(select(Asset.id))) == ["y-2"]  # a rejected child leaves no asset
    assert _run(ws, m, 1).added == {"assets": 0, "evidence": 0, "labels": 0}
