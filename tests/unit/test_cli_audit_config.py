"""``assetgrade config check`` on a misspelt top-level key: named with the key it likely means, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app


@pytest.mark.parametrize(("line", "key", "meant"), [
    ("ingest_group_sise: 50\n", "ingest_group_sise", "ingest_group_size"),
    ("grdaer:\n  folds: 3\n", "grdaer", "grader"),
])
def test_config_check_names_a_misspelt_top_level_key(tmp_path: Path, line: str, key: str, meant: str) -> None:
    from assetgrade.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    with (tmp_path / "ws" / "assetgrade.yaml").open("a", encoding="utf-8") as fh:
        fh.write(line)  # the setting meant is silently left at its default: nothing else ever reads the key
    res = CliRunner().invoke(build_app(), ["config", "check", "-w", str(tmp_path / "ws")])
    said = " ".join(res.output.split())
    path = tmp_path / "ws" / "assetgrade.yaml"
    line = len(path.read_text(encoding="utf-8").splitlines()) - line.count("\n") + 1  # the key's line
    assert res.exit_code == 2, said
    assert f"{path}:line {line}:column 1:{key}: unknown key, a misspelling of '{meant}'?" in said, said
