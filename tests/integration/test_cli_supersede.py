"""``ingest series|manifest --supersede``: a newer export of a stored file replaces it; ``assets show`` marks the
stored one withdrawn "superseded by ...", the table and the report name old -> new; without it, exit 2 naming
both ways out."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for

runner = CliRunner()
WIDE = {"COLUMNS": "400"}


def _log(path: Path, hours: int) -> Path:
    path.write_text("time,temp\n" + "".join(f"2024-04-{1 + h // 24:02d}T{h % 24:02d}:00:00,{20 + h % 7}.5\n"
                                            for h in range(hours)), encoding="utf-8")
    return path


def _show(ws: Path, asset: str) -> list[dict[str, object]]:
    r = runner.invoke(build_app(), ["assets", "show", asset, "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    return list(json.loads(r.output)["evidence"])


def _report(output: str) -> dict[str, object]:
    return dict(json.loads(Path(output.split("report: ")[-1].strip()).read_text(encoding="utf-8")))


def test_ingest_series_supersede_replaces_the_stored_series(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(build_app(), ["init", str(ws)]).exit_code == 0
    f = _log(tmp_path / "pump-7.csv", 24)
    assert runner.invoke(build_app(), ["ingest", "series", str(f), "-w", str(ws)]).exit_code == 0
    [old] = [str(e["id"]) for e in _show(ws, "pump-7")]
    _log(f, 48)
    r = runner.invoke(build_app(), ["ingest", "series", str(f), "-w", str(ws)], env=WIDE)
    assert r.exception is not None and exit_code_for(r.exception) == 2  # rows rejected
    assert "already has a series from the same source ('pump-7.csv#pump-7')" in r.output and "--supersede" in r.output
    r = runner.invoke(build_app(), ["ingest", "series", str(f), "--supersede", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 0, r.output
    shown = {str(e["id"]): e["withdrawn"] for e in _show(ws, "pump-7")}
    [new] = [k for k in shown if k != old]
    assert shown[new] is None
    mark = shown[old]
    assert isinstance(mark, dict) and mark["reason"] == f"superseded by {new} from {f}"
    assert "superseded (stored item withdrawn)" in r.output and f"superseded {f}: {old} -> {new}" in r.output
    assert _report(r.output)["superseded"] == [{"old": old, "new": new, "file": str(f), "row": None}]
    r = runner.invoke(build_app(), ["ingest", "series", str(f), "--supersede", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 0 and "superseded" not in r.output and _report(r.output)["skipped_existing"] == 1


def test_ingest_manifest_supersede_replaces_a_corrected_photo(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(build_app(), ["init", str(ws)]).exit_code == 0
    m = tmp_path / "m.csv"
    m.write_text("asset_id,kind,path\npump-1,image,a.jpg\n", encoding="utf-8")
    for color in (10, 200):
        buf = io.BytesIO()
        Image.new("L", (16, 16), color).save(buf, "JPEG")
        (tmp_path / "a.jpg").write_bytes(buf.getvalue())
        r = runner.invoke(build_app(), ["ingest", "manifest", str(m), "--supersede", "-w", str(ws)], env=WIDE)
        assert r.exit_code == 0, r.output
    shown = _show(ws, "pump-1")
    assert len(shown) == 2 and sum(e["withdrawn"] is None for e in shown) == 1
    assert _report(r.output)["superseded"][0]["row"] == 2  # type: ignore[index]
