"""``bench grade-api`` grades a copy of the workspace through a real server and leaves the workspace untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assetgrade.errors import NotFoundError
from assetgrade.loadtest.grade_bench import run_grade_api_bench
from assetgrade.store.audit import list_events
from assetgrade.workspace import Workspace


def test_grade_api_bench_grades_a_copy_twice(trained_template: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    shutil.copytree(trained_template[0], tmp_path / "ws")  # the session's trained workspace (conftest.py)
    res = run_grade_api_bench(tmp_path / "ws", n_assets=4, threads=2).to_dict()
    m = res["metrics"]
    assert m["n_assets"] == 4 and m["same_results"] is True and m["first_request_ms"] > 0
    for p in ("cold", "again"):
        st = res["passes"][p]
        assert 0 < st["p50_ms"] <= st["p95_ms"] <= st["max_ms"] and m[f"{p}_assets_per_s"] > 0
    shared = res["shared_machine"]  # the load average before and after, as bench service records it
    assert len(shared["load_avg_before"]) == 3 and len(shared["load_avg_after"]) == 3 and shared["cpus"] >= 1
    with Workspace.open(tmp_path / "ws") as ws, ws.session(readonly=True) as s:
        assert list_events(s, action="grade.decision") == []  # the copy was graded, not the workspace
        assert not ws.evidence_cache_path.exists()


def test_grade_api_bench_needs_a_trained_grader(trained_template: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    shutil.copytree(trained_template[0], tmp_path / "ws")
    shutil.rmtree(tmp_path / "ws" / "models" / "grader")
    with pytest.raises(NotFoundError, match="assetgrade train"):
        run_grade_api_bench(tmp_path / "ws", n_assets=2)
