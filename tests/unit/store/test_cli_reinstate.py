"""``assets reinstate``: a withdrawal undone from the CLI; an item ``ingest --supersede`` replaced waits for its
successor to be withdrawn."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for

runner = CliRunner()
WIDE = {"COLUMNS": "400"}


def _log(path: Path, hours: int) -> Path:
    path.write_text("time,temp\n" + "".join(f"2024-04-{1 + h // 24:02d}T{h % 24:02d}:00:00,{20 + h % 7}.5\n"
                                            for h in range(hours)), encoding="utf-8")
    return path


def _gone(ws: Path) -> dict[str, object]:
    r = runner.invoke(build_app(), ["assets", "show", "pump-7", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    return {str(e["id"]): e["withdrawn"] for e in json.loads(r.output)["evidence"]}


def _run(ws: Path, *args: str) -> tuple[int, str]:
    """The exit code and the output, or the error the CLI would print."""
    r = runner.invoke(build_app(), [*args, "-w", str(ws)], env=WIDE)
    if r.exception is None:
        return 0, r.output
    return exit_code_for(r.exception), str(r.exception)


def test_reinstate_undoes_a_withdrawal_and_refuses_a_superseded_item_while_its_successor_is_in_use(
        tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(build_app(), ["init", str(ws)]).exit_code == 0
    f = _log(tmp_path / "pump-7.csv", 24)
    assert _run(ws, "ingest", "series", str(f))[0] == 0
    [old] = list(_gone(ws))
    _log(f, 48)
    code, out = _run(ws, "ingest", "series", str(f), "--supersede")
    assert code == 0, out
    [new] = [k for k in _gone(ws) if k != old]
    # the superseded series would be a second live item of pump-7.csv: refused, nothing written
    code, out = _run(ws, "assets", "reinstate", old, "--reason", "the shorter export was right", "--by", "ana")
    assert code == 4, out
    assert f"in use: '{new}'" in out and f"withdraw '{new}' first" in out and "nothing was reinstated" in out
    assert _gone(ws)[new] is None and _gone(ws)[old] is not None
    # the successor withdrawn first, the superseded series comes back
    assert _run(ws, "assets", "withdraw", new, "--reason", "wrong export", "--by", "ana")[0] == 0
    code, out = _run(ws, "assets", "reinstate", old, "new", "--reason", "x", "--by", "ana")
    assert code == 3 and "evidence not found: 'new'; nothing was reinstated" in out
    code, out = _run(ws, "assets", "reinstate", old, "--reason", "the shorter export was right", "--by", "ana")
    assert code == 0, out
    assert f"reinstated {old} (was withdrawn on " in out and "asset versions now pump-7 " in out
    assert _gone(ws)[old] is None and _gone(ws)[new] is not None
    code, out = _run(ws, "assets", "reinstate", old, "--reason", "again", "--json")
    assert code == 0 and json.loads(out) == {"reinstated": [], "not_withdrawn": [old], "asset_versions": {}}
    code, out = _run(ws, "audit", "events", "--json")
    assert code == 0 and "evidence.reinstate" in out
