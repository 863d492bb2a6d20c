"""What the load harness measures: latency from the intended send time in the open loop (no coordinated
omission), nearest-rank percentiles with their sample counts, offered versus achieved rates, Poisson
arrivals fixed by the seed. Hand-computed values; no timing assertions."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Iterator

import aiohttp
import pytest
from aiohttp import web
from tests.unit.loadtest.servers import serving

from assetgrade.loadtest.bench import TARGETS, service_metrics
from assetgrade.loadtest.load import Accepted, LoadRun, Sample, _reader, _timed, summarise
from assetgrade.loadtest.server import free_port
from assetgrade.loadtest.stats import arrivals, nearest_rank, rate_check

NOTHING_LOST = {"lost_total": 0}


# --- latency from the intended send time (coordinated omission) ---------------------------------------------------

def test_an_open_loop_request_is_timed_from_its_intended_start_not_from_when_it_was_sent() -> None:
    """An arrival the client sends 5 s late (its loop fell behind) waited 5 s: that wait is latency."""
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: a real connection refusal, answered at once

    async def go() -> list[Sample]:
        samples: list[Sample] = []
        async with aiohttp.ClientSession(base_url=url) as client:
            await _timed(client, samples, "read", "GET", "/x", intended=time.perf_counter() - 5.0)
            await _timed(client, samples, "read", "GET", "/x")  # closed loop: from the send
        return samples

    late, on_time = asyncio.run(go())
    assert late.status == 0 and late.latency_s >= 5.0 and late.send_delay_s >= 5.0
    assert on_time.latency_s < 5.0 and on_time.send_delay_s == 0.0


def test_an_open_loop_job_passes_its_intended_start_to_its_request() -> None:
    from assetgrade.loadtest.load import _Budget

    url = f"http://127.0.0.1:{free_port()}"
    import random

    async def go() -> list[Sample]:
        samples: list[Sample] = []
        async with aiohttp.ClientSession(base_url=url) as client:
            await _reader(client, "t", ["a1"], _Budget.of(1), samples, random.Random(0),
                          intended=time.perf_counter() - 3.0)
        return samples

    (sample,) = asyncio.run(go())
    assert sample.latency_s >= 3.0


# --- percentiles ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("q, want", [(50, 5.0), (90, 9.0), (95, 10.0), (99, 10.0), (100, 10.0), (10, 1.0), (11, 2.0)])
def test_nearest_rank_on_one_to_ten(q: float, want: float) -> None:
    assert nearest_rank([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10], q) == want


def test_nearest_rank_on_a_thousand() -> None:
    xs = [float(i) for i in range(1, 1001)]
    assert nearest_rank(xs, 99) == 990.0 and nearest_rank(xs, 99.9) == 999.0 and nearest_rank(xs, 50) == 500.0


def test_nearest_rank_refuses_no_samples_and_bad_q() -> None:
    with pytest.raises(ValueError):
        nearest_rank([], 50)
    with pytest.raises(ValueError):
        nearest_rank([1.0], 0)


def _run(latencies_ms: list[float], kind: str = "read") -> LoadRun:
    return LoadRun(samples=[Sample(kind, 200, ms / 1000.0) for ms in latencies_ms], accepted=Accepted(), wall_s=1.0)


def test_summary_percentiles_are_nearest_rank_and_name_their_method_and_count() -> None:
    stats = summarise(_run([float(i) for i in range(1, 11)]))["read"]
    # linear interpolation (numpy's default) gave 5.5 / 9.55 / 9.91: latencies no request had
    assert (stats["p50_ms"], stats["p95_ms"], stats["p99_ms"]) == (5.0, 10.0, 10.0)
    assert stats["requests"] == 10 and "nearest rank" in stats["percentile_method"]
    # 10 samples cannot tell a p99 from the slowest one, nor give a p99.9
    assert stats["p99_is_max"] is True and stats["p999_ms"] is None


def test_a_thousand_samples_give_a_p999_and_a_p99_below_the_max() -> None:
    stats = summarise(_run([float(i) for i in range(1, 1001)]))["read"]
    assert stats["p99_ms"] == 990.0 and stats["p999_ms"] == 999.0 and stats["p99_is_max"] is False
    assert summarise(_run([float(i) for i in range(1, 1001)]))["all"]["p99_ms"] == 990.0


def test_errors_stay_in_the_latency_figures() -> None:
    """A request that timed out after 10 s is the slowest request of the class, not a dropped one."""
    samples = [Sample("read", 200, 0.001)] * 99 + [Sample("read", 0, 10.0)]
    stats = summarise(LoadRun(samples=samples, accepted=Accepted(), wall_s=1.0))["read"]
    assert stats["requests"] == 100 and stats["errors"] == 1 and stats["max_ms"] == 10000.0
    assert stats["p99_ms"] == 1.0 and stats["p99_is_max"] is False  # 99 of 100 at or below 1 ms


# --- offered versus achieved rates ----------------------------------------------------------------------------------

def test_rate_check_on_hand_computed_values() -> None:
    # 50/s over 20 s: 1,000 expected; Poisson sd sqrt(1000) = 31.6, so below 1000 - 3 * 31.6 = 905.1 is a shortfall
    ok = rate_check(target_per_s=50.0, sent=989, window_s=20.0)
    assert ok == {"target_per_s": 50.0, "sent": 989, "expected": 1000.0, "achieved_per_s": 49.45,
                  "below_target": False}
    assert rate_check(target_per_s=50.0, sent=906, window_s=20.0)["below_target"] is False
    assert rate_check(target_per_s=50.0, sent=905, window_s=20.0)["below_target"] is True
    assert rate_check(target_per_s=50.0, sent=0, window_s=0.0)["achieved_per_s"] is None


def _fast_open_run(rates: dict[str, object]) -> LoadRun:
    n_read, n_review = int(TARGETS["read_per_s"] * 20), int(TARGETS["review_writes_per_s"] * 20)
    samples = [Sample("read", 200, 0.005)] * n_read + [Sample("review", 201, 0.005)] * n_review
    return LoadRun(samples=samples, accepted=Accepted(), wall_s=10.0,
                   open_loop={"dropped_over_max_in_flight": {"read": 0}, "rates": rates})


def test_an_open_loop_that_sent_less_than_its_target_rate_fails_the_targets() -> None:
    good = _fast_open_run({"read": rate_check(target_per_s=200.0, sent=2000, window_s=10.0)})
    assert service_metrics(summarise(good), NOTHING_LOST, good)["meets_targets"]
    short = _fast_open_run({"read": rate_check(target_per_s=200.0, sent=1500, window_s=10.0)})
    metrics = service_metrics(summarise(short), NOTHING_LOST, short)
    assert metrics["rates_below_target"] == ["read"] and not metrics["meets_targets"]


# --- Poisson arrivals fixed by the seed -----------------------------------------------------------------------------

def test_arrivals_are_fixed_by_the_seed() -> None:
    a = list(itertools.islice(arrivals({"read": 150.0, "review": 50.0}, seed=3), 500))
    assert a == list(itertools.islice(arrivals({"read": 150.0, "review": 50.0}, seed=3), 500))
    assert a != list(itertools.islice(arrivals({"read": 150.0, "review": 50.0}, seed=4), 500))
    assert [t for t, _ in a] == sorted(t for t, _ in a) and a[0][0] > 0


def test_arrivals_are_poisson_at_their_rates() -> None:
    """20,000 arrivals (seeded): each kind's gaps have mean 1 / rate and a coefficient of variation of 1."""
    a = list(itertools.islice(arrivals({"read": 150.0, "review": 50.0}, seed=0), 20_000))
    for kind, rate in (("read", 150.0), ("review", 50.0)):
        ts = [t for t, k in a if k == kind]
        gaps = [b - x for x, b in itertools.pairwise(ts)]
        mean = statistics.fmean(gaps)
        assert abs(mean * rate - 1.0) < 0.05, (kind, mean)
        assert abs(statistics.pstdev(gaps) / mean - 1.0) < 0.05, kind
    assert abs(sum(k == "review" for _, k in a) / len(a) - 0.25) < 0.02


def test_arrivals_match_the_draws_of_earlier_runs() -> None:
    """The same seed gives the arrival times earlier runs used: first draws per kind in rate order, then per event."""
    import random

    rng = random.Random(0)
    want_read, want_review = rng.expovariate(10.0), rng.expovariate(1.0)
    first = list(itertools.islice(arrivals({"read": 10.0, "review": 1.0}, seed=0), 1))
    assert first == [(min(want_read, want_review), "read" if want_read < want_review else "review")]


# --- errors by cause ------------------------------------------------------------------------------------------------

@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP server on loopback that accepts a request and never answers it (as a stuck service would)."""
    async def stuck(_request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response(status=200)

    with serving(stuck, shutdown_timeout=0.1) as url:
        yield url


def test_time_outs_refusals_and_5xx_are_counted_apart(silent_server: str) -> None:
    refused = f"http://127.0.0.1:{free_port()}"

    async def go() -> list[Sample]:
        samples: list[Sample] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as client:
            await _timed(client, samples, "read", "GET", silent_server + "/x")
            await _timed(client, samples, "read", "GET", refused + "/x")
        return samples

    samples = [*asyncio.run(go()), Sample("read", 503, 0.01), Sample("read", 200, 0.01)]
    assert [s.error for s in samples] == ["timeout", "transport", "", ""]
    stats = summarise(LoadRun(samples=samples, accepted=Accepted(), wall_s=1.0))["read"]
    assert stats["errors"] == 3
    assert stats["errors_by_cause"] == {"timeout": 1, "transport": 1, "unreadable_2xx": 0, "5xx": 1}


def test_page_and_grading_bench_latencies_are_nearest_rank_with_their_count() -> None:
    from assetgrade.loadtest.ui_bench import latency_stats

    st = latency_stats([10.0, 1, 2, 3, 4, 5, 6, 7, 8, 9])  # unsorted, as timed
    assert (st["p50_ms"], st["p95_ms"], st["max_ms"], st["mean_ms"], st["n"]) == (5.0, 10.0, 10.0, 5.5, 10)


@pytest.fixture
def ok_server() -> Iterator[str]:
    """An HTTP server on loopback answering every request 200 with an empty JSON object."""
    async def ok(_request: web.Request) -> web.Response:
        return web.json_response({})

    with serving(ok) as url:
        yield url


def test_a_run_cut_by_max_requests_measures_its_rate_over_the_window_it_ran(ok_server: str) -> None:
    """Three reads allowed at 50/s: the window ends at the 4th arrival's time (seed 5), and 3 were sent in it."""
    from assetgrade.loadtest.load import LoadConfig, run_load

    seeded = {"asset_ids": ["a1"], "tokens": {"reader": [("r", "t")], "reviewer": [("r", "t")],
                                              "station": [("s", "t")]}}
    run = run_load(ok_server, seeded, LoadConfig(read_rate=50.0, duration_s=600.0, max_requests=3, seed=5))
    fourth = list(itertools.islice(arrivals({"read": 50.0}, seed=5), 4))[3][0]
    info = run.open_loop
    assert info is not None and info["stopped_by"] == "max_requests" and info["arrival_seed"] == 5
    assert info["arrival_window_s"] == round(fourth, 3)
    assert info["rates"]["read"] == rate_check(target_per_s=50.0, sent=3, window_s=fourth)
    assert len(run.samples) == 3 and all(s.status == 200 for s in run.samples)


def test_an_open_loop_offered_at_the_targets_is_judged_by_its_offered_rates() -> None:
    """A Poisson count just under the target's mean, and a few answered 409s, do not fail an open loop whose
    offered rates reach the targets; offered rates below them do, whatever was answered."""
    n_read, n_review = 3976, 980  # 198.8 reads/s and 49.0 writes/s answered over 20 s: chance, not a shortfall
    samples = ([Sample("read", 200, 0.005)] * n_read + [Sample("review", 201, 0.005)] * n_review
               + [Sample("review", 409, 0.005)] * 9)
    rates = {"read": rate_check(target_per_s=150.0, sent=2976, window_s=20.0),
             "review": rate_check(target_per_s=50.0, sent=989, window_s=20.0)}
    run = LoadRun(samples=samples, accepted=Accepted(), wall_s=20.0,
                  open_loop={"dropped_over_max_in_flight": {"read": 0, "review": 0}, "rates": rates,
                             "offered_per_s": {"read": 150.0, "review": 50.0}})
    metrics = service_metrics(summarise(run), NOTHING_LOST, run)
    assert metrics["read_per_s"] < TARGETS["read_per_s"] and metrics["review_writes_per_s"] < 50.0
    assert metrics["meets_targets"] and metrics["throughput_judged_by"].startswith("offered rates (open loop): 200.0")
    low = LoadRun(samples=samples, accepted=Accepted(), wall_s=20.0,
                  open_loop={"dropped_over_max_in_flight": {"read": 0, "review": 0}, "rates": rates,
                             "offered_per_s": {"read": 140.0, "review": 50.0}})  # 190 reads/s offered
    assert not service_metrics(summarise(low), NOTHING_LOST, low)["meets_targets"]
    closed = LoadRun(samples=samples, accepted=Accepted(), wall_s=20.0)
    judged = service_metrics(summarise(closed), NOTHING_LOST, closed)
    assert not judged["meets_targets"] and judged["throughput_judged_by"] == "answered per second (closed loop)"
