"""Ingest fixtures: a fresh SQLite workspace, small JPEGs made with Pillow, table counts, a consistency check."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from tests.workspace_template import new_workspace

from assetgrade.store.audit import verify_chain
from assetgrade.store.schema import Asset, Evidence, Label, Provenance
from assetgrade.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A fresh SQLite workspace (a copy of one made once a session: tests/workspace_template.py)."""
    w = new_workspace(tmp_path / "ws", tmp_path_factory)
    yield w
    w.close()


def _jpeg(color: int = 128, size: tuple[int, int] = (32, 24), mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color if mode == "L" else (color, color, color)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def jpeg() -> Callable[..., bytes]:
    """Makes a small valid JPEG: ``jpeg(color=128, size=(32, 24), mode="L")``."""
    return _jpeg


def _counts(ws: Workspace) -> dict[str, int]:
    with ws.session(readonly=True) as s:
        return {t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0)
                for t in (Asset, Evidence, Provenance, Label)}


@pytest.fixture
def counts() -> Callable[[Workspace], dict[str, int]]:
    """Row counts of assets, evidence, provenance and labels."""
    return _counts


def _consistent(ws: Workspace) -> bool:
    with ws.session(readonly=True) as s:
        evs = list(s.execute(select(Evidence)).scalars())
        provs = {p.evidence_id for p in s.execute(select(Provenance)).scalars()}
        ok_chain = verify_chain(s).ok
    return ok_chain and all(
        e.id in provs and (e.text is not None or (e.blob_sha is not None and ws.blobs.exists(e.blob_sha)))
        for e in evs
    )


@pytest.fixture
def consistent() -> Callable[[Workspace], bool]:
    """True when every evidence row has provenance and content and the audit chain verifies."""
    return _consistent


@pytest.fixture
def pg_ws(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace on the test PostgreSQL server (emptied first: tests/pg.py); skipped when none answers."""
    from tests.pg import PG_DEFAULT, PG_ENV, fresh_pg_workspace, pg_url

    url = pg_url()
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV} or start one at {PG_DEFAULT}")
    w = fresh_pg_workspace(tmp_path / "pg-ws", url)
    yield w
    w.close()
