"""``bench ui`` on a small demo workspace: every timed page answers, and the workspace measured is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from assetgrade.errors import ValidationError
from assetgrade.loadtest.ui_bench import run_ui_bench
from assetgrade.rest.demo import seed_demo
from assetgrade.store.auth_schema import ApiToken
from assetgrade.store.schema import AuditEvent
from assetgrade.workspace import Workspace


def test_ui_bench_times_every_page_and_leaves_the_workspace_alone(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    seed_demo(ws, n_assets=4, seed=1)
    with ws.session(readonly=True) as s:
        n_events = len(s.execute(select(AuditEvent.seq)).all())
    ws.close()
    res = run_ui_bench(tmp_path / "ws", n_assets=3, threads=2).to_dict()
    assert res["metrics"]["n_pages"] == 3
    for p in ("first_view", "again"):
        doc = res["passes"][p]["document"]
        assert 0 < doc["p50_ms"] <= doc["p95_ms"] <= doc["max_ms"]
        assert res["passes"][p]["handler"]["p50_ms"] > 0  # Server-Timing was read
        assert res["passes"][p]["with_images"]["p50_ms"] >= doc["p50_ms"]
    assert res["images_per_page"]["max"] >= 1  # the demo pages reference images and overlays
    shared = res["shared_machine"]  # the load average before and after, as bench service records it
    assert len(shared["load_avg_before"]) == 3 and len(shared["load_avg_after"]) == 3 and shared["cpus"] >= 1
    ws = Workspace.open(tmp_path / "ws")
    with ws.session(readonly=True) as s:  # it ran on a copy: no login token, no audit event, no service log here
        assert s.execute(select(ApiToken).where(ApiToken.name.startswith("bench-ui-"))).scalars().all() == []
        assert len(s.execute(select(AuditEvent.seq)).all()) == n_events
    ws.close()
    assert not (tmp_path / "ws" / "reports" / "service.log").exists()


def test_ui_bench_refuses_an_ungraded_workspace(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with pytest.raises(ValidationError, match="no graded asset"):
        run_ui_bench(tmp_path / "ws", n_assets=3)
