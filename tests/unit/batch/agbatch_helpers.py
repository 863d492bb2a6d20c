"""Module-level shard functions for the executor tests (worker processes import them by name)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from assetgrade.batch.shards import ShardResult, ShardTask


def square(x: int) -> tuple[int, int]:
    """(x, x*x, computed in whichever worker ran it)."""
    return x, x * x


def die_once(arg: tuple[str, int]) -> tuple[int, int]:
    """SIGKILL the worker the first time shard 3 runs (a marker file remembers), else square."""
    marker, x = arg
    if x == 3 and not Path(marker).exists():
        Path(marker).write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return x, x * x


def hang(pid_file: str) -> int:
    """Write this worker's pid to ``pid_file``, then sleep far longer than any test waits."""
    import time

    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)
    return os.getpid()


def mark_started(arg: tuple[str, int]) -> int:
    """Leave a file ``<folder>/<x>`` saying shard ``x`` started, then return ``x``."""
    folder, x = arg
    (Path(folder) / str(x)).write_text("started")
    return x


POISON = "asset-poison"
"""The asset id whose shard :func:`exit_on_poison` kills its worker on."""


def exit_on_poison(task: ShardTask) -> ShardResult:
    """End the worker process at once (``os._exit``, as a crash in C code would) when ``task`` holds an asset
    whose id starts with :data:`POISON`; else a result listing the task's assets."""
    if any(a.startswith(POISON) for a in task.asset_ids):
        os._exit(137)
    return ShardResult(task=task, results=list(task.asset_ids), pid=os.getpid())


def exit_on_seven(x: int) -> int:
    """End the worker process at once when ``x`` is 7; else ``-x``."""
    if x == 7:
        os._exit(137)
    return -x


def worker_environment(names: tuple[str, ...]) -> tuple[dict[str, str | None], str]:
    """The worker's values of the environment variables ``names``, and the runtime_env Ray gave its job (JSON)."""
    import ray

    return {n: os.environ.get(n) for n in names}, ray.get_runtime_context().get_runtime_env_string()


def thread_counts(_: object) -> dict[str, object]:
    """The threads a task's libraries would run: every loaded BLAS's and OpenMP runtime's, and torch's intra-op.

    numpy and torch are imported here, in the task, so a worker that had not loaded them yet loads them under the
    settings the task found (its environment variables); one that had, shows the limits set on them.
    """
    import numpy  # noqa: F401  (its OpenBLAS)
    import torch
    from threadpoolctl import threadpool_info

    seen: dict[str, set[int]] = {"blas": set(), "openmp": set()}
    for lib in threadpool_info():
        if lib.get("user_api") in seen:
            seen[lib["user_api"]].add(int(lib["num_threads"]))
    return {**seen, "torch": torch.get_num_threads()}
