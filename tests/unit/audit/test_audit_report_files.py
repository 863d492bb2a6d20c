"""Audit report files: written whole or not at all, never one over the other, unwritable paths named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.unit.audit.test_audit_hostile_cli import make_ws, run

from assetgrade.audit.base import AuditReport, CheckResult
from assetgrade.audit.report import write_report
from assetgrade.errors import StoreError, ValidationError


def _report() -> AuditReport:
    res = CheckResult("demo", np.ones(2), np.zeros(2, bool), 1.0, True, "ok")
    return AuditReport({"demo": res}, n_items=2, item_ids=["a", "b"])


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "audit.json"
    write_report(_report(), json_path=out)
    before = out.read_text(encoding="utf-8")
    real_write = Path.write_text

    def disk_full(self: Path, text: str, *args: object, **kwargs: object) -> int:
        real_write(self, text[: len(text) // 2], *args, **kwargs)  # type: ignore[arg-type]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(StoreError, match="No space left on device") as exc:
        write_report(_report(), json_path=out)
    assert str(out) in str(exc.value)
    monkeypatch.undo()
    assert out.read_text(encoding="utf-8") == before
    assert json.loads(before)["n_items"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json"]  # no temporary file left behind


def test_one_path_for_json_and_html_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="same file"):
        write_report(_report(), json_path=tmp_path / "r", html_path=tmp_path / "." / "r")
    assert not (tmp_path / "r").exists()


def test_cli_refuses_html_over_the_json_report_before_auditing(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", n=4)
    code, out = run("audit", "-w", ws, "--html", ws / "reports" / "audit.json")
    assert code == 2 and "--html" in out and "default" in out
    assert not (ws / "reports" / "audit.json").exists()
    code, out = run("audit", "-w", ws, "--json", tmp_path / "r.json", "--html", tmp_path / "r.json")
    assert code == 2 and "give the HTML report another name" in out
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("value", ["[", "'unterminated", "!!python/name:os.system", "{a: [1"])
def test_set_value_that_is_not_yaml_is_a_usage_error_naming_it(tmp_path: Path, value: str) -> None:
    ws = make_ws(tmp_path / "ws", n=4)
    code, out = run("audit", "-w", ws, "--checks", "imbalance", "--set", f"imbalance.min_ratio={value}")
    assert code == 2
    assert "--set" in out and "imbalance.min_ratio=" in out
