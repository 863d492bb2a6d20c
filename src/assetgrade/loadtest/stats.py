"""How a load run is scheduled and summarised: Poisson arrivals, request-mix generators, nearest-rank percentiles,
offered vs achieved rates.

Percentiles are nearest rank: the q-th percentile of n samples is the ``ceil(q n / 100)``-th smallest,
a latency some request actually had (the inverse of the empirical distribution function, type 1 of
Hyndman and Fan, "Sample quantiles in statistical packages", The American Statistician 50(4), 1996;
HdrHistogram's ``getValueAtPercentile`` also returns a recorded value, at rank ``q n / 100`` rounded;
numpy's default, type 7, interpolates between two samples). It can differ from the slowest sample
only from ``100 / (100 - q)`` samples on: 100 for p99, 1,000 for p99.9.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from assetgrade.loadtest.load import LoadRun

__all__ = ["PERCENTILE_METHOD", "REQUEST_STREAMS", "arrivals", "min_samples", "nearest_rank", "rate_check",
           "request_rng", "summarise"]

PERCENTILE_METHOD = "nearest rank: the ceil(q n / 100)-th smallest of n samples (no interpolation)"


def nearest_rank(sorted_xs: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 < q <= 100) of ascending ``sorted_xs`` by nearest rank.

    Examples
    --------
    >>> nearest_rank([1.0, 2.0, 3.0, 4.0], 50), nearest_rank([1.0, 2.0, 3.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not sorted_xs:
        raise ValueError("no samples: no percentile")
    if not 0 < q <= 100:
        raise ValueError(f"q={q!r} must be in (0, 100]")
    rank = math.ceil(Fraction(str(q)) * len(sorted_xs) / 100)  # exact: 99.9 % of 1,000 is rank 999, not 1,000
    return float(sorted_xs[max(rank, 1) - 1])


def min_samples(q: float) -> int:
    """The fewest samples whose nearest-rank ``q``-th percentile is not simply the slowest sample (99 -> 100)."""
    return math.ceil(100 / (100 - Fraction(str(q))))


def arrivals(rates: Mapping[str, float], *, seed: int) -> Iterator[tuple[float, str]]:
    """Arrival times (seconds from the start) and kinds of independent Poisson processes, merged, in time order.

    Each kind's gaps are exponential with mean ``1 / rate`` (a Poisson process); one ``random.Random(seed)``
    draws them: first one per kind in the order of ``rates``, then one per arrival for its kind, so the
    same seed and rates give the same times. The iterator never ends; the caller stops at its deadline.

    Examples
    --------
    >>> import itertools
    >>> [k for _, k in itertools.islice(arrivals({"read": 100.0, "review": 1.0}, seed=0), 3)]
    ['read', 'read', 'read']
    """
    rng = random.Random(seed)
    live = {k: float(v) for k, v in rates.items() if v > 0}
    nxt = {k: rng.expovariate(v) for k, v in live.items()}
    while nxt:
        kind = min(nxt, key=nxt.__getitem__)
        t = nxt[kind]
        nxt[kind] = t + rng.expovariate(live[kind])
        yield t, kind


REQUEST_STREAMS = ("arrival", "reader", "reviewer", "station")
"""The request-mix streams: open-loop arrivals, then the closed loop's readers, reviewers and stations."""


def request_rng(seed: int, stream: str, n: int) -> random.Random:
    """The generator of one open-loop arrival's or one closed-loop client's requests.

    ``stream`` is one of :data:`REQUEST_STREAMS`; ``n`` the arrival's number or the client's index.
    numpy's ``SeedSequence(entropy=seed, spawn_key=(k, n))``, ``k`` the stream's position in
    :data:`REQUEST_STREAMS`, hashes the triple into 128 bits that seed a ``random.Random``: numpy's
    documented way to derive independent streams from one seed (its seed mixing follows O'Neill's
    ``seed_seq`` design, "Developing a seed_seq Alternative", pcg-random.org, 2015). The hashing is
    integer arithmetic only, so the same triple gives the same generator on every machine (a run's
    JSON gives numpy's version under ``libraries``). Distinct triples (``seed`` and ``n`` in
    [0, 2**32)) give unrelated generators, unlike an affine ``seed * 7919 + n``, under which seed 1's
    arrival 0 drew what seed 0's arrival 7,919 drew.

    Examples
    --------
    >>> request_rng(0, "arrival", 7919).random() == request_rng(1, "arrival", 0).random()
    False
    >>> request_rng(0, "arrival", 5).random() == request_rng(0, "arrival", 5).random()
    True
    """
    if stream not in REQUEST_STREAMS:
        raise ValueError(f"stream {stream!r} is not one of {REQUEST_STREAMS}")
    state = np.random.SeedSequence(entropy=seed, spawn_key=(REQUEST_STREAMS.index(stream), n)).generate_state(4)
    return random.Random(int.from_bytes(state.astype("<u4").tobytes(), "little"))


def rate_check(*, target_per_s: float, sent: int, window_s: float) -> dict[str, Any]:
    """Offered (target) against achieved (sent in the arrival window) rate of one arrival kind.

    A Poisson process of rate r sends r w requests in w seconds on average, with standard deviation
    sqrt(r w); ``below_target`` is True when fewer than ``r w - 3 sqrt(r w)`` were sent (chance alone
    would do that about once in 700 runs): the client did not offer the load it was asked for.

    Examples
    --------
    >>> rate_check(target_per_s=50.0, sent=989, window_s=20.0)["below_target"]
    False
    """
    expected = target_per_s * window_s
    return {"target_per_s": target_per_s, "sent": sent, "expected": round(expected, 1),
            "achieved_per_s": round(sent / window_s, 2) if window_s > 0 else None,
            "below_target": bool(sent < expected - 3.0 * math.sqrt(expected))}


def _pct(sorted_ms: list[float], q: float) -> float:
    return round(nearest_rank(sorted_ms, q), 1)


def summarise(run: LoadRun) -> dict[str, Any]:
    """Per request class: count, rate, p50/p95/p99/p99.9 latency (ms), 2xx, 409 conflicts, other 4xx, errors.

    Percentiles are nearest rank (:data:`~assetgrade.loadtest.stats.PERCENTILE_METHOD`) over every
    request of the class, answered or not (a time-out counts at its time-out); the warm-up is not
    among them. ``p99_is_max`` says the class had fewer than 100 requests, so its p99 is its slowest
    one; ``p999_ms`` is None below 1,000. ``send_delay_max_ms`` is the longest an open-loop request
    waited in the client past its scheduled arrival (part of its latency). ``errors`` counts 5xx
    answers, transport failures (no answer, time-out) and 2xx answers whose body could not be read;
    ``errors_by_cause`` splits them (``timeout``, ``transport``, ``unreadable_2xx``, ``5xx``).
    With no request at all, ``all`` has ``p99_ms`` None (not 0).
    """
    out: dict[str, Any] = {}
    for kind in ("read", "review", "telemetry", "image"):
        xs = [s for s in run.samples if s.kind == kind]
        if not xs:
            continue
        lat = sorted(s.latency_s * 1000.0 for s in xs)
        ok = [s for s in xs if 200 <= s.status < 300]
        out[kind] = {
            "requests": len(xs), "ok": len(ok), "ok_per_s": round(len(ok) / run.wall_s, 1) if run.wall_s > 0 else 0.0,
            "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95), "p99_ms": _pct(lat, 99),
            "p999_ms": _pct(lat, 99.9) if len(lat) >= min_samples(99.9) else None,
            "max_ms": round(lat[-1], 1), "p99_is_max": len(lat) < min_samples(99),
            "percentile_method": PERCENTILE_METHOD,
            "send_delay_max_ms": round(max(s.send_delay_s for s in xs) * 1000.0, 1),
            "conflicts_409": sum(s.status == 409 for s in xs),
            "client_errors_4xx": sum(400 <= s.status < 500 and s.status != 409 for s in xs),
            "errors": sum(s.status == 0 or s.status >= 500 for s in xs),
            "errors_by_cause": {**{c: sum(s.status == 0 and s.error == c for s in xs)
                                   for c in ("timeout", "transport", "unreadable_2xx")},
                                "5xx": sum(s.status >= 500 for s in xs)},
        }
    lat_all = sorted(s.latency_s * 1000.0 for s in run.samples)
    out["all"] = {"requests": len(run.samples),
                  "per_s": round(len(run.samples) / run.wall_s, 1) if run.wall_s > 0 else None,
                  "p99_ms": _pct(lat_all, 99) if lat_all else None,  # none: no figure
                  "errors": sum(s.status == 0 or s.status >= 500 for s in run.samples)}
    return out
