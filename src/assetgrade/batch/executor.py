"""One small executor interface for batch work, which a local process pool or Ray tasks over shards implement.

:meth:`Executor.map_shards` runs a picklable, module-level function on each shard and yields the
results as they complete (completion order, not input order: results should name their shard).
The batch jobs (:mod:`assetgrade.batch.jobs`) write results back through the store idempotently,
so an executor is free to run a shard twice after a failure.

* :class:`~assetgrade.batch.local_executor.LocalExecutor` (:mod:`assetgrade.batch.local_executor`) — a process
  pool sized to the cores, which runs a dead worker's shards again, alone.
* :class:`~assetgrade.batch.ray_executor.RayExecutor` (:mod:`assetgrade.batch.ray_executor`) — one Ray task per
  shard on a local Ray instance or a running cluster (an optional extra).
* :func:`~assetgrade.batch.backends.make_executor` (:mod:`assetgrade.batch.backends`) — the one ``--backend`` names.

A caller that stops taking a call's results early (``break``, an error in its loop body, ``close()`` on the
generator, or dropping it) ends that call's shards in flight, and ``close()`` on the executor (the end of its
``with`` block) ends those of every call still open, so no generator's shards outlive their executor.

The halving (:func:`~assetgrade.batch.isolation.isolate`, shared by both executors) and the death budget
live in :mod:`assetgrade.batch.isolation`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

from assetgrade.errors import ValidationError

__all__ = ["CANCEL_GRACE_S", "Executor", "worker_count"]

S = TypeVar("S")
R = TypeVar("R")
CANCEL_GRACE_S = 5.0
"""How long a shard given up by the caller may take to end after it was asked to, before it is killed."""


def worker_count(workers: int | None) -> int:
    """``workers`` checked (a whole number >= 1), or the cores when None.

    0 is refused rather than read as "the default": ``--workers 0`` would otherwise silently start
    one worker per core, the opposite of what someone asking for none (or for a dry run) meant.
    """
    if workers is None:
        return int(os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValidationError(f"workers={workers!r} must be a whole number >= 1 (leave it out for one per core)",
                              where="--workers")
    return workers


class Executor(Protocol):
    """Runs a function over shards and yields the results as they complete."""

    workers: int

    def map_shards(self, fn: Callable[[S], R], shards: Sequence[S]) -> Iterator[R]:
        """Yield ``fn(shard)`` for every shard (completion order)."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...
