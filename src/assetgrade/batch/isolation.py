"""Poison isolation for the executors: shards that can be split, a dead worker's exit status, the death budget.

After a worker dies (a broken process pool, a crashed Ray task) both executors run the shards that were in
flight one at a time, alone, through :func:`isolate`, which halves a :class:`Divisible` shard whose worker dies
alone until the items that kill their worker are found. Narrowing a failing input down by halving it is delta
debugging's bisection (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input", IEEE TSE
28(2), 2002), here with the dead worker process as the failure.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from assetgrade.errors import AssetgradeError

__all__ = ["Divisible", "WorkerDeaths", "WorkerDiedError", "exit_status", "isolate", "lost_error"]

S = TypeVar("S")
R = TypeVar("R")


@runtime_checkable
class Divisible(Protocol):
    """A shard an executor can narrow a worker death down in: halves, results merged back, a lone part's death.

    A shard that is not one (a plain number, say) is run alone after a pool break like any other, but a
    shard that kills its worker alone cannot be narrowed down: the call then ends with an error naming it,
    once every other shard is done.
    """

    def split(self) -> Sequence[Any]:
        """Two (or more) parts that together are this shard, or an empty sequence when it is one item."""
        ...

    def merge(self, parts: Sequence[Any]) -> Any:
        """This shard's result from its parts' results (a part's result may come from its ``died``)."""
        ...

    def died(self, how: str) -> Any:
        """The result of a part that cannot be split and whose worker died running it alone (``how``: exit code)."""
        ...


def exit_status(exitcode: int | None) -> str:
    """A dead worker's exit status in words: ``killed by signal 9 (SIGKILL)``, ``exit code 137``."""
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            return f"killed by signal {-exitcode}"
        return f"killed by signal {-exitcode} ({name})"
    return f"exit code {exitcode}"


class WorkerDiedError(Exception):
    """A shard's worker process died while it ran alone (``how``: its exit status in words)."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


class WorkerDeaths:
    """The worker deaths of one ``map_shards`` call, charged against ``max_restarts``.

    A break costs one: the shared process pool breaking (its first dead worker takes every shard in flight
    with it), or for Ray the round of tasks in flight in which one or more workers died (``died`` of them).
    Running its shards alone then traces it: the first death traced to a cause (an item that kills its worker
    alone, or a part that died alone but whose own parts all completed) is that same break and costs nothing
    more; each further cause costs one. The deaths of the halving in between are the price of finding a cause
    (about log2 of the shard size each) and are not charged. So a batch where everything kills its worker
    stops after ``max_restarts + 1`` causes, with an error naming them; ``broke`` says what a break is in it.
    """

    def __init__(self, max_restarts: int, *, broke: str = "the process pool broke") -> None:
        self.max_restarts = max_restarts
        self.broke = broke
        self.charged = 0
        self.breaks = 0
        self.died = 0
        self.poisoned: list[str] = []
        self._open = False  # a break that no cause has been traced to yet

    def pool_broke(self, left: int, died: int = 1) -> None:
        """A break in which ``died`` workers died, with ``left`` shards (its own included) not done."""
        self.breaks += 1
        self.died += died
        self.charged += 1
        self._open = True
        self._check(left)

    def traced(self, left: int, poisoned: str | None = None) -> None:
        """A cause found: ``poisoned`` (an item that kills its worker alone), or None (a death not reproduced)."""
        if poisoned is not None:
            self.poisoned.append(poisoned)
        if self._open:
            self._open = False
        else:
            self.charged += 1
            self._check(left)

    def _check(self, left: int) -> None:
        if self.charged > self.max_restarts:
            found = f"; killed their worker when run alone: {', '.join(self.poisoned)}" if self.poisoned else ""
            def times(n: int) -> str:
                return f"{n} time{'' if n == 1 else 's'}"

            raise AssetgradeError(f"{self.broke} {times(self.breaks)} and worker processes died"
                                  f" {times(self.died)} in all (a worker was killed or ran out of memory), more than"
                                  f" max_restarts={self.max_restarts} allows{found};"
                                  f" {left} shard{'' if left == 1 else 's'} left undone")


def isolate(run_alone: Callable[[Any], R], shard: S, deaths: WorkerDeaths, left: Callable[[], int],
            lost: list[tuple[S, str]]) -> Iterator[R]:
    """Run ``shard`` alone; when its worker dies, split it until the parts that kill their worker are found.

    ``run_alone(part)`` computes one part in a worker of its own with nothing else running, or raises
    :class:`WorkerDiedError` when that worker dies. A :class:`Divisible` part whose worker died is split and
    its parts run in order, depth first; a part of one item that dies is a cause (``deaths.traced``) and
    its result comes from its ``died``. Yields the shard's one result (its parts' results merged), or
    nothing for a shard that is not Divisible and killed its worker (it goes to ``lost``). ``left()`` is how
    many shards are not done, for the error :class:`WorkerDeaths` raises when the budget is spent.

    Examples
    --------
    >>> from assetgrade.batch.shards import ShardResult, ShardTask
    >>> task = ShardTask("grade", 0, "k", ("a", "b", "c"), "ws", "sqlite://", None)
    >>> def run_alone(part: ShardTask) -> ShardResult:
    ...     if "b" in part.asset_ids:
    ...         raise WorkerDiedError("exit code 139")
    ...     return ShardResult(task=part, results=list(part.asset_ids))
    >>> [(r.results, r.errors) for r in isolate(run_alone, task, WorkerDeaths(1), lambda: 1, [])]
    [(['a', 'c'], [('b', 'worker process died while grading asset b: exit code 139')])]
    """
    parts: list[Any] = []
    todo: list[Any] = [shard]
    split = poisoned = False
    while todo:
        part = todo.pop()
        try:
            parts.append(run_alone(part))
        except WorkerDiedError as exc:
            deaths.died += 1
            halves = part.split() if isinstance(part, Divisible) else ()
            if len(halves) >= 2:
                split = True
                todo.extend(reversed(halves))
                continue
            poisoned = True
            deaths.traced(left(), poisoned=str(part))
            if isinstance(part, Divisible):
                parts.append(part.died(exc.how))
            else:
                lost.append((part, exc.how))
    if split and not poisoned:  # it died whole but every part completed (e.g. it ran out of memory whole)
        deaths.traced(left())
    if split:
        assert isinstance(shard, Divisible)
        yield shard.merge(parts)
    elif parts:
        yield parts[0]


def lost_error(lost: Sequence[tuple[Any, str]]) -> AssetgradeError:
    """The error that ends a call in which shards that are not Divisible killed their worker alone."""
    return AssetgradeError("; ".join(f"{shard} killed its worker process when run alone ({how})" for shard, how in lost)
                           + "; every other shard completed")
