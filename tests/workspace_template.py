"""A fresh SQLite workspace for a test, copied from one ``Workspace.init`` made once a session.

``Workspace.init`` migrates a new database: about a tenth of a second of CPU and, with SQLite's syncs, up to a
second of waiting on a loaded machine; copying the closed template takes a few milliseconds and gives the same
folders, config and schema. Each pytest process (each xdist worker) makes its own template; nothing writes to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assetgrade.workspace import Workspace

_TEMPLATES: dict[Path, Path] = {}


def new_workspace(path: Path, factory: pytest.TempPathFactory) -> Workspace:
    """A workspace at ``path`` as ``Workspace.init(path)`` makes it (SQLite store, default config), opened."""
    base = factory.getbasetemp()
    template = _TEMPLATES.get(base)
    if template is None:
        template = factory.mktemp("workspace-template") / "ws"
        Workspace.init(template).close()
        _TEMPLATES[base] = template
    shutil.copytree(template, path)
    return Workspace.open(path)
