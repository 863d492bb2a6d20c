"""The one output shape of every benchmark: a JSON object with metrics, data set, split, seed, wall time, machine,
code version and library versions."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetgrade.jsonsafe import jsonable
from assetgrade.version import code_version, library_versions

__all__ = ["BenchResult", "Stopwatch", "load_average", "machine_info", "write_result"]


def load_average() -> list[float] | None:
    """The system's 1/5/15-minute load average now, to 0.01 (None where the platform has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: CPU count, model, memory, Python, torch threads, load.

    ``malloc_mmap_max``, ``omp_wait_policy`` and ``gomp_spincount`` are the environment's
    ``MALLOC_MMAP_MAX_``, ``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT`` (None when unset), which change
    timings (docs/performance.md).

    ``load_avg`` is the system's 1/5/15-minute load average when the report is written: a value
    well above the CPU count means other work ran beside the benchmark and its timings are slow.
    """
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        with Path("/proc/cpuinfo").open() as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with Path("/proc/meminfo").open() as fh:
            info["mem_gib"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    info["malloc_mmap_max"] = os.environ.get("MALLOC_MMAP_MAX_")
    info["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY")  # OpenMP's idle threads spin unless PASSIVE
    info["gomp_spincount"] = os.environ.get("GOMP_SPINCOUNT")  # how long GNU libgomp's threads spin before sleeping
    torch = sys.modules.get("torch")  # only when the benchmark used it; never imported here
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    load = load_average()
    if load is not None:  # not available on every platform
        info["load_avg"] = load
    return info


@dataclass
class BenchResult:
    """One benchmark run; ``to_dict`` gives the JSON object the CLI prints."""

    benchmark: str
    dataset: str
    split: str
    seed: int
    metrics: dict[str, Any]
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "benchmark": self.benchmark,
            "dataset": self.dataset,
            "split": self.split,
            "seed": self.seed,
            "metrics": self.metrics,
        }
        out.update(self.extra)
        out["wall_s"] = round(self.wall_s, 3)
        out["code_version"] = code_version()  # which assetgrade (and commit) measured it, and on which libraries
        out["libraries"] = library_versions()
        out["machine"] = machine_info()
        return jsonable(out)  # type: ignore[no-any-return]


def write_result(result: BenchResult, json_path: Path | None) -> str:
    """Serialise ``result``; also write it to ``json_path`` when given. Returns the JSON text."""
    text = json.dumps(result.to_dict(), indent=2, sort_keys=False)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text + "\n", encoding="utf-8")
    return text


class Stopwatch:
    """Wall-clock timer: ``with Stopwatch() as sw: ...; sw.seconds``."""

    def __init__(self) -> None:
        self.start = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


@contextmanager
def timed() -> Iterator[Stopwatch]:
    """Context manager yielding a running Stopwatch."""
    sw = Stopwatch()
    with sw:
        yield sw
