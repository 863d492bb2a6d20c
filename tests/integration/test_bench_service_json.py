"""``assetgrade bench service`` says how it measured: seeds, shared machine load, offered against achieved rates."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app


def test_a_short_open_loop_bench_records_its_seed_machine_load_and_rates(tmp_path: Path) -> None:
    out = tmp_path / "service.json"
    res = CliRunner().invoke(build_app(), [
        "bench", "service", "--duration", "1", "--assets", "20", "--seed", "7", "--read-rate", "20",
        "--review-rate", "4", "--station-rate", "4", "--server-workers", "1", "--workspace", str(tmp_path / "ws"),
        "--json", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["seed"] == 7 and got["seeds"]["arrivals"] == 7 and got["load"]["arrival_seed"] == 7
    assert "SeedSequence(entropy=7, spawn_key=(0, n))" in got["seeds"]["request_mix"]
    shared = got["shared_machine"]
    assert len(shared["load_avg_before"]) == 3 and len(shared["load_avg_after"]) == 3 and shared["cpus"] >= 1
    assert set(got["load"]["rates"]) == {"read", "review", "station"}
    read = got["load"]["rates"]["read"]
    assert read["target_per_s"] == 20.0 and read["sent"] == got["load"]["scheduled"]["read"]
    assert got["load"]["stopped_by"] == "duration" and "warm_up" in got
    assert got["load"]["latency_from"].startswith("each arrival's scheduled time")
    assert "rates_below_target" in got["metrics"]
    assert "nearest rank" in got["per_class"]["read"]["percentile_method"]


def test_the_default_workspace_is_a_temporary_folder_removed_after_the_run(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where mkdtemp puts the bench's folder
    out = tmp_path / "service.json"
    res = CliRunner().invoke(build_app(), [
        "bench", "service", "--duration", "0.5", "--assets", "5", "--readers", "1", "--reviewers", "1",
        "--stations", "1", "--server-workers", "1", "--json", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["metrics"]["requests"] > 0 and got["nothing_lost_check"]["lost_total"] == 0
    assert got["workspace"] == "a temporary folder, removed after the run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["service.json"]  # it left no assetgrade-load-* behind
