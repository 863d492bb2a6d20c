"""CLI options outside ``bench``: each says what it does in ``--help``, and a value out of range is exit 2
naming the option before any work, never a traceback nor a silent reinterpretation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError

APP = build_app()


def run(*args: str) -> tuple[int, str, BaseException | None]:
    """Exit code, message and exception as ``assetgrade`` (cli.app.main) gives them for our error tree."""
    res = CliRunner().invoke(APP, list(args))
    exc = res.exception
    if isinstance(exc, AssetgradeError):
        return exit_code_for(exc), str(exc), exc
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}"
    return res.exit_code, " ".join(res.output.replace("│", " ").split()), exc


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), cmd


def test_every_option_outside_bench_has_a_help_text() -> None:
    missing = [f"{name} {param.opts[0]}"
               for name, cmd in _commands(typer.main.get_command(APP)) if not name.startswith("bench ")
               for param in cmd.params
               if param.param_type_name == "option" and param.name != "help" and not (param.help or "").strip()]
    assert missing == []  # e.g. `models list --json`, `audit events --entity`, `assets list --offset` had none


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assetgrade.workspace import Workspace

    folder = tmp_path_factory.mktemp("cli") / "ws"
    Workspace.init(folder).close()
    return folder


@pytest.mark.parametrize("command", [["assets", "list"], ["review", "requests"]])
@pytest.mark.parametrize(("option", "value"), [("--limit", "-1"), ("--limit", "0"), ("--offset", "-1"),
                                               ("--limit", str(2**63)), ("--offset", str(2**63))])
def test_paging_options_out_of_range_are_usage_errors(ws: Path, command: list[str], option: str, value: str) -> None:
    # `assets list --limit -1` listed every asset (SQLite's LIMIT -1), --limit 0 none; 2**63 was an OverflowError
    code, msg, _ = run(*command, option, value, "-w", str(ws))
    assert code == 2 and f"Invalid value for '{option}'" in msg, msg


@pytest.mark.parametrize("value", ["nan", "-1", "-inf"])
def test_gc_blobs_refuses_a_grace_period_that_is_not_a_number_at_least_0(ws: Path, value: str) -> None:
    # nan passed the library's `grace_s < 0` check and then every comparison with it was False: the
    # empty-database guard saw no blob old enough, and every orphan counted as old enough to delete
    code, msg, exc = run("db", "gc-blobs", "--grace-hours", value, "-w", str(ws))
    assert code == 2 and getattr(exc, "where", None) == "--grace-hours", msg


def test_retrain_refuses_a_negative_min_reviewed(tmp_path: Path) -> None:
    code, msg, exc = run("retrain", "--min-reviewed", "-1", "-w", str(tmp_path / "nowhere"))
    assert code == 2 and getattr(exc, "where", None) == "--min-reviewed", msg
