"""``assetgrade config check`` on a misspelt top-level key: named with the key it likely means, exit 2; and
``assetgrade audit`` on a bad ``audit:`` section: named at its file, line, column and key as ``config check``
names it (it was the setting's name alone, or a traceback)."""

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


AUDIT = [  # (the audit: section, line offset of the key, column, key, what the reason says)
    ("audit:\n  settings:\n    duplicates:\n      min_cosine: 2\n", 3, 7, "audit.settings.duplicates.min_cosine",
     "2 is not allowed; expected a number in [-1, 1]"),  # at its own key (it was at the check's)
    ("audit:\n  checks: duplicates\n", 1, 3, "audit.checks", "must be a list of check names, got 'duplicates'"),
    ("audit:\n  checks: [duplicats]\n", 1, 3, "audit.checks", "unknown check 'duplicats'"),
    ("audit:\n  settings: 3\n", 1, 3, "audit.settings", "must map check names to their settings"),  # a traceback
    ("audit:\n  settings:\n    duplicates: 3\n", 2, 5, "audit.settings.duplicates", "must be a mapping of settings"),
    ("audit:\n  setings:\n    duplicates: {min_cosine: 0.9}\n", 1, 3, "audit.setings", "unknown key"),  # ignored
]


def _with_audit(tmp_path: Path, tail: str) -> tuple[Path, int]:
    """A workspace (no assets) whose config ends with ``tail``; the 1-based line ``tail`` starts on."""
    from assetgrade.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    cfg = tmp_path / "ws" / "assetgrade.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text + tail, encoding="utf-8")
    return tmp_path / "ws", text.count("\n") + 1


@pytest.mark.parametrize(("tail", "down", "column", "key", "says"), AUDIT)
def test_audit_names_the_line_of_a_bad_audit_setting(tmp_path: Path, tail: str, down: int, column: int, key: str,
                                                     says: str) -> None:
    from assetgrade.cli.app import exit_code_for
    from assetgrade.errors import ValidationError

    ws, line = _with_audit(tmp_path, tail)
    where = f"{ws / 'assetgrade.yaml'}:line {line + down}:column {column}:{key}"
    res = CliRunner().invoke(build_app(), ["audit", "-w", str(ws)])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert exit_code_for(res.exception) == 2 and res.exception.where == where, res.exception.where
    assert says in res.exception.reason, res.exception.reason
    # config check names it the same way
    res = CliRunner().invoke(build_app(), ["config", "check", "-w", str(ws)])
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{where}: " in said and says in said, said


def test_a_bad_set_option_is_not_blamed_on_the_file(tmp_path: Path) -> None:
    from assetgrade.errors import ValidationError

    ws, _ = _with_audit(tmp_path, "audit:\n  settings:\n    duplicates:\n      min_cosine: 0.9\n")
    res = CliRunner().invoke(build_app(), ["audit", "-w", str(ws), "--set", "duplicates.min_cosine=2"])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert res.exception.where == "duplicates.min_cosine" and "assetgrade.yaml" not in str(res.exception)
