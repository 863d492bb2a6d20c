"""``assetgrade ontology show`` without ``-w`` shows the current folder's workspace ontology, as its help says.

It showed the shipped ontology whenever neither ``-w`` nor ``$ASSETGRADE_WORKSPACE`` was given, so a user
inside a workspace with an ontology of its own saw another scale than ``train`` and ``grade`` use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ontology_texts import MINIMAL
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.ontology import default_ontology, load_ontology
from assetgrade.workspace import Workspace


@pytest.fixture
def custom_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    Workspace.init(ws)
    (ws / "tiny.yaml").write_text(MINIMAL, encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["config", "set", "ontology", "tiny.yaml", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("ASSETGRADE_WORKSPACE", raising=False)
    return ws


def test_show_in_a_workspace_folder_shows_its_ontology(custom_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = load_ontology(custom_ws / "tiny.yaml")
    monkeypatch.chdir(custom_ws)
    tables = CliRunner().invoke(build_app(), ["ontology", "show"])
    assert tables.exit_code == 0, tables.output
    assert f"tiny version {tiny.version}" in tables.output
    as_yaml = CliRunner().invoke(build_app(), ["ontology", "show", "--yaml"])
    assert as_yaml.exit_code == 0, as_yaml.output
    assert "name: tiny" in as_yaml.output and "industrial-default" not in as_yaml.output


def test_show_outside_a_workspace_shows_the_shipped_ontology(
    custom_ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(custom_ws.parent)  # a folder without assetgrade.yaml
    result = CliRunner().invoke(build_app(), ["ontology", "show"])
    assert result.exit_code == 0, result.output
    assert f"version {default_ontology().version}" in result.output
