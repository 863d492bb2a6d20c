"""A/B: what a Ray task of ``RayExecutor.map_shards`` costs with two versions of ``assetgrade/batch/executor.py``.

``tools/ab_ray_worker_start.py`` times Ray's own tasks, not the executor's; this times the executor's. Each arm
runs in a fresh interpreter: ``RayExecutor(num_workers=1)`` starts a local Ray, then ``first`` is the first
shard through ``map_shards`` (its worker's start, its import of assetgrade, which a real shard's ``run_shard``
needs in either arm, and the task's own set-up), ``per_shard`` the mean of ``--shards`` trivial shards after it
(one in flight: a task's whole round trip), and ``per_shard_torch`` the
same once the worker has imported numpy, scipy and torch (more libraries for threadpoolctl to find). The rounds
interleave the arms (A B, B A, ...) so a shared machine's load falls on both alike. Written for the thread
limits each task sets (docs/scale.md):

    git show 0a93d6f:src/assetgrade/batch/executor.py > /tmp/executor_before.py
    .venv/bin/python tools/ab_ray_shard_cost.py /tmp/executor_before.py src/assetgrade/batch/executor.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

CHILD = r'''
import importlib.util, json, os, shutil, sys, time
spec = importlib.util.spec_from_file_location("ab_executor", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
shards = int(sys.argv[2])
from assetgrade.batch.executor import worker_count as fn  # a package function: a real shard's worker imports
                                                          # assetgrade (run_shard) in either arm


def load_libraries(_):
    import numpy, scipy.linalg, torch  # noqa: F401
    return os.getpid()


temp = f"/tmp/agab-{os.getpid()}"  # short: Ray's socket paths must stay < 108 bytes
ex = mod.RayExecutor(num_workers=1, temp_dir=temp)
ex._ensure()
t0 = time.perf_counter(); list(ex.map_shards(fn, [1])); first = time.perf_counter() - t0
t0 = time.perf_counter(); list(ex.map_shards(fn, range(1, shards + 1))); per = (time.perf_counter() - t0) / shards
list(ex.map_shards(load_libraries, [0]))
t0 = time.perf_counter(); list(ex.map_shards(fn, range(1, shards + 1))); per_torch = (time.perf_counter() - t0) / shards
ex.close()
shutil.rmtree(temp, ignore_errors=True)
print(json.dumps({"first": first, "per_shard": per, "per_shard_torch": per_torch}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="executor.py of arm A")
    ap.add_argument("b", type=Path, help="executor.py of arm B")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shards", type=int, default=200, help="trivial shards timed per measurement")
    args = ap.parse_args()
    arms = {"A": args.a.resolve(), "B": args.b.resolve()}
    got: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for r in range(args.rounds):
        for arm in ("AB" if r % 2 == 0 else "BA"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(arms[arm]), str(args.shards)], capture_output=True,
                                 text=True, timeout=600, check=False)
            if out.returncode:
                raise SystemExit(f"arm {arm} failed:\n{out.stderr[-3000:]}")
            d = json.loads(out.stdout.strip().splitlines()[-1])
            got[arm].append(d)
            print(f"round {r} {arm}: first shard {d['first']:.2f} s, per shard {1000 * d['per_shard']:.1f} ms, "
                  f"with torch loaded {1000 * d['per_shard_torch']:.1f} ms (load {os.getloadavg()[0]:.2f})",
                  flush=True)
    summary = {arm: {"first_median_s": round(statistics.median(d["first"] for d in runs), 2),
                     "per_shard_median_ms": round(1000 * statistics.median(d["per_shard"] for d in runs), 1),
                     "per_shard_torch_median_ms": round(1000 * statistics.median(d["per_shard_torch"] for d in runs),
                                                        1)}
               for arm, runs in got.items()}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
