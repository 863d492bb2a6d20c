"""What the Ray A/B tools share: two arms, each a file that holds ``RayExecutor``, timed in fresh interpreters.

``tools/ab_ray_worker_start.py`` and ``tools/ab_ray_shard_cost.py`` each give a child script that times
something and prints one JSON line; :func:`run_arms` runs it once per arm and round, the rounds interleaving
the arms (A B, B A, A B ...) so that a shared machine's load falls on both alike. The child starts with the
module in the arm's file loaded as ``mod`` (:data:`LOAD_EXECUTOR`). An arm is ``src/assetgrade/batch/ray_executor.py``
for the current tree, or ``executor.py`` of a commit from before the executors were split (``git show
REV:src/assetgrade/batch/executor.py > /tmp/executor_before.py``), which held ``RayExecutor`` then.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

LOAD_EXECUTOR = r'''
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ab_executor", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
'''
"""The start of every child script: the module in the file ``sys.argv[1]`` (the arm's), as ``mod``."""


def arm_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the two arms (``a``, ``b``: files that hold ``RayExecutor``) and ``--rounds``."""
    ap = argparse.ArgumentParser(description=description)
    for arm in ("a", "b"):
        ap.add_argument(arm, type=Path, help=f"arm {arm.upper()}: the file that holds RayExecutor "
                                             "(ray_executor.py, or an old executor.py)")
    ap.add_argument("--rounds", type=int, default=3)
    return ap


def run_arms(child: str, a: Path, b: Path, rounds: int, show: Callable[[dict[str, Any]], str],
             extra: Sequence[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """Each arm's measurements: ``child`` (after :data:`LOAD_EXECUTOR`) run in a fresh interpreter per arm and
    round, with the arm's file and ``extra`` as its arguments; the last line it prints is read as JSON.

    Each run is printed as it ends, ``show`` giving its figures, with the machine's load average. A child that
    fails ends the tool with its error output.
    """
    arms = {"A": a.resolve(), "B": b.resolve()}
    got: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for r in range(rounds):
        for arm in ("AB" if r % 2 == 0 else "BA"):
            out = subprocess.run([sys.executable, "-c", LOAD_EXECUTOR + child, str(arms[arm]), *extra],
                                 capture_output=True, text=True, timeout=600, check=False)
            if out.returncode:
                raise SystemExit(f"arm {arm} failed:\n{out.stderr[-3000:]}")
            d = json.loads(out.stdout.strip().splitlines()[-1])
            got[arm].append(d)
            print(f"round {r} {arm}: {show(d)} (load {os.getloadavg()[0]:.2f})", flush=True)
    return got


Column = tuple[Callable[[dict[str, Any]], Iterable[float]], float, int]
"""A summary column: the values it takes from one run's JSON, the factor they are shown in (1000: ms), digits."""


def print_medians(got: Mapping[str, list[dict[str, Any]]], columns: Mapping[str, Column]) -> None:
    """One JSON line: for each arm, each column's median over the values it takes from every run."""
    print(json.dumps({arm: {name: round(scale * statistics.median(x for d in runs for x in values(d)), digits)
                            for name, (values, scale, digits) in columns.items()}
                      for arm, runs in got.items()}))
