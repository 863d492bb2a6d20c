"""The service's writes on PostgreSQL, two at once: token management and idempotent writes keep their promises
(one admin left, 409 not a key violation, one revocation event, a repeat is a no-op) where SQLite's single writer
made them hold by itself."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select
from tests.pg import PG_ENV, pg_url, pg_workspace, run_behind

from assetgrade.errors import ConflictError
from assetgrade.rest import writes
from assetgrade.rest.auth import Principal, create_token, revoke_token
from assetgrade.rest.schemas import AssetIn
from assetgrade.store import ProvenanceInfo, add_asset, add_evidence
from assetgrade.store.auth_schema import ApiToken
from assetgrade.store.schema import AuditEvent, Evidence
from assetgrade.workspace import Workspace

_PG = pg_url()


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Workspace]:
    if _PG is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV}")
    yield from pg_workspace(tmp_path, _PG)


def _behind(session: Any, target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``target`` in a thread until it waits for a lock ``session``'s open transaction holds."""
    assert _PG is not None
    worker, out, waits = run_behind(_PG, session, target)
    assert waits, f"the second writer never waited for the first: {out}"
    return worker, out


def _revoke(ws: Workspace, name: str, by: str) -> Any:
    with ws.session() as s:
        return revoke_token(s, name, actor=by, keep_an_admin=True)


def test_two_admins_revoking_each_other_at_once_leave_one_admin(pg: Workspace) -> None:
    # each checked that another admin still worked, before the other's revocation committed: both went
    with pg.session() as s:
        create_token(s, name="root-1", role="admin")
        create_token(s, name="root-2", role="admin")
    with pg.session() as first:
        revoke_token(first, "root-2", actor="root-1", keep_an_admin=True)
        worker, out = _behind(first, lambda: _revoke(pg, "root-1", "root-2"))
    worker.join(60)
    assert isinstance(out.get("error"), ConflictError), out
    with pg.session(readonly=True) as s:
        assert s.scalars(select(ApiToken.name).where(ApiToken.revoked_at.is_(None))).all() == ["root-1"]


def test_a_token_revoked_twice_at_once_keeps_its_first_time_and_one_event(pg: Workspace) -> None:
    with pg.session() as s:
        create_token(s, name="carol", role="reviewer")
    with pg.session() as first:
        row = revoke_token(first, "carol", actor="admin")
        when = row.revoked_at
        worker, out = _behind(first, lambda: _revoke(pg, "carol", "other-admin"))
    worker.join(60)
    assert "error" not in out, out
    assert out["value"].revoked_at == when
    with pg.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "token.revoke")) == 1


def _create(ws: Workspace, name: str) -> Any:
    with ws.session() as s:
        return create_token(s, name=name, role="reviewer", actor="admin")


def test_one_token_name_created_twice_at_once_is_a_conflict_not_a_key_violation(pg: Workspace) -> None:
    with pg.session() as first:
        create_token(first, name="dave", role="reviewer", actor="admin")
        worker, out = _behind(first, lambda: _create(pg, "dave"))
    worker.join(60)
    assert isinstance(out.get("error"), ConflictError), out  # was an IntegrityError: a 500


def test_one_asset_created_twice_at_once_is_stored_once_and_both_answer_it(pg: Workspace) -> None:
    # a station retrying POST /assets while its first post is still open: both found no asset, the second failed
    # on the primary key (500) instead of the documented no-op
    who = Principal("station-1", "station")
    with pg.session() as first:
        add_asset(first, "pump-17", asset_type="pump", actor="station-1")
        worker, out = _behind(first, lambda: writes.create_asset(pg, who, AssetIn(id="pump-17", asset_type="pump")))
    worker.join(60)
    assert "error" not in out, out
    assert out["value"].id == "pump-17" and out["value"].version == 1


def test_one_image_uploaded_twice_at_once_is_stored_once_and_both_answer_it(pg: Workspace,
                                                                             rng: np.random.Generator) -> None:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(buf, format="PNG")
    data = buf.getvalue()
    who = Principal("station-1", "station")
    with pg.session() as s:
        add_asset(s, "pump-17", asset_type="pump")
    sha = pg.blobs.put_bytes(data)
    with pg.session() as first:
        add_evidence(first, asset_id="pump-17", kind="image", sha256=sha, blob_sha=sha, media_type="image/png",
                     evidence_id=f"pump-17/image/{sha[:24]}", provenance=ProvenanceInfo(origin="real"))
        worker, out = _behind(first, lambda: writes.upload_image(pg, who, "pump-17", data))
    worker.join(60)
    assert "error" not in out, out
    assert out["value"][0].id == f"pump-17/image/{sha[:24]}"
    with pg.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 1
