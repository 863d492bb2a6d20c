"""The Ray executor: one Ray task per shard, on a local Ray instance or a running cluster.

:class:`RayExecutor` runs one Ray task per shard on a local Ray instance it starts (temp and
session files under ``temp_dir``, which the jobs put inside the workspace) or on a running
cluster (``address``). Ray is an optional extra: ``pip install 'assetgrade[ray]'``. A task
whose worker died is run again alone once the tasks in flight are done, and split like the
local executor's shards when it dies alone; ``max_restarts`` bounds the deaths per call. Each task
sets the driver's BLAS and OpenMP thread limits itself (:mod:`assetgrade.batch.threads`).

The interface it implements, and what a caller that stops early may expect, is :mod:`assetgrade.batch.executor`.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
import tempfile
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from assetgrade.batch.executor import CANCEL_GRACE_S, worker_count
from assetgrade.batch.isolation import WorkerDeaths, WorkerDiedError, isolate, lost_error
from assetgrade.batch.threads import ThreadLimits
from assetgrade.errors import AssetgradeError, MissingExtraError

__all__ = ["RayExecutor", "ray_available"]

S = TypeVar("S")
R = TypeVar("R")


def _apply(fn: Callable[[S], R], shard: S, threads: ThreadLimits) -> R:
    """``fn(shard)`` with the driver's thread limits set first: the body of every Ray task (lets builtins and
    callables run as tasks too)."""
    threads.apply()
    return fn(shard)


def _ray_crashes(ray: Any) -> tuple[type[BaseException], ...]:
    """Ray's errors for a task whose worker process (or node) died, as opposed to an error ``fn`` raised."""
    names = ("WorkerCrashedError", "OutOfMemoryError", "NodeDiedError")
    return tuple(getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n))


def _ray_death(exc: BaseException) -> str:
    """A dead Ray worker in words, for :meth:`Divisible.died` (Ray does not say its exit status)."""
    name = type(exc).__name__
    if name == "OutOfMemoryError":
        return "killed by Ray's memory monitor (Ray OutOfMemoryError)"
    if name == "NodeDiedError":
        return "its Ray node died (Ray NodeDiedError)"
    return f"crashed or killed (Ray {name})"


def ray_available() -> bool:
    """Whether the optional ``ray`` package can be imported."""
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError("the Ray backend (--backend ray)", "ray") from exc
    return ray


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class RayExecutor:
    """Ray tasks over shards: a local Ray instance (files kept under ``temp_dir``) or a cluster.

    Parameters
    ----------
    address : a running cluster (``ray://host:10001`` or ``host:6379``); None starts a local one
    num_workers : CPUs of the local instance, and the most shards in flight at once (>= 1; default: the cores)
    temp_dir : Ray's temp/session folder for a local instance (the jobs use ``<workspace>/cache/ray``)
    max_restarts : how many worker deaths a ``map_shards`` call survives, as for :class:`LocalExecutor`: each
        round of tasks in flight in which workers died, and each further cause that running them alone traces

    Ray writes its session files, logs and sockets under ``temp_dir`` (``_temp_dir`` and
    ``RAY_TMPDIR``), its auth token in ``temp_dir/auth_token`` (``RAY_AUTH_TOKEN_PATH``, mode
    0600, instead of ``~/.ray/auth_token``) and usage statistics are off, so nothing lands in
    ``$HOME`` or ``/tmp/ray``. On a cluster (``address``) the cluster's own token setup applies.

    A local instance's processes (its raylet and, through it, every worker) are started by ``ray.init`` and
    inherit this process's environment as it is then: these settings, the thread counts (``OMP_NUM_THREADS``,
    ``OPENBLAS_NUM_THREADS``, ``GOMP_SPINCOUNT``) and the rest. So no ``runtime_env`` is given: with one, the first
    worker took about six times as long to start and a restarted one twice (docs/scale.md). A cluster's workers
    do not inherit it, so there ``runtime_env`` turns usage statistics off in them. The thread limits reach every
    worker, local or on a cluster, as a task argument instead: ``threads``, a
    :class:`~assetgrade.batch.threads.ThreadLimits` read from this process's ``OMP_NUM_THREADS``,
    ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` when the executor is made (1 where unset), which each task
    sets before its shard runs.

    Examples
    --------
    >>> with RayExecutor(num_workers=2, temp_dir="/tmp/ws/cache/ray") as ex:   # doctest: +SKIP
    ...     sorted(ex.map_shards(abs, [-1, -2, 3]))
    [1, 2, 3]
    """

    def __init__(self, address: str | None = None, *, num_workers: int | None = None,
                 temp_dir: str | Path | None = None, max_restarts: int = 3) -> None:
        self.workers = worker_count(num_workers)
        if not ray_available():  # say what to install before creating anything
            raise MissingExtraError("the Ray backend (--backend ray)", "ray")
        self.address = address
        self.max_restarts = max_restarts
        self.restarts = 0
        """Ray worker processes that died running this executor's tasks, over its life (every call together)."""
        self.threads = ThreadLimits.from_environ()
        """The BLAS and OpenMP threads each task sets itself before its shard (read from this process's environment)."""
        self.temp_dir = (Path(temp_dir) if temp_dir else Path(tempfile.mkdtemp(prefix="assetgrade-ray-"))).resolve()
        self._started = False
        self._owns = False
        """Whether this executor called ``ray.init`` (and so shuts Ray down on close); a Ray already running
        in the process (the caller's own ``ray.init``) is used as it is and left running."""
        self._open: weakref.WeakSet[Generator[Any, None, None]] = weakref.WeakSet()
        """The calls' generators not yet collected: ``close()`` closes those still open."""
        self._env = {"RAY_TMPDIR": str(self.temp_dir), "RAY_USAGE_STATS_ENABLED": "0",
                     "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}
        if not address:  # a local instance: token auth with the token kept in temp_dir, not in ~/.ray
            self.temp_dir.mkdir(parents=True, exist_ok=True)
            token = self.temp_dir / "auth_token"
            if not token.exists():
                fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
            self._env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)})
        already = "ray" in sys.modules
        self._env_before = {k: os.environ.get(k) for k in self._env}  # put back by close()
        os.environ.update(self._env)  # Ray reads its settings when imported...
        self.ray = _import_ray()
        if already and not address:  # ...so refresh them when it was imported before (as ray itself does)
            try:
                from ray._raylet import Config  # type: ignore[attr-defined]

                Config.initialize("")
            except (ImportError, AttributeError):
                pass
            try:  # and forget the token read for an earlier instance: this one's token is another file
                from ray._raylet import AuthenticationTokenLoader  # type: ignore[attr-defined]

                AuthenticationTokenLoader.instance().reset_cache()
            except (ImportError, AttributeError):
                pass

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r}, num_workers={self.workers})"

    def _ensure(self) -> None:
        if self._started:
            return
        ray = self.ray
        if ray.is_initialized():
            self._started = True
            return
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        with _env(TMPDIR=str(self.temp_dir)):
            try:
                if self.address:  # the cluster's workers do not inherit this process's environment
                    ray.init(address=self.address, log_to_driver=False, include_dashboard=False,
                             runtime_env={"env_vars": {"RAY_USAGE_STATS_ENABLED": "0"}})
                else:  # no runtime_env: the workers inherit os.environ (see the class docstring)
                    ray.init(num_cpus=self.workers, _temp_dir=str(self.temp_dir), include_dashboard=False,
                             log_to_driver=False, configure_logging=False)
            except Exception as exc:  # Ray raises its own connection errors
                where = self.address or str(self.temp_dir)
                raise AssetgradeError(f"cannot start or reach Ray at {where}: {exc}") from exc
        self._started = self._owns = True

    def map_shards(self, fn: Callable[[S], R], shards: Sequence[S]) -> Iterator[R]:
        """Yield ``fn(shard)`` per shard as Ray tasks finish (at most ``num_workers`` in flight).

        Ray runs each task in a worker process of its own, so a worker that dies (``WorkerCrashedError``:
        killed, a crash in C code; ``OutOfMemoryError``: Ray's memory monitor; ``NodeDiedError``) takes only
        its own task with it. Ray does not retry it (``max_retries=0``): no new task starts, the tasks in
        flight finish, and then the shards whose worker died are run again one at a time, alone, through
        :func:`~assetgrade.batch.isolation.isolate`, as :class:`LocalExecutor` does after a pool break: the
        innocent ones complete, a :class:`Divisible` shard that kills its worker alone is split in halves until
        the items that kill it are found (each reported by its ``died``), and a shard that is not Divisible ends
        the call, once every other shard is done, with an error naming it. The deaths of one such round are one
        break of :class:`~assetgrade.batch.isolation.WorkerDeaths`, charged against ``max_restarts``.

        A caller that stops early (breaks out of its loop, its loop body raises, ``close()`` on the generator,
        or it drops its last reference to the generator) or an error of ``fn`` ends the call, and with it the
        tasks in flight (:meth:`_cancel`): they are cancelled and waited for, so none runs on and the next call's
        tasks do not queue behind them. Only the call's own tasks are cancelled: another call open at once runs
        on. :meth:`close` ends the calls still open.
        """
        gen = self._map_shards(fn, shards)
        self._open.add(gen)
        return gen

    def _map_shards(self, fn: Callable[[S], R], shards: Sequence[S]) -> Generator[R, None, None]:
        self._ensure()
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=0)(_apply)
        fn_ref = ray.put(fn)
        threads = self.threads
        crashes = _ray_crashes(ray)
        deaths = WorkerDeaths(self.max_restarts, broke="Ray tasks in flight lost their worker")
        lost: list[tuple[S, str]] = []
        todo = deque(shards)  # popleft: list.pop(0) moved every shard left behind it, quadratic in the shards
        running: dict[Any, S] = {}
        dead: deque[S] = deque()  # shards whose worker died, run alone once the tasks in flight are done

        def left() -> int:
            return len(todo) + len(running) + len(dead)

        def run_alone(part: Any) -> Any:
            try:
                return ray.get(remote.remote(fn_ref, part, threads))
            except crashes as exc:
                self.restarts += 1
                raise WorkerDiedError(_ray_death(exc)) from None

        try:
            while todo or running or dead:
                if dead and not running:
                    deaths.pool_broke(left(), died=len(dead))
                    while dead:
                        yield from isolate(run_alone, dead[0], deaths, left, lost)
                        dead.popleft()
                    continue
                while todo and not dead and len(running) < max(self.workers, 1):
                    shard = todo.popleft()
                    running[remote.remote(fn_ref, shard, threads)] = shard
                done, _ = ray.wait(list(running), num_returns=1)
                for ref in done:
                    shard = running.pop(ref)
                    try:
                        result = ray.get(ref)
                    except crashes:
                        self.restarts += 1
                        dead.append(shard)
                        continue
                    yield result
        finally:  # the caller stopped early (broke out, its loop body raised, close()) or fn raised
            self._cancel(list(running))
        if lost:
            raise lost_error(lost)

    def _cancel(self, refs: list[Any]) -> None:
        """Cancel the tasks ``refs`` and wait until they have ended.

        ``ray.cancel(force=False)``: a task not started never runs, a running one gets a KeyboardInterrupt. One
        still running ``CANCEL_GRACE_S`` later (C code that does not return to Python, a caught interrupt) is
        cancelled with ``force=True``, which ends its worker process; that is not counted in ``restarts``.
        Their outcomes (TaskCancelledError, a result or error that came first) are taken and dropped, so Ray
        does not report them as unhandled errors.
        """
        ray = self.ray
        if not refs or not ray.is_initialized():  # a generator closed after the executor: its tasks went with Ray
            return
        for ref in refs:
            ray.cancel(ref, force=False)
        _, left = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
        for ref in left:
            ray.cancel(ref, force=True)
        for ref in refs:  # TaskCancelledError, WorkerCrashedError (forced), fn's own error, a timeout
            with suppress(ray.exceptions.RayError):
                ray.get(ref, timeout=CANCEL_GRACE_S)

    def close(self) -> None:
        """End the tasks of every call still open, shut down the Ray instance this executor started (one that was
        running before is left running), and put back the process's Ray environment variables (a later plain
        ``ray.init`` used this one's token).

        A call's generator kept open (neither exhausted nor closed) is closed: it yields nothing more. On a Ray
        left running its tasks would otherwise run on; one this executor started is shut down first, which
        ends them at once.
        """
        if self._owns and self.ray.is_initialized():
            self.ray.shutdown()
        for gen in list(self._open):
            gen.close()  # on a Ray shut down just now, _cancel has nothing left to do
        self._started = self._owns = False
        for k, v in self._env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
