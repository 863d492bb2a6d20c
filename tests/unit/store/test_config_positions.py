"""Errors in ``assetgrade.yaml`` name the file, the line and the column of the key at fault, and the key.

A bad value, a value of the wrong type, a key given twice (``load_config``, so every command that
opens the workspace) and an unknown or misspelt key (``config check``) used to name the key only:
in a long file with ``coverage:`` under both ``policy:`` and ``grader:`` the reader had to search.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.config import CONFIG_NAME, load_config, parse_config
from assetgrade.errors import ValidationError
from assetgrade.workspace import Workspace

HEAD = "# our settings\nversion: 1\n"  # two lines before the ones under test


@pytest.mark.parametrize(("body", "where", "says"), [
    ("policy:\n  review_if_set_size_over: 1\n  coverage: 2\n", "line 5:column 3:policy.coverage",
     "less than 1 (got 2)"),
    ("ingest_group_size: abc\n", "line 3:column 1:ingest_group_size", "valid integer (got 'abc')"),   # wrong type
    ("policy: {coverage: '0.8'}\n", "line 3:column 10:policy.coverage", "valid number (got '0.8')"),  # flow style
    ("policy: 3\n", "line 3:column 1:policy", "valid dictionary"),
    # a value merged in from an anchor is named where it is written
    ("base: &b {coverage: 2}\npolicy:\n  <<: *b\n", "line 3:column 11:policy.coverage", "less than 1"),
])
def test_a_bad_value_names_the_file_line_column_and_key(body: str, where: str, says: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(says)) as exc:
        parse_config(HEAD + body, "ws/assetgrade.yaml")
    assert exc.value.where == f"ws/assetgrade.yaml:{where}", exc.value.where


def test_a_key_given_twice_names_the_line_and_column_of_the_second(tmp_path: Path) -> None:
    p = tmp_path / CONFIG_NAME
    p.write_text(HEAD + "policy: {coverage: 0.8, coverage: 0.7}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"'coverage' is given twice \(first on line 3\)") as exc:
        load_config(p)
    assert exc.value.where == f"{p}:line 3:column 25", exc.value.where


def test_opening_the_workspace_names_the_line(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    path = tmp_path / "ws" / CONFIG_NAME
    path.write_text(HEAD + "verify_blobs_on_read: false\nmax_image_pixels: 0\n", encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["stats", "-w", str(tmp_path / "ws")])
    assert isinstance(res.exception, ValidationError), res.output
    assert str(res.exception).startswith(f"{path}:line 4:column 1:max_image_pixels: Input should be greater than")


def test_config_check_names_the_line_of_an_unknown_key(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    path = tmp_path / "ws" / CONFIG_NAME
    path.write_text(HEAD + "polcy:\n  coverage: 0.8\npolicy:\n  coverag: 0.8\ngrader:\n  folds: 3\n  seed: x\n"
                    "drift: [1, 2]\n", encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["config", "check", "-w", str(tmp_path / "ws")])
    said = "\n".join(" ".join(line.split()) for line in res.output.split("✗"))
    assert res.exit_code == 2, res.output
    for line in (f"{path}:line 3:column 1:polcy: unknown key, a misspelling of 'policy'?",
                 f"{path}:line 6:column 3:policy.coverag: unknown key; known: ['coverage',",
                 f"{path}:line 9:column 3:grader.seed: seed='x' must be a whole number >= 0",
                 f"{path}:line 10:column 1:drift: must be a mapping of settings (a section), got list"):
        assert line in said, said


def test_config_set_names_no_line_of_a_text_it_did_not_write(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    path = tmp_path / "ws" / CONFIG_NAME
    before = path.read_text(encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["config", "set", "policy.coverage", "2", "-w", str(tmp_path / "ws")])
    assert isinstance(res.exception, ValidationError), res.output
    assert res.exception.where == f"{path}:policy.coverage", res.exception.where  # the value given, not a line
    assert path.read_text(encoding="utf-8") == before


def test_config_check_lines_are_not_broken_at_the_terminal_width(tmp_path: Path) -> None:
    # a narrow terminal (pytest-xdist's workers set COLUMNS=80): rich cut 'assetgrade.yaml' inside the path
    Workspace.init(tmp_path / "ws").close()
    path = tmp_path / "ws" / CONFIG_NAME
    path.write_text(HEAD + "polcy:\n  coverage: 0.8\n", encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["config", "check", "-w", str(tmp_path / "ws")], env={"COLUMNS": "40"})
    assert res.exit_code == 2
    assert f"{path}:line 3:column 1:polcy: unknown key, a misspelling of 'policy'?" in res.output
