"""Store fixtures: a workspace on SQLite and, when a server answers, on PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.pg import PG_DEFAULT, PG_ENV, fresh_pg_workspace, pg_url
from tests.workspace_template import new_workspace

from assetgrade.workspace import Workspace

_PG = pg_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path: Path,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A fresh workspace on SQLite (a copy of one made once a session: tests/workspace_template.py) and (when
    reachable) on PostgreSQL."""
    if request.param == "postgresql":
        if _PG is None:
            pytest.skip(f"no PostgreSQL server answers: set {PG_ENV} or start one at {PG_DEFAULT}")
        w = fresh_pg_workspace(tmp_path / "ws", _PG)  # tables emptied, not migrated again: tests/pg.py
    else:
        w = new_workspace(tmp_path / "ws", tmp_path_factory)
    yield w
    w.close()


@pytest.fixture
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp folder of this test: its own, so other processes' files never count."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
