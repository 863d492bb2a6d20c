"""How a load run's figures are computed: Poisson arrivals, nearest-rank percentiles, offered versus achieved rates.

Percentiles are nearest rank: the q-th percentile of n samples is the ``ceil(q n / 100)``-th smallest,
a latency some request actually had (HdrHistogram's value at a percentile reads the same way; numpy's
default interpolates between two samples). It can differ from the slowest sample only from
``100 / (100 - q)`` samples on: 100 for p99, 1,000 for p99.9.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any

__all__ = ["PERCENTILE_METHOD", "arrivals", "min_samples", "nearest_rank", "rate_check"]

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
