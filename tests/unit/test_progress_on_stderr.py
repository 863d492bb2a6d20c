"""Every rich progress bar draws on stderr, so a command's stdout stays its result (``--json -``)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "assetgrade"


def _progress_calls_without_console() -> list[str]:
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else "")
            if name == "Progress" and not any(k.arg == "console" for k in node.keywords):
                missing.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return missing


def test_every_progress_bar_is_given_its_console() -> None:
    # rich's Progress draws on stdout unless given a console; a bench's or an audit's bar then
    # went before the JSON that `--json -` writes to stdout
    assert _progress_calls_without_console() == []

