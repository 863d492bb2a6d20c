"""The load: concurrent reviewers and stations against a running service, bounded in count and time.

Readers page through the review queue and asset pages; reviewers read an asset and post a review
against the version they saw (a 409 is a counted conflict, not an error); stations post
telemetry batches (unique ``batch_id``) and now and then an image. Every request is timed; every
accepted write (2xx) is remembered so :mod:`assetgrade.loadtest.verify` can check it is stored.
Only loopback URLs are accepted.
"""

from __future__ import annotations

import asyncio
import io
import math
import random
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

import aiohttp
import numpy as np

from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.loadtest.stats import arrivals, rate_check, request_rng, summarise
from assetgrade.seeds import SEED_MAX
from assetgrade.store.repository import add_asset
from assetgrade.store.results import add_prediction

__all__ = ["Accepted", "LoadConfig", "LoadRun", "Sample", "run_load", "seed_load", "summarise"]

API = "/api/v1"
GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class LoadConfig:
    """How much load: concurrent clients of each kind, and the bounds (whichever comes first).

    Examples
    --------
    >>> LoadConfig(duration_s=2, max_requests=100).readers
    16
    """

    readers: int = 16
    reviewers: int = 12
    stations: int = 4
    duration_s: float = 20.0
    max_requests: int = 50_000
    telemetry_items: int = 5
    image_every: int = 4
    timeout_s: float = 10.0
    seed: int = 0
    # open loop: arrivals per second (Poisson), independent of how fast the service answers;
    # all zero = closed loop (each client waits for its answer before the next request)
    read_rate: float = 0.0
    review_rate: float = 0.0
    station_rate: float = 0.0
    max_in_flight: int = 512

    def __post_init__(self) -> None:
        """Refuse a load that cannot run or would report nothing, naming the field."""
        counts = {"readers": (self.readers, 0), "reviewers": (self.reviewers, 0), "stations": (self.stations, 0),
                  "max_requests": (self.max_requests, 1), "telemetry_items": (self.telemetry_items, 1),
                  "image_every": (self.image_every, 0), "max_in_flight": (self.max_in_flight, 1)}
        for name, (count, low) in counts.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < low:
                raise ValidationError(f"{count!r} must be a whole number >= {low}", where=name)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX:
            raise ValidationError(f"{self.seed!r} must be a whole number in [0, {SEED_MAX}]", where="seed")
        for name, secs in (("duration_s", self.duration_s), ("timeout_s", self.timeout_s)):
            if not (isinstance(secs, int | float) and secs > 0) or math.isnan(secs):
                raise ValidationError(f"{secs!r} must be a positive number of seconds", where=name)
        if not math.isfinite(self.timeout_s):
            raise ValidationError(f"{self.timeout_s!r} must be finite", where="timeout_s")
        for name, rate in (("read_rate", self.read_rate), ("review_rate", self.review_rate),
                           ("station_rate", self.station_rate)):
            if not (isinstance(rate, int | float) and math.isfinite(rate) and rate >= 0):
                raise ValidationError(f"{rate!r} must be a finite number >= 0 (requests per second)", where=name)
        if not self.open_loop and self.readers + self.reviewers + self.stations == 0:
            raise ValidationError("no load: at least one reader, reviewer or station (closed loop), or a read,"
                                  " review or station rate (open loop)", where="readers")

    @property
    def open_loop(self) -> bool:
        """Whether arrivals follow fixed rates (``*_rate``) instead of the clients' own pace."""
        return self.read_rate > 0 or self.review_rate > 0 or self.station_rate > 0


@dataclass(frozen=True)
class Sample:
    """One request: its class (read, review, telemetry, image), HTTP status (0: transport error), latency.

    ``latency_s`` runs to the end of the answer from the request's intended start: in the open loop the
    arrival time it was scheduled for, so time it waited in the client (``send_delay_s``: a loop that
    fell behind, a full connection pool) counts; in the closed loop the moment it was sent. ``error``
    says why a status-0 request failed: ``timeout`` (no whole answer within ``timeout_s``),
    ``transport`` (refused, reset, a broken answer) or ``unreadable_2xx`` (a 2xx body that is not JSON).
    """

    kind: str
    status: int
    latency_s: float
    send_delay_s: float = 0.0
    error: str = ""


@dataclass
class Accepted:
    """Writes the service accepted (2xx), to be found in the store afterwards."""

    reviews: list[dict[str, Any]] = field(default_factory=list)
    telemetry: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LoadRun:
    """What a load run produced: the samples, the accepted writes, the wall time."""

    samples: list[Sample]
    accepted: Accepted
    wall_s: float
    open_loop: dict[str, Any] | None = None


def seed_load(ws: Any, *, run_id: str, n_assets: int, reviewers: int, stations: int) -> dict[str, Any]:
    """Assets ``ld-RUN-i`` with a prediction each (so the queue is full) and tokens; returns ids and tokens."""
    from assetgrade.rest.auth import create_token

    rng = np.random.default_rng(0)
    ids = [f"ld-{run_id}-{i:05d}" for i in range(n_assets)]
    with ws.session() as s:
        for i, aid in enumerate(ids):
            add_asset(s, aid, asset_type=("pump", "valve", "motor")[i % 3], value=float(500 + i), actor="loadtest")
            p = rng.dirichlet(np.ones(len(GRADES)))
            g = GRADES[int(p.argmax())]
            add_prediction(s, aid, model_version="loadtest", grade=g,
                           distribution={k: float(v) for k, v in zip(GRADES, p, strict=True)},
                           conformal_set=[g, GRADES[min(GRADES.index(g) + 1, 3)]], decision="review",
                           expected_cost=float(100 * (1 - p.max())), actor="loadtest")
        tokens: dict[str, list[tuple[str, str]]] = {"reader": [], "reviewer": [], "station": []}
        for i in range(max(reviewers, 1)):
            name = f"rev-{run_id}-{i}"
            tokens["reviewer"].append((name, create_token(s, name=name, role="reviewer", actor="loadtest")[0]))
        for i in range(max(stations, 1)):
            name = f"st-{run_id}-{i}"
            tokens["station"].append((name, create_token(s, name=name, role="station", actor="loadtest")[0]))
        tokens["reader"] = tokens["reviewer"]
    return {"asset_ids": ids, "tokens": tokens}


def _png(rng: random.Random) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (24, 16), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img.putpixel((rng.randrange(24), rng.randrange(16)), (rng.randrange(256), 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class _Budget:
    def __init__(self, cfg: LoadConfig) -> None:
        self.deadline = time.monotonic() + cfg.duration_s
        self.left = cfg.max_requests

    @classmethod
    def of(cls, n: int) -> _Budget:
        """Exactly ``n`` requests (one open-loop job), whatever the time."""
        return cls(LoadConfig(duration_s=3600.0, max_requests=n))

    def take(self) -> bool:
        if self.left <= 0 or time.monotonic() >= self.deadline:
            return False
        self.left -= 1
        return True


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any


async def _timed(client: aiohttp.ClientSession, samples: list[Sample], kind: str, method: str, url: str,
                 intended: float | None = None, **kw: Any) -> _Reply | None:
    """One request, timed to the end of its body from ``intended`` (a ``perf_counter`` time; None: now).

    None on a transport error (counted as status 0). An open-loop arrival passes the time it was
    scheduled for, so a request the client sent late is timed from when it should have gone out
    (coordinated omission: Tene, "How NOT to measure latency", 2015; wrk2 does the same).
    """
    sent = time.perf_counter()
    t = sent if intended is None else min(intended, sent)
    delay = sent - t
    try:
        async with client.request(method, url, **kw) as resp:
            raw = await resp.read()
            status = resp.status
    except TimeoutError:  # before ClientError: aiohttp's ServerTimeoutError is both
        samples.append(Sample(kind, 0, time.perf_counter() - t, delay, "timeout"))
        return None
    except aiohttp.ClientError:
        samples.append(Sample(kind, 0, time.perf_counter() - t, delay, "transport"))
        return None
    latency = time.perf_counter() - t
    body: Any = None
    if 200 <= status < 300 and raw[:1] in (b"{", b"["):
        import json

        try:
            body = json.loads(raw)
        except ValueError:  # an accepted answer the client cannot read is an error, not a success
            samples.append(Sample(kind, 0, latency, delay, "unreadable_2xx"))
            return None
    samples.append(Sample(kind, status, latency, delay))
    return _Reply(status, body)


async def _reader(client: aiohttp.ClientSession, token: str, ids: list[str], budget: _Budget, samples: list[Sample],
                  rng: random.Random, intended: float | None = None) -> None:
    """Reads until the budget ends; the first is timed from ``intended`` (an open-loop arrival), the rest as sent."""
    h = {"Authorization": f"Bearer {token}"}
    while budget.take():
        r = rng.random()
        if r < 0.4:
            await _timed(client, samples, "read", "GET", f"{API}/queue", intended, params={"limit": 20,
                         "offset": rng.randrange(0, 100)}, headers=h)
        elif r < 0.8:
            await _timed(client, samples, "read", "GET", f"{API}/assets/{rng.choice(ids)}", intended, headers=h)
        else:
            await _timed(client, samples, "read", "GET", f"{API}/assets", intended, params={"limit": 20}, headers=h)
        intended = None


async def _reviewer(client: aiohttp.ClientSession, name: str, token: str, ids: list[str], budget: _Budget,
                    samples: list[Sample], accepted: Accepted, rng: random.Random,
                    intended: float | None = None) -> None:
    """Review cycles (GET the asset, POST a review on its version); the first GET is timed from ``intended``.

    The POST depends on the GET's answer, so it is timed from when it is sent.
    """
    h = {"Authorization": f"Bearer {token}"}
    while budget.take():
        aid = rng.choice(ids)
        resp = await _timed(client, samples, "read", "GET", f"{API}/assets/{aid}", intended, headers=h)
        intended = None
        if resp is None or resp.status != 200 or not isinstance(resp.body, dict) or "version" not in resp.body:
            continue
        if not budget.take():
            continue
        grade = rng.choice(GRADES)
        body = {"expected_version": int(resp.body["version"]), "grade": grade,
                "note": f"load review by {name}"}
        out = await _timed(client, samples, "review", "POST", f"{API}/assets/{aid}/reviews", json=body, headers=h)
        if out is not None and 200 <= out.status < 300 and isinstance(out.body, dict) and "id" in out.body:
            accepted.reviews.append({"id": out.body["id"], "asset_id": aid, "grade": grade, "reviewer": name})


async def _station(client: aiohttp.ClientSession, name: str, token: str, ids: list[str], budget: _Budget,
                   samples: list[Sample], accepted: Accepted, rng: random.Random, cfg: LoadConfig,
                   batch_prefix: str | None = None, intended: float | None = None) -> None:
    """Station posts (telemetry, every ``image_every``-th an image); the first is timed from ``intended``."""
    h = {"Authorization": f"Bearer {token}"}
    n = 0
    while budget.take():
        n += 1
        first, intended = intended, None
        if cfg.image_every and n % cfg.image_every == 0:
            aid = rng.choice(ids)
            data = _png(rng)
            out = await _timed(client, samples, "image", "POST", f"{API}/assets/{aid}/images", first, data=data,
                               headers={**h, "Content-Type": "image/png"})
            if out is not None and 200 <= out.status < 300 and isinstance(out.body, dict) and "id" in out.body:
                accepted.images.append({"id": out.body["id"], "asset_id": aid, "sha256": out.body["sha256"]})
            continue
        batch_id = f"{batch_prefix or name}-{n}"
        items = [{"kind": "prediction", "asset_id": rng.choice(ids),
                  "payload": {"grade": rng.choice(GRADES), "confidence": round(rng.random(), 3)}}
                 for _ in range(cfg.telemetry_items)]
        out = await _timed(client, samples, "telemetry", "POST", f"{API}/telemetry", first,
                           json={"batch_id": batch_id, "items": items}, headers=h)
        if out is not None and 200 <= out.status < 300 and isinstance(out.body, dict) and "accepted" in out.body:
            accepted.telemetry.append({"station": name, "batch_id": batch_id, "accepted": out.body["accepted"],
                                       "sent": len(items)})


async def _warm_up(client: aiohttp.ClientSession, base_url: str, seeded: dict[str, Any]) -> None:
    """One unmeasured request of each kind first: the server's lazy imports (image checks) happen here.

    When none of them gets an HTTP answer the service is not there: an AssetgradeError says so
    (rather than a load of instant connection errors reported as a run).
    """
    ids: list[str] = seeded["asset_ids"]
    rng = random.Random(-1)
    budget = _Budget(LoadConfig(duration_s=60.0, max_requests=2))
    scratch: list[Sample] = []
    await _reader(client, seeded["tokens"]["reader"][0][1], ids, _Budget(LoadConfig(max_requests=3)), scratch, rng)
    name, tok = seeded["tokens"]["station"][0]
    warm_cfg = LoadConfig(image_every=1, telemetry_items=1)
    await _station(client, name + "-warmup", tok, ids, budget, scratch, Accepted(), rng, warm_cfg)
    if scratch and not any(s.status for s in scratch):
        raise AssetgradeError(f"no answer from the service at {base_url}: {len(scratch)} warm-up requests"
                              " failed to connect or timed out; is it running?")


def _check_loopback(base_url: str) -> None:
    host = urlparse(base_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValidationError(f"the load script runs against loopback only, not {host!r}", where="base_url")


async def _open_loop(client: aiohttp.ClientSession, seeded: dict[str, Any], cfg: LoadConfig, samples: list[Sample],
                     accepted: Accepted) -> dict[str, Any]:
    """Poisson arrivals at the configured rates; each arrival is its own task, so a slow answer delays nothing.

    A closed loop lets a slow service slow its own load down, which hides latency (coordinated
    omission); here the offered load stays fixed, each request is timed from its scheduled arrival
    (:func:`_timed`), so queueing in the service or in the client shows up as latency. Arrivals
    beyond ``max_in_flight`` are dropped and counted, never queued in the client. The arrival
    window ends at ``duration_s``, or earlier at the arrival that would pass ``max_requests``.
    """
    ids: list[str] = seeded["asset_ids"]
    tokens = seeded["tokens"]
    rates = {k: v for k, v in (("read", cfg.read_rate), ("review", cfg.review_rate),
                               ("station", cfg.station_rate)) if v > 0}
    t0 = time.perf_counter()
    in_flight: set[asyncio.Task[None]] = set()
    scheduled = dict.fromkeys(rates, 0)
    dropped = dict.fromkeys(rates, 0)
    lag_max = 0.0
    left = cfg.max_requests
    n = 0
    window_s, stopped_by = cfg.duration_s, "duration"
    telemetry_cfg = replace(cfg, image_every=0)
    image_cfg = replace(cfg, image_every=1)
    for offset, kind in arrivals(rates, seed=cfg.seed):
        if offset >= cfg.duration_s:
            break
        if left <= 0:
            window_s, stopped_by = offset, "max_requests"
            break
        t = t0 + offset
        delay = t - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag_max = max(lag_max, time.perf_counter() - t)
        n += 1
        if len(in_flight) >= cfg.max_in_flight:
            dropped[kind] += 1
            continue
        job_rng = request_rng(cfg.seed, "arrival", n)
        coro: Any
        if kind == "read":
            coro = _reader(client, tokens["reader"][n % len(tokens["reader"])][1], ids, _Budget.of(1), samples,
                           job_rng, intended=t)
            left -= 1
        elif kind == "review":
            name, tok = tokens["reviewer"][n % len(tokens["reviewer"])]
            coro = _reviewer(client, name, tok, ids, _Budget.of(2), samples, accepted, job_rng, intended=t)
            left -= 2
        else:
            name, tok = tokens["station"][n % len(tokens["station"])]
            image = bool(cfg.image_every) and scheduled["station"] % cfg.image_every == cfg.image_every - 1
            coro = _station(client, name, tok, ids, _Budget.of(1), samples, accepted, job_rng,
                            image_cfg if image else telemetry_cfg, batch_prefix=f"{name}-o{n}", intended=t)
            left -= 1
        scheduled[kind] += 1
        task = asyncio.create_task(coro)
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    t_end = time.perf_counter()
    if in_flight:
        await asyncio.gather(*in_flight)
    return {"offered_per_s": rates, "arrival_seed": cfg.seed, "arrival_window_s": round(window_s, 3),
            "stopped_by": stopped_by,
            "rates": {k: rate_check(target_per_s=v, sent=scheduled[k], window_s=window_s) for k, v in rates.items()},
            "scheduled": scheduled, "dropped_over_max_in_flight": dropped, "max_in_flight": cfg.max_in_flight,
            "scheduler_lag_max_ms": round(lag_max * 1000.0, 1),
            "drain_s": round(time.perf_counter() - max(t_end, t0 + window_s), 3)}


async def _run(base_url: str, seeded: dict[str, Any], cfg: LoadConfig) -> LoadRun:
    ids: list[str] = seeded["asset_ids"]
    tokens = seeded["tokens"]
    samples: list[Sample] = []
    accepted = Accepted()
    n_clients = cfg.max_in_flight if cfg.open_loop else cfg.readers + cfg.reviewers + cfg.stations
    connector = aiohttp.TCPConnector(limit=n_clients)
    timeout = aiohttp.ClientTimeout(total=cfg.timeout_s)
    async with aiohttp.ClientSession(base_url=base_url, connector=connector, timeout=timeout) as client:
        await _warm_up(client, base_url, seeded)
        t0 = time.perf_counter()
        if cfg.open_loop:
            info = await _open_loop(client, seeded, cfg, samples, accepted)
            return LoadRun(samples=samples, accepted=accepted, wall_s=time.perf_counter() - t0, open_loop=info)
        budget = _Budget(cfg)
        tasks = []
        for i in range(cfg.readers):
            tasks.append(_reader(client, tokens["reader"][i % len(tokens["reader"])][1], ids, budget, samples,
                                 request_rng(cfg.seed, "reader", i)))
        for i in range(cfg.reviewers):
            name, tok = tokens["reviewer"][i % len(tokens["reviewer"])]
            tasks.append(_reviewer(client, name, tok, ids, budget, samples, accepted,
                                   request_rng(cfg.seed, "reviewer", i)))
        for i in range(cfg.stations):
            name, tok = tokens["station"][i % len(tokens["station"])]
            tasks.append(_station(client, name, tok, ids, budget, samples, accepted,
                                  request_rng(cfg.seed, "station", i), cfg))
        await asyncio.gather(*tasks)
    return LoadRun(samples=samples, accepted=accepted, wall_s=time.perf_counter() - t0)


def run_load(base_url: str, seeded: dict[str, Any], cfg: LoadConfig) -> LoadRun:
    """Run the load against ``base_url`` (loopback only) until ``duration_s`` or ``max_requests``."""
    _check_loopback(base_url)
    return asyncio.run(_run(base_url, seeded, cfg))
