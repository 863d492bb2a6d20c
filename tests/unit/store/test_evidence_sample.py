"""sample_evidence: an asset's evidence a few per group read with LIMIT, equal to picking from every row in Python.

The reference below is the asset page's former rule, applied to all rows read whole: per group,
the named ids first, then the newest, then by id; the rows kept in id order. It runs on SQLite and
(when a server answers) PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from assetgrade.errors import ValidationError
from assetgrade.store import add_asset
from assetgrade.store.evidence_sample import GROUPS, sample_evidence
from assetgrade.store.schema import Evidence, Provenance
from assetgrade.workspace import Workspace

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _group(ev: Evidence) -> str:
    if ev.kind == "image" and ev.blob_sha:
        return "image"
    if ev.kind in ("log", "document") and ev.text is not None:
        return "log"
    return "series" if ev.kind == "series" and ev.blob_sha else "other"


def _reference(rows: list[Evidence], limits: Mapping[str, int] | None, named: set[str]) -> list[str]:
    if limits is None:
        return [ev.id for ev in rows]
    by_group: dict[str, list[Evidence]] = {}
    for ev in rows:  # rows in id order
        by_group.setdefault(_group(ev), []).append(ev)
    keep: set[str] = set()
    for g, evs in by_group.items():
        ranked = sorted(enumerate(evs), key=lambda kv: (kv[1].id not in named, -kv[1].created_at.timestamp(), kv[0]))
        keep.update(ev.id for _, ev in ranked[:limits.get(g, len(evs))])
    return [ev.id for ev in rows if ev.id in keep]


def _fill(ws: Workspace, asset_id: str, n: dict[str, int], seed: int) -> None:
    """``n[kind]`` evidence rows of ``asset_id`` with times over ten days (some equal), written directly.

    Images and series get a blob, logs text; every other document has text (drawn as a log), the
    rest only a file (listed as "other"). Every third item has a provenance row."""
    rnd = random.Random(seed)
    with ws.session() as s:
        add_asset(s, asset_id)
        for kind, count in n.items():
            for i in range(count):
                ev_id = f"{asset_id}/{kind}/{i:04d}"
                has_text = kind == "log" or (kind == "document" and i % 2 == 0)
                s.add(Evidence(id=ev_id, asset_id=asset_id, kind=kind, sha256=f"{i:064x}",
                               blob_sha=None if kind == "log" else f"{rnd.getrandbits(256):064x}",
                               text="entry" if has_text else None,
                               created_at=T0 + timedelta(hours=rnd.randrange(240)), attributes={}))
                if i % 3 == 0:
                    s.flush()
                    s.add(Provenance(evidence_id=ev_id, origin="synthetic" if i % 2 else "real", sha256="0" * 64))


@contextmanager
def _loads() -> Iterator[list[str]]:
    """The Evidence rows the ORM builds while inside (rows read whole)."""
    seen: list[str] = []

    def on_load(target: Evidence, _context: Any) -> None:
        seen.append(target.id)

    event.listen(Evidence, "load", on_load)
    try:
        yield seen
    finally:
        event.remove(Evidence, "load", on_load)


def test_it_picks_what_the_page_picked_from_every_row_and_reads_only_those(ws: Workspace) -> None:
    _fill(ws, "pump", {"image": 40, "log": 30, "series": 9, "document": 6}, seed=1)
    _fill(ws, "other-asset", {"image": 30}, seed=2)  # never read for "pump", not even when named
    with ws.session(readonly=True) as s:
        rows = list(s.scalars(select(Evidence).where(Evidence.asset_id == "pump").order_by(Evidence.id)))
    rnd = random.Random(7)
    ids = [ev.id for ev in rows]
    for limits, named in (
        ({"image": 24, "log": 200, "series": 6, "other": 100}, set()),
        ({"image": 24, "log": 200, "series": 6, "other": 100}, set(rnd.sample(ids, 12)) | {"other-asset/image/0001"}),
        ({"image": 5, "log": 5, "series": 1, "other": 1}, set(rnd.sample(ids, 30))),
        ({"image": 0, "log": 3}, {ids[0], ids[-1]}),
        (None, set(rnd.sample(ids, 5))),
    ):
        with ws.session(readonly=True) as s, _loads() as loaded:
            got = sample_evidence(s, "pump", limits, first=named)
            got_ids = [ev.id for ev, _ in got.rows]
            assert sorted(loaded) == sorted(got_ids)  # only the rows it returns were read whole
        assert got_ids == _reference(rows, limits, named), (limits, named)
        assert got.totals == {"image": 40, "log": 33, "series": 9, "other": 3}
        want_hidden = {g: n - limits[g] for g, n in got.totals.items() if limits and g in limits and n > limits[g]}
        assert got.hidden(limits) == want_hidden
    with ws.session(readonly=True) as s:
        got = sample_evidence(s, "pump", None)
        stored = dict(s.execute(select(Provenance.evidence_id, Provenance.origin)).tuples().all())
    assert [ev.id for ev, _ in got.rows] == ids
    assert all(origin == stored.get(ev.id) for ev, origin in got.rows)  # the provenance origin, None without


def test_more_named_items_than_one_query_list_takes(ws: Workspace) -> None:
    _fill(ws, "press", {"log": 1300}, seed=3)
    with ws.session(readonly=True) as s:
        rows = list(s.scalars(select(Evidence).where(Evidence.asset_id == "press").order_by(Evidence.id)))
    named = {ev.id for ev in rows[::2]}  # 650 named, more than one IN list holds
    with ws.session(readonly=True) as s:
        got = sample_evidence(s, "press", {"log": 200}, first=named)
    assert [ev.id for ev, _ in got.rows] == _reference(rows, {"log": 200}, named)
    assert {ev.id for ev, _ in got.rows} <= named and got.hidden({"log": 200}) == {"log": 1100}


def test_an_asset_without_evidence_and_unknown_groups(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "empty")
    with ws.session(readonly=True) as s:
        got = sample_evidence(s, "empty", {"image": 2}, first={"x"})
        assert got.rows == [] and got.totals == {} and got.hidden({"image": 2}) == {}
        with pytest.raises(ValidationError, match="unknown evidence group 'photo'") as err:
            sample_evidence(s, "empty", {"photo": 2})
    assert err.value.where == "limits" and all(g in str(err.value) for g in GROUPS)
