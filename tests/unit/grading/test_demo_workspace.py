"""The demo's own workspace: created fresh, or upgraded in place when an older version left it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command

from assetgrade.errors import StoreError
from assetgrade.grading.demo import open_demo_workspace
from assetgrade.store.engine import _alembic_config, current_revision, head_revision
from assetgrade.workspace import Workspace


def test_demo_workspace_is_created_then_reopened(tmp_path: Path) -> None:
    with open_demo_workspace(tmp_path / "demo") as ws:
        assert current_revision(ws.engine) == head_revision()
    with open_demo_workspace(tmp_path / "demo") as ws:  # reopened as it is, nothing to say
        assert ws.path == tmp_path / "demo"


def test_an_older_demo_store_is_upgraded_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    Workspace.init(path).close()
    ws = Workspace.open(path)
    command.downgrade(_alembic_config(ws.engine), "-1")  # as an older version of assetgrade left it
    older = current_revision(ws.engine)
    ws.close()
    assert older is not None and older != head_revision()
    with pytest.raises(StoreError, match="assetgrade db upgrade"):
        Workspace.open(path)  # a user's own workspace is refused with the command to run
    said: list[str] = []
    with open_demo_workspace(path, said.append) as ws:
        assert current_revision(ws.engine) == head_revision()
    assert said == [f"demo workspace store upgraded from revision {older} to {head_revision()}"]
    Workspace.open(path).close()  # and now opens normally
