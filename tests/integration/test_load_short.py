"""The load script's nothing-lost check in a short form: a real uvicorn server, a few seconds of mixed load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.pg import pg_url

from assetgrade.errors import ValidationError
from assetgrade.loadtest import LoadConfig, ServiceProcess, run_load, seed_load, summarise, verify_accepted
from assetgrade.workspace import Workspace

PG_ENV = "ASSETGRADE_TEST_PG_LOAD_URL"
PG_DEFAULT = "postgresql+psycopg://assetgrade:assetgrade@127.0.0.1:5432/assetgrade_load_test"
SHORT = LoadConfig(readers=3, reviewers=3, stations=2, duration_s=2.0, max_requests=400, image_every=3)


def _short_run(root: Path, store_url: str | None, workers: int = 1) -> None:
    ws = Workspace.init(root, store_url)
    try:
        seeded = seed_load(ws, run_id=os.urandom(4).hex(), n_assets=30, reviewers=3, stations=2)
        with ServiceProcess(ws.path, store_url=store_url, workers=workers, threads=2) as svc:
            run = run_load(svc.url, seeded, SHORT)
        stats = summarise(run)
        check = verify_accepted(ws, run.accepted)
    finally:
        ws.close()
    assert stats["all"]["requests"] <= SHORT.max_requests
    assert stats["all"]["errors"] == 0, stats
    assert check["reviews"]["accepted"] > 0 and check["telemetry"]["accepted"] > 0 and check["images"]["accepted"] > 0
    assert check["lost_total"] == 0, check
    assert {"read", "review", "telemetry", "image"} <= set(stats)
    assert stats["read"]["p50_ms"] <= stats["read"]["p95_ms"] <= stats["read"]["p99_ms"]


def test_short_load_on_sqlite_loses_nothing(tmp_path: Path) -> None:
    _short_run(tmp_path / "ws", None)


def test_short_load_on_two_worker_processes_loses_nothing(tmp_path: Path) -> None:
    """Two ``serve --workers`` processes write one SQLite file (writers queue on the shared file lock)."""
    _short_run(tmp_path / "ws", None, workers=2)


@pytest.mark.postgres
def test_short_load_on_postgresql_loses_nothing(tmp_path: Path) -> None:
    url = pg_url(PG_ENV, PG_DEFAULT)
    if url is None:
        pytest.skip(f"no PostgreSQL server answers: set {PG_ENV} or create the database in {PG_DEFAULT}")
    _short_run(tmp_path / "ws", url)


def test_open_loop_load_keeps_its_rates_and_loses_nothing(tmp_path: Path) -> None:
    """Poisson arrivals at fixed rates: every arrival is scheduled, none dropped at these rates, all writes kept."""
    cfg = LoadConfig(duration_s=2.0, max_requests=400, read_rate=30.0, review_rate=8.0, station_rate=6.0, image_every=3)
    ws = Workspace.init(tmp_path / "ws")
    try:
        seeded = seed_load(ws, run_id=os.urandom(4).hex(), n_assets=30, reviewers=3, stations=2)
        with ServiceProcess(ws.path, threads=2) as svc:
            run = run_load(svc.url, seeded, cfg)
        stats = summarise(run)
        check = verify_accepted(ws, run.accepted)
    finally:
        ws.close()
    assert run.open_loop is not None
    sched = run.open_loop["scheduled"]
    assert set(sched) == {"read", "review", "station"} and all(v > 0 for v in sched.values())
    assert sum(run.open_loop["dropped_over_max_in_flight"].values()) == 0
    # each scheduled job made its requests: reads + one GET per review cycle; posts = station jobs
    assert stats["read"]["requests"] == sched["read"] + sched["review"]
    assert stats["telemetry"]["requests"] + stats.get("image", {"requests": 0})["requests"] == sched["station"]
    assert stats["all"]["errors"] == 0
    assert check["lost_total"] == 0 and check["reviews"]["accepted"] > 0


def test_the_load_script_refuses_non_loopback_targets() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        run_load("http://example.com:8000", {"asset_ids": [], "tokens": {}}, SHORT)
