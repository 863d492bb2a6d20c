"""Ctrl-C and progress displays of the installed command (``cli.app.main``) when its output is not a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.cli.app import main


def _main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.argv", ["assetgrade", *argv])
    try:
        main()
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_ctrl_c_inside_a_command_exits_130_with_one_short_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from assetgrade.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("assetgrade.store.loading.load_records", ctrl_c)  # while `assets list` reads the store
    code = _main(["assets", "list", "-w", str(tmp_path / "ws")], monkeypatch)
    out, err = capsys.readouterr()
    # typer >= 0.20 turns KeyboardInterrupt into exit 130 itself, so main's own handler never saw it: no word
    assert code == 130 and out == "" and err == "interrupted\n", (code, out, err)


def test_an_interrupted_ingest_says_its_own_line_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from assetgrade.ingest.writer import Ingestor
    from assetgrade.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,text\na-1,log,entry\n", encoding="utf-8")

    def ctrl_c(self: Ingestor, items: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Ingestor, "run", ctrl_c)
    code = _main(["ingest", "manifest", str(m), "-w", str(tmp_path / "ws")], monkeypatch)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "interrupted" in ln]
    assert code == 130 and len(lines) == 1 and lines[0].startswith("ingest manifest interrupted"), err


def test_a_transient_progress_display_writes_nothing_when_stderr_is_not_a_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    from assetgrade.cli.grading import status

    with status("suggest") as step:  # grade, explain, evaluate, review suggest, batch: one blank line each
        step("loading the grader")
    assert capsys.readouterr() == ("", "")
