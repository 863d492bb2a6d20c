"""Each open-loop arrival and each closed-loop client draws its requests from its own generator, and no two
(seed, stream, index) triples share one: runs with different seeds are independent, the same seed repeats itself."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from aiohttp import web
from tests.unit.loadtest.servers import serving

from assetgrade.errors import ValidationError
from assetgrade.loadtest.load import LoadConfig, run_load
from assetgrade.loadtest.stats import REQUEST_STREAMS, request_rng

IDS = [f"a{i:02d}" for i in range(40)]
SEEDED = {"asset_ids": IDS, "tokens": {"reader": [("r", "t")], "reviewer": [("r", "t")], "station": [("s", "t")]}}


def _draws(seed: int, stream: str, n: int) -> list[float]:
    rng = request_rng(seed, stream, n)
    return [rng.random() for _ in range(8)]


def test_seed_1_does_not_repeat_the_request_mix_of_seed_0() -> None:
    """With ``random.Random(seed * 7919 + n)``, seed 1's arrival 0 drew what seed 0's arrival 7919 drew."""
    assert _draws(1, "arrival", 0) != _draws(0, "arrival", 7919)
    assert _draws(1, "reader", 0) != _draws(0, "reader", 1000)  # the closed loop's seed * 1000 + i
    assert _draws(0, "reader", 100) != _draws(0, "reviewer", 0)  # and its reader 100 was reviewer 0


def test_no_two_seeds_streams_or_indices_share_a_generator() -> None:
    firsts = {request_rng(seed, stream, n).getrandbits(64)
              for seed, stream, n in itertools.product(range(3), REQUEST_STREAMS, range(8000))}
    assert len(firsts) == 3 * len(REQUEST_STREAMS) * 8000


def test_the_same_seed_gives_the_same_request_mix() -> None:
    assert _draws(7, "arrival", 123) == _draws(7, "arrival", 123)
    assert _draws(7, "station", 2) == _draws(7, "station", 2)


def test_the_request_mix_of_a_seed_is_the_one_earlier_runs_drew() -> None:
    """Pinned draws: a change in how the generators are derived (here or in numpy's SeedSequence) shows up here."""
    assert request_rng(0, "arrival", 1).getrandbits(64) == 17102157698848096853
    assert request_rng(7, "reader", 0).random() == 0.9457361074193273


def test_unknown_streams_and_out_of_range_seeds_are_refused() -> None:
    with pytest.raises(ValueError, match="'writer'"):
        request_rng(0, "writer", 0)
    with pytest.raises(ValidationError, match="-1"):
        LoadConfig(seed=-1)
    with pytest.raises(ValidationError, match="4294967296"):
        LoadConfig(seed=2**32)


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback server answering 200 {} that records each request's path and query."""
    seen: list[str] = []

    async def ok(request: web.Request) -> web.Response:
        seen.append(str(request.rel_url))
        return web.json_response({})

    with serving(ok) as url:
        yield url, seen


def _reader_request(seed: int, stream: str, n: int) -> str:
    """The request a reader drawing from ``request_rng(seed, stream, n)`` makes first (as ``_reader`` draws it)."""
    rng = request_rng(seed, stream, n)
    r = rng.random()
    if r < 0.4:
        return f"/api/v1/queue?limit=20&offset={rng.randrange(0, 100)}"
    if r < 0.8:
        return f"/api/v1/assets/{rng.choice(IDS)}"
    return "/api/v1/assets?limit=20"


@pytest.mark.parametrize("seed", [3, 11])
def test_the_open_loop_draws_each_arrival_from_its_own_stream(recording_server: tuple[str, list[str]],
                                                              seed: int) -> None:
    url, seen = recording_server
    run_load(url, SEEDED, LoadConfig(read_rate=50.0, duration_s=600.0, max_requests=1, seed=seed))
    assert seen[-1] == _reader_request(seed, "arrival", 1)  # after the warm-up: arrival 1, the only one


@pytest.mark.parametrize("seed", [3, 11])
def test_the_closed_loop_draws_each_client_from_its_own_stream(recording_server: tuple[str, list[str]],
                                                               seed: int) -> None:
    url, seen = recording_server
    run_load(url, SEEDED, LoadConfig(readers=1, reviewers=0, stations=0, max_requests=1, seed=seed))
    assert seen[-1] == _reader_request(seed, "reader", 0)
