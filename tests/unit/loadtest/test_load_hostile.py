"""The load tooling on hostile arguments and dishonest outcomes: bad settings refused, no server named, no-request
runs and dropped arrivals not reported as good figures, unreadable 2xx answers counted as errors."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from tests.unit.loadtest.servers import serving

from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.loadtest.bench import TARGETS, service_metrics
from assetgrade.loadtest.load import Accepted, LoadConfig, LoadRun, Sample, _timed, run_load, summarise
from assetgrade.loadtest.server import free_port

SEEDED = {"asset_ids": ["a1"], "tokens": {"reader": [("r", "t")], "reviewer": [("r", "t")], "station": [("s", "t")]}}
NOTHING_LOST = {"lost_total": 0}


@pytest.mark.parametrize("field, value", [
    ("readers", -1), ("reviewers", -3), ("stations", 1.5), ("max_requests", 0), ("telemetry_items", 0),
    ("image_every", -1), ("max_in_flight", 0), ("duration_s", 0.0), ("duration_s", -2.0), ("duration_s", math.nan),
    ("timeout_s", 0.0), ("timeout_s", math.inf), ("read_rate", -1.0), ("review_rate", math.inf),
    ("station_rate", math.nan),
])
def test_bad_settings_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        LoadConfig(**{field: value})
    assert err.value.where == field


def test_a_closed_loop_without_clients_is_refused() -> None:
    with pytest.raises(ValidationError, match="no load"):
        LoadConfig(readers=0, reviewers=0, stations=0)
    assert LoadConfig(readers=0, reviewers=0, stations=0, read_rate=5.0).open_loop  # an open loop needs none


def test_an_unreachable_server_is_an_error_not_a_run_of_failures() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(AssetgradeError, match=f"no answer from the service at {url}"):
        run_load(url, SEEDED, LoadConfig(readers=1, reviewers=0, stations=0, duration_s=5.0, max_requests=50,
                                         timeout_s=2.0))


def test_a_run_without_requests_reports_no_latency_and_meets_nothing() -> None:
    run = LoadRun(samples=[], accepted=Accepted(), wall_s=0.01)
    stats = summarise(run)
    assert stats["all"] == {"requests": 0, "per_s": 0.0, "p99_ms": None, "errors": 0}
    metrics = service_metrics(stats, NOTHING_LOST, run)
    assert metrics["p99_ms_worst_class"] is None and metrics["requests"] == 0 and not metrics["meets_targets"]


def _fast_run(open_loop: dict[str, Any] | None = None) -> LoadRun:
    """Far above the targets: 10 s of reads and reviews at 5 ms each."""
    n_read, n_review = int(TARGETS["read_per_s"] * 20), int(TARGETS["review_writes_per_s"] * 20)
    samples = [Sample("read", 200, 0.005)] * n_read + [Sample("review", 201, 0.005)] * n_review
    return LoadRun(samples=samples, accepted=Accepted(), wall_s=10.0, open_loop=open_loop)


def test_dropped_open_loop_arrivals_fail_the_targets() -> None:
    run = _fast_run({"dropped_over_max_in_flight": {"read": 0, "review": 0}})
    assert service_metrics(summarise(run), NOTHING_LOST, run)["meets_targets"]
    run = _fast_run({"dropped_over_max_in_flight": {"read": 7, "review": 0}})  # 7 arrivals never timed
    metrics = service_metrics(summarise(run), NOTHING_LOST, run)
    assert metrics["dropped_arrivals"] == 7 and not metrics["meets_targets"]


@pytest.fixture
def broken_server() -> Iterator[str]:
    """An HTTP server on loopback whose 2xx answers are cut short (not JSON a client can read)."""
    async def truncated(_request: web.Request) -> web.Response:
        return web.Response(status=201, body=b'{"id": "rv_1", "asset', content_type="application/json")

    with serving(truncated) as url:
        yield url


def test_an_unreadable_2xx_answer_is_an_error_not_a_success(broken_server: str) -> None:
    async def go() -> tuple[list[Sample], Any]:
        samples: list[Sample] = []
        async with aiohttp.ClientSession(base_url=broken_server) as client:
            reply = await _timed(client, samples, "review", "POST", "/api/v1/assets/a1/reviews", json={})
        return samples, reply

    samples, reply = asyncio.run(go())
    assert reply is None and [s.status for s in samples] == [0]
    run = LoadRun(samples=samples, accepted=Accepted(), wall_s=1.0)
    assert summarise(run)["review"]["errors"] == 1 and summarise(run)["review"]["ok"] == 0
