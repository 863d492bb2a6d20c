"""Bad input and odd states outside ingest: a one-line error naming what is wrong, the right exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

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
    return res.exit_code, " ".join(res.output.split()), exc


def test_golden_freeze_names_the_line_of_an_id_file_that_is_not_utf8(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"\xef\xbb\xbfpump-1\n\npump-\xc5\x02\n")
    code, msg, _ = run("golden", "freeze", "--from-file", str(ids), "-w", str(tmp_path / "nowhere"))
    assert code == 2 and f"{ids}:line 3" in msg and "not UTF-8" in msg
