"""The local executor: a process pool sized to the cores that survives killed workers.

:class:`LocalExecutor` is a :class:`concurrent.futures.ProcessPoolExecutor` sized to the cores.
When a worker dies (killed, out of memory) the pool breaks and every shard in flight fails with
it. The executor runs those shards again one at a time, each alone in a one-worker pool, so the
innocent ones complete; a shard that kills its worker alone is split in halves (a
:class:`~assetgrade.batch.isolation.Divisible` shard, such as the jobs' ``ShardTask``) until the item(s) that kill
it are found, and each is reported through the shard's ``died``. ``max_restarts`` bounds the deaths
per call. When the driver dies (even by SIGKILL) its workers notice within about a second and exit.
A call opened while another runs in the executor's pool (two generators taken in turns) gets a pool of
its own, so stopping one call never ends the other's shards.

The interface it implements, and what a caller that stops early may expect, is :mod:`assetgrade.batch.executor`.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing import get_context
from typing import Any, TypeVar

from assetgrade.batch.executor import CANCEL_GRACE_S, worker_count
from assetgrade.batch.isolation import WorkerDeaths, WorkerDiedError, exit_status, isolate, lost_error

__all__ = ["LocalExecutor"]

S = TypeVar("S")
R = TypeVar("R")
WATCHDOG_INTERVAL_S = 0.5


def _exit_with_parent(parent: int, interval: float = WATCHDOG_INTERVAL_S) -> None:
    """In a pool worker: a daemon thread that ends the process once the driver ``parent`` is gone.

    A driver killed with SIGKILL cannot shut its pool down, and its workers (re-parented, often
    blocked writing a result nobody reads) would run on forever. On POSIX an orphan gets a new
    parent process, so the thread polls and leaves with ``os._exit`` (no cleanup that could block)
    once the worker's own parent changes (it is the driver under ``spawn``/``fork``, the fork
    server under ``forkserver``, which ends with the driver) or the driver's pid is gone.
    """
    start = os.getppid()

    def driver_alive() -> bool:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # a pid reused by another user's process: the driver is gone
            return False
        return True

    def watch() -> None:
        while os.getppid() == start and driver_alive():
            threading.Event().wait(interval)
        os._exit(1)

    threading.Thread(target=watch, name="assetgrade-exit-with-driver", daemon=True).start()


def _init_worker(parent: int, initializer: Callable[[], None] | None) -> None:
    """Every pool worker's initializer: exit with the driver, then the caller's own initializer."""
    _exit_with_parent(parent)
    if initializer is not None:
        initializer()


class LocalExecutor:
    """A process pool sized to the cores; survives killed workers, and isolates the shards that kill them.

    Parameters
    ----------
    workers : number of worker processes, >= 1 (default: ``os.cpu_count()``; 0 is a ValidationError)
    max_restarts : how many worker deaths a ``map_shards`` call survives: each break of the shared pool and
        each further cause that running shards alone traces (see :meth:`map_shards`)
    start_method : multiprocessing start method ("spawn" is safe with threaded libraries)
    initializer : optional function run once in each worker (e.g. to set environment)

    Examples
    --------
    >>> with LocalExecutor(workers=2) as ex:            # doctest: +SKIP
    ...     sorted(ex.map_shards(abs, [-1, -2, 3]))
    [1, 2, 3]
    """

    def __init__(self, workers: int | None = None, *, max_restarts: int = 3, start_method: str = "spawn",
                 initializer: Callable[[], None] | None = None) -> None:
        self.workers = worker_count(workers)
        self.max_restarts = max_restarts
        self.in_flight = 2 * self.workers
        """The most shards submitted and not yet taken by the caller (bounds the results held in memory)."""
        self.start_method = start_method
        self.initializer = initializer
        self.restarts = 0
        """Broken pools over this executor's life (every ``map_shards`` call together, shared and one-worker pools)."""
        self._pool: ProcessPoolExecutor | None = None
        """The executor's pool, kept from one call to the next; a call open while another runs in it gets its own."""
        self._pool_busy = False
        """Whether a call open now runs in ``_pool``."""
        self._open: weakref.WeakSet[Generator[Any, None, None]] = weakref.WeakSet()
        """The calls' generators not yet collected: ``close()`` closes those still open."""

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers})"

    def _new_pool(self, workers: int | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers or self.workers, mp_context=get_context(self.start_method),
                                   initializer=_init_worker, initargs=(os.getpid(), self.initializer))

    def worker_pids(self) -> list[int]:
        """Process ids of the executor's pool's workers (empty before the first shard runs)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return [int(p) for p in procs]

    def map_shards(self, fn: Callable[[S], R], shards: Sequence[S]) -> Iterator[R]:
        """Yield ``fn(shard)`` per shard as they finish; a dead worker's shards are run again, alone.

        At most ``in_flight`` shards are submitted and not yet yielded at any time: results that the
        caller has not taken yet (a driver slower at writing than the workers at computing) wait in
        memory, so submitting every shard at once would let a large batch hold all its results.

        When a worker dies the pool breaks and every shard in flight fails with it. Shards that had
        finished are yielded; the others are run again one at a time, each alone in a one-worker pool,
        so the innocent ones complete and the one that kills its worker is known. A :class:`Divisible`
        shard that kills its worker alone is split in halves, recursively, until the parts that kill
        their worker are single items; each is reported by its ``died`` and the rest of the shard is
        merged into one result. Then the shared pool takes the remaining shards again.
        ``max_restarts`` bounds the deaths (:class:`~assetgrade.batch.isolation.WorkerDeaths`): past it an
        AssetgradeError says how often the pool broke, which items killed their worker and how many
        shards were left undone.

        A caller that stops early (breaks out of its loop, its loop body raises, ``close()`` on the generator,
        or it drops its last reference to the generator) or an error of ``fn`` ends the call, and with it the
        shards in flight: those not started are cancelled and, when any had started, the workers of the call's
        pool are ended (:meth:`_stop`), so no given-up shard runs on and the next call does not wait behind it.
        The call runs in the executor's pool, or in a pool of its own while another call open at once runs in
        that one, so it never ends another call's shards. :meth:`close` ends the calls still open.
        """
        gen = self._map_shards(fn, shards)
        self._open.add(gen)
        return gen

    def _map_shards(self, fn: Callable[[S], R], shards: Sequence[S]) -> Generator[R, None, None]:
        pending = dict(enumerate(shards))
        limit = max(1, self.in_flight)
        deaths = WorkerDeaths(self.max_restarts)  # a budget per call, not per executor
        lost: list[tuple[S, str]] = []  # shards that are not Divisible and killed their worker alone
        futures: dict[Future[R], int] = {}
        shared = not self._pool_busy  # the executor's pool, or (another call runs in that one) a pool of its own
        self._pool_busy |= shared
        pool = self._pool if shared else None
        solo: list[ProcessPoolExecutor] = []  # the one-worker pool that runs shards alone, once a break needs it
        try:
            while pending:
                if pool is None:
                    pool = self._new_pool()
                    if shared:
                        self._pool = pool
                queue = deque(pending)
                futures = {}
                try:
                    while queue or futures:
                        while queue and len(futures) < limit:
                            i = queue.popleft()
                            futures[pool.submit(fn, pending[i])] = i
                        done, _ = wait(futures, return_when=FIRST_COMPLETED)
                        for fut in done:
                            result = fut.result()
                            del pending[futures.pop(fut)]
                            yield result
                    continue
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
                    if shared:
                        self._pool = None
                    self.restarts += 1
                finished = {i: f.result() for f, i in futures.items()
                            if f.done() and not f.cancelled() and f.exception() is None}
                for i, result in finished.items():  # done before the break: their work is not thrown away
                    del pending[i]
                    yield result
                deaths.pool_broke(len(pending))
                suspects = [i for i in futures.values() if i not in finished]
                try:
                    for i in suspects:
                        yield from isolate(partial(self._run_alone, fn, solo), pending[i], deaths,
                                           lambda: len(pending), lost)
                        del pending[i]
                finally:
                    for p in solo:
                        p.shutdown(wait=True, cancel_futures=True)
                    solo.clear()
        finally:  # done, the caller stopped early (broke out, its loop body raised, close(), dropped it), fn raised
            if pool is not None and self._stop(pool, futures):
                pool = None
            if shared:
                self._pool, self._pool_busy = pool, False
            elif pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        if lost:
            raise lost_error(lost)

    @staticmethod
    def _stop(pool: ProcessPoolExecutor, futures: Iterable[Future[Any]]) -> bool:
        """Cancel the shards of ``futures`` (all in ``pool``) not started yet; when any has started, end ``pool``.

        A process pool cannot interrupt a shard running in a worker, so the pool's workers are asked to end
        (SIGTERM), given ``CANCEL_GRACE_S``, then killed, and the pool is shut down (True: the next call starts
        a new one). Ending them is not a worker death (``restarts`` is unchanged): the shards were given up, and
        the jobs write nothing for a shard whose result the driver did not take (the driver writes every shard's
        results: ``batch.commit``). The pool runs only this call's shards, so no other call loses any.
        """
        started = [f for f in futures if not f.cancel() and not f.done()]  # cancel() is False once it started
        if started:
            procs = list((getattr(pool, "_processes", None) or {}).values())
            for proc in procs:
                proc.terminate()
            deadline = time.monotonic() + CANCEL_GRACE_S  # one grace for them all
            for proc in procs:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.exitcode is None:
                    proc.kill()
            pool.shutdown(wait=True, cancel_futures=True)
        return bool(started)

    def _run_alone(self, fn: Callable[[S], R], solo: list[ProcessPoolExecutor], shard: S) -> R:
        """``fn(shard)`` in the call's one-worker pool ``solo`` (started when empty); WorkerDiedError with its exit
        status when the worker dies."""
        if not solo:
            solo.append(self._new_pool(1))
        pool = solo[0]
        fut = pool.submit(fn, shard)
        try:
            return fut.result()
        except BrokenProcessPool:
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=True, cancel_futures=True)  # joins the dead worker: its exit code is known then
            solo.clear()
            self.restarts += 1
            raise WorkerDiedError(exit_status(procs[0].exitcode if len(procs) == 1 else None)) from None

    def close(self) -> None:
        """End the shards of every call still open (as for a caller that stops early), then shut the pool down.

        A generator kept open (in a variable, neither exhausted nor closed) would otherwise keep its shards
        running, and this would wait for them. Its ``close()`` is called: it yields nothing more.
        """
        for gen in list(self._open):
            gen.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
