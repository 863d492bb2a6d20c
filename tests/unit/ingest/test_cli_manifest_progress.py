"""``ingest manifest`` that fails before a row is read leaves no empty progress bar behind.

A missing manifest is refused with the other arguments, before the workspace is opened or a bar
drawn; a problem found once the run began (a missing required column) erases the bar that had
nothing to show on a terminal, and draws none in a pipe or a log.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import ValidationError
from assetgrade.workspace import Workspace

BAR = "━"  # rich's bar glyph


@pytest.mark.parametrize(("name", "says"), [("nope.csv", "does not exist; give a manifest to read"),
                                             ("folder.csv", "is a folder, not a manifest")])
def test_a_missing_manifest_is_refused_before_the_workspace_or_a_bar(tmp_path: Path, name: str, says: str) -> None:
    (tmp_path / "folder.csv").mkdir()
    ws = tmp_path / "ws"
    Workspace.init(ws).close()
    res = CliRunner().invoke(build_app(), ["ingest", "manifest", str(tmp_path / name), "-w", str(ws)])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert exit_code_for(res.exception) == 2 and res.exception.where == "PATH", res.exception.where
    assert str(tmp_path / name) in str(res.exception) and says in str(res.exception)
    assert BAR not in res.output and "ingest manifest" not in res.output, res.output
    assert not list((ws / "reports").glob("ingest-*.json"))  # no batch was started
    # checked before the workspace: a folder that is not one does not hide the missing manifest
    res = CliRunner().invoke(build_app(), ["ingest", "manifest", str(tmp_path / name), "-w", str(tmp_path / "no")])
    assert isinstance(res.exception, ValidationError) and res.exception.where == "PATH"


def _no_path_column(tmp_path: Path) -> Path:
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind\na-1,log\n", encoding="utf-8")
    Workspace.init(tmp_path / "ws").close()
    return m


def test_a_failure_before_any_row_draws_no_bar_in_a_pipe(tmp_path: Path) -> None:
    m = _no_path_column(tmp_path)
    res = CliRunner().invoke(build_app(), ["ingest", "manifest", str(m), "-w", str(tmp_path / "ws")])
    assert isinstance(res.exception, ValidationError) and "missing required column" in str(res.exception)
    assert BAR not in res.output and "0/" not in res.output, res.output


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_failure_before_any_row_erases_the_bar_on_a_terminal(tmp_path: Path) -> None:
    m = _no_path_column(tmp_path)
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    try:
        proc = subprocess.run([sys.executable, "-m", "assetgrade.cli", "ingest", "manifest", str(m),
                               "-w", str(tmp_path / "ws")], stdout=subprocess.PIPE, stderr=follower, env=env,
                              check=False, timeout=300)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    err = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert BAR in err, err  # the bar was drawn while the run started...
    after_bar = err[err.rindex(BAR):]
    erased = after_bar[: after_bar.index("error:")]
    assert "\x1b[2K" in erased, repr(after_bar)  # ...and its line erased before the error was printed
    assert "missing required column" in after_bar
