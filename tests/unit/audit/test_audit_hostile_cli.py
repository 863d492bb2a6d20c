"""Hostile use of ``assetgrade audit`` and ``assetgrade golden`` on the CLI: options, corrupted rows, odd values."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError
from assetgrade.store.repository import ProvenanceInfo, add_asset, add_evidence, add_label
from assetgrade.workspace import Workspace

runner = CliRunner()


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (i % 256, 40, (3 * i) % 256)).save(buf, "PNG")
    return buf.getvalue()


def make_ws(path: Path, n: int = 8, synthetic: Sequence[int] = ()) -> Path:
    """``n`` assets (pumps A, valves C), split test for the first half; ``synthetic`` get a synthetic image only."""
    ws = Workspace.init(path)
    with ws.session() as s:
        for i in range(n):
            aid, typ = f"a{i:02d}", ("pump" if i % 2 == 0 else "valve")
            add_asset(s, aid, asset_type=typ, attributes={"split": "test" if i < n // 2 else "train"})
            sha = ws.blobs.put_bytes(_png(i))
            prov = (ProvenanceInfo(origin="synthetic", generator="scratch-v1") if i in synthetic
                    else ProvenanceInfo(source="cam-1"))
            add_evidence(s, asset_id=aid, kind="image", sha256=sha, blob_sha=sha, evidence_id=f"e{i:02d}",
                         provenance=prov)
            add_label(s, asset_id=aid, kind="grade", value="A" if typ == "pump" else "C", annotator="expert")
    ws.close()
    return path


def run(*args: object) -> tuple[int, str]:
    """Invoke the CLI in-process; assetgrade errors become exit codes and messages as in ``main``."""
    r = runner.invoke(build_app(), [str(a) for a in args])
    if isinstance(r.exception, AssetgradeError):
        return exit_code_for(r.exception), r.output + str(r.exception)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.output


def _sql(ws: Path, sql: str) -> None:
    with sqlite3.connect(ws / "assetgrade.db") as conn:
        conn.execute(sql)


@pytest.fixture
def tampered(tmp_path: Path) -> Path:
    ws = make_ws(tmp_path / "tampered", n=4)
    _sql(ws, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 5")
    return ws


def test_group_workspace_applies_to_subcommands(tampered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    other = make_ws(tmp_path / "other", n=2)
    monkeypatch.chdir(other)
    code, out = run("audit", "-w", tampered, "verify")
    assert code == 1 and "event 5" in out
    code, out = run("audit", "-w", tampered, "events", "--json", "--limit", "3")
    assert code == 0 and [e["seq"] for e in json.loads(out)] == [1, 2, 3]
    code, out = run("audit", "-w", tampered, "verify", "-w", tampered)  # the same folder twice is fine
    assert code == 1 and "event 5" in out
    code, out = run("audit", "-w", tampered, "verify", "-w", other)
    assert code == 2 and "-w given twice" in out and str(other) in out


@pytest.mark.parametrize("opt", [["--checks", "imbalance"], ["--set", "imbalance.min_ratio=0.5"], ["--embed"],
                                 ["--label-key", "grade"], ["--grader"]])
def test_data_audit_options_before_a_subcommand_are_refused(tampered: Path, opt: list[str]) -> None:
    code, out = run("audit", "-w", tampered, *opt, "verify")
    assert code == 2 and opt[0] in out and "audit verify" in out


@pytest.mark.parametrize(("sql", "problem"), [
    ("UPDATE audit_events SET payload = '{not json' WHERE seq = 6", "payload '{not json' is not JSON"),
    ("UPDATE audit_events SET ts = 'garbage' WHERE seq = 6", "ts 'garbage' is not a timestamp"),
])
def test_unreadable_row_breaks_the_chain_at_that_event(tmp_path: Path, sql: str, problem: str) -> None:
    ws = make_ws(tmp_path / "ws", n=4)
    _sql(ws, sql)
    code, out = run("audit", "verify", "-w", ws)
    out = " ".join(out.split())  # the console wraps long lines
    assert code == 1 and "event 6" in out and f"unreadable row: {problem}" in out
    code, out = run("audit", "verify", "-w", ws, "--json")
    doc = json.loads(out[: out.index("\n}") + 2])
    assert code == 1 and doc["first_bad_seq"] == 6 and doc["first_bad_event"]["seq"] == 6
    code, out = run("audit", "events", "-w", ws, "--after", 4, "--limit", 3, "--json")
    rows = json.loads(out[: out.index("\n]") + 2])
    assert code == 0 and [r["seq"] for r in rows] == [5, 6, 7] and rows[1]["unreadable"] == problem
    assert "unreadable audit events: 6" in out
    code, out = run("audit", "events", "-w", ws, "--after", 4, "--limit", 3)
    assert code == 0 and "UNREADABLE" in out


@pytest.mark.parametrize("head", ["garbage", "10", "10:", "0:" + "a" * 64, "5:" + "g" * 64, "5:ab",
                                  "99999999999999999999:ab", "99999999999999999999:" + "a" * 64])
def test_expect_head_malformed_is_bad_input(tmp_path: Path, head: str) -> None:
    ws = make_ws(tmp_path / "ws", n=2)
    code, out = run("audit", "verify", "-w", ws, "--expect-head", head)
    assert code == 2 and "expected SEQ:HASH" in out and repr(head) in out


@pytest.mark.parametrize("opt", ["--limit", "--after"])
def test_events_huge_numbers_are_usage_errors(tmp_path: Path, opt: str) -> None:
    ws = make_ws(tmp_path / "ws", n=2)
    code, out = run("audit", "events", "-w", ws, opt, "99999999999999999999")
    assert code == 2 and opt in out


def test_expect_head_matching_and_rewritten(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", n=2)
    code, out = run("audit", "verify", "-w", ws, "--json")
    head = json.loads(out)["head"]
    assert run("audit", "verify", "-w", ws, "--expect-head", head.upper().replace("X", "x"))[0] == 0
    seq = head.split(":")[0]
    code, out = run("audit", "verify", "-w", ws, "--expect-head", f"{seq}:{'0' * 64}")
    assert code == 1 and f"event {seq}" in out and "differs" in out


def test_export_with_unreadable_and_broken_chain(tmp_path: Path) -> None:
    from assetgrade.lifecycle.registry import ModelRegistry

    ws_path = make_ws(tmp_path / "ws", n=4)
    ws = Workspace.open(ws_path)
    try:
        info = ModelRegistry(ws).register(ws_path / "blobs", version="v1", loader="rules")
    finally:
        ws.close()
    _sql(ws_path, f"UPDATE audit_events SET payload = '{{oops' WHERE entity = 'model' AND entity_id = '{info.version}'")
    code, out = run("audit", "export", "-w", ws_path, "--model", "v1", "--out", tmp_path / "exp")
    doc = json.loads((tmp_path / "exp" / "model_documentation.json").read_text())
    assert code == 1 and "audit chain broken" in out
    assert doc["audit_trail"]["chain_ok"] is False and "unreadable row" in doc["audit_trail"]["reason"]
    assert "is not JSON" in doc["human_oversight"]["model_history"][0]["unreadable"]


def test_drift_unknown_station_is_not_found(tmp_path: Path) -> None:
    from assetgrade.store.auth_schema import TelemetryRecord

    ws_path = make_ws(tmp_path / "ws", n=2)
    ws = Workspace.open(ws_path)
    try:
        with ws.session() as s:
            s.add(TelemetryRecord(station="yard-1", kind="prediction", batch_id="b0", payload={"grade": "A"}))
    finally:
        ws.close()
    code, out = run("audit", "drift", "-w", ws_path, "--station", "nope")
    assert code == 3 and "'nope'" in out and "yard-1" in out


def test_audit_of_nothing_is_bad_input(tmp_path: Path) -> None:
    ws_path = tmp_path / "nolab"
    ws = Workspace.init(ws_path)
    with ws.session() as s:
        for i in range(3):
            add_asset(s, f"n{i}", asset_type="pump", attributes={"site": "x"})
    ws.close()
    code, out = run("audit", "-w", ws_path)
    assert code == 2 and "none of the 3 assets has a grade" in " ".join(out.split())
    labelled = make_ws(tmp_path / "ws", n=4)
    code, out = run("audit", "-w", labelled, "--label-key", "grde")
    out = " ".join(out.split())
    assert code == 2 and "--label-key 'grde': no asset has that attribute" in out and "split" in out
    code, out = run("audit", "-w", labelled, "--checks", ",")
    assert code == 2 and "no check named" in out


def test_empty_check_list_is_a_config_error(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", n=4)
    with (ws / "assetgrade.yaml").open("a", encoding="utf-8") as fh:
        fh.write("audit:\n  checks: []\n")
    code, out = run("audit", "-w", ws)  # named at its line, as config check names it
    line = len((ws / "assetgrade.yaml").read_text(encoding="utf-8").splitlines())
    assert code == 2 and f"assetgrade.yaml:line {line}:column 3:audit.checks: empty" in " ".join(out.split())
    code, out = run("config", "check", "-w", ws)
    assert code != 0 and "audit.checks: empty" in " ".join(out.split())


def test_golden_freeze_option_edge_cases(tmp_path: Path) -> None:
    ws_path = make_ws(tmp_path / "ws", n=6)
    ws = Workspace.open(ws_path)
    try:
        with ws.session() as s:
            add_asset(s, "nosplit", asset_type="pump")
            add_asset(s, "nullsplit", asset_type="pump", attributes={"split": None})
            for aid in ("nosplit", "nullsplit"):
                add_label(s, asset_id=aid, kind="grade", value="A", annotator="expert")
    finally:
        ws.close()
    code, out = run("golden", "freeze", "-w", ws_path, "--split", "test", "--sample", -1, "--name", "a")
    assert code == 2 and "--sample" in out
    code, out = run("golden", "freeze", "-w", ws_path, "--split", "None", "--name", "b")
    assert code == 3 and "no asset has split 'None'" in out
    code, out = run("golden", "freeze", "-w", ws_path, "a00", "a01", "--sample", 1, "--name", "c")
    assert code == 2 and "give --split" in " ".join(out.split())
    code, out = run("golden", "freeze", "-w", ws_path, "--split", " ", "--name", "d")
    assert code == 2 and "--split" in out
    code, out = run("golden", "freeze", "-w", ws_path, "--split", "test", "--sample", 2, "--name", "e")
    assert code == 0 and ": 2 assets" in out
    code, out = run("golden", "show", "e", "-w", ws_path, "--json")
    assert code == 0 and json.loads(out)["n_items"] == 2


def test_a_bad_setting_is_refused_before_any_record_is_read_or_embedded(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import assetgrade.store.loading as loading

    ws = make_ws(tmp_path / "ws")

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("records were read before the settings were judged")

    monkeypatch.setattr(loading, "load_records", no_reading)
    for bad in (["--set", "duplicates.min_cosin=0.9"], ["--set", "coverage.by=x", "--checks", "duplicates"],
                ["--checks", "no_such_check"]):
        code, out = run("audit", "-w", ws, "--embed", *bad)
        assert code == 2, (bad, out)
    code, out = run("audit", "-w", ws, "--set", "duplicates.min_cosin=0.9")
    assert code == 2 and "min_cosin" in out


def test_verify_of_an_empty_trail_says_so_instead_of_head_none(tmp_path: Path) -> None:
    from sqlalchemy import delete

    from assetgrade.store.schema import AuditEvent

    ws = Workspace.init(tmp_path / "ws")
    with ws.session() as s:  # a store whose trail holds nothing yet (init itself may record an event)
        s.execute(delete(AuditEvent))
    ws.close()
    code, out = run("audit", "verify", "-w", tmp_path / "ws")
    assert code == 0 and "no events yet" in out and "None" not in out
    code, out = run("audit", "verify", "-w", make_ws(tmp_path / "ws2", n=2))
    assert code == 0 and "events, head " in out and "None" not in out
