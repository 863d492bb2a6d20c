"""A/B: how long a local Ray's workers take to start with two versions of ``assetgrade/batch/executor.py``.

Each arm runs in a fresh interpreter: ``RayExecutor(num_workers=1)`` starts a local Ray
(``init``: ``ray.init`` itself), then times the first task (``first``: its worker's start) and,
three times, the next task after the worker was killed (``restarts``: Ray notices the death and
starts another; a task that reached the dying worker is asked again, within the time). The rounds
interleave the arms (A B, B A, A B ...) so that a shared machine's load falls on both alike.
Written for the local start without ``runtime_env`` (docs/scale.md):

    git show 2cbf380:src/assetgrade/batch/executor.py > /tmp/executor_before.py
    .venv/bin/python tools/ab_ray_worker_start.py /tmp/executor_before.py src/assetgrade/batch/executor.py --rounds 3
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
import importlib.util, json, os, shutil, signal, sys, time
spec = importlib.util.spec_from_file_location("ab_executor", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
temp = f"/tmp/agab-{os.getpid()}"  # short: Ray's socket paths must stay < 108 bytes
ex = mod.RayExecutor(num_workers=1, temp_dir=temp)
t0 = time.perf_counter(); ex._ensure(); init = time.perf_counter() - t0
import ray

@ray.remote(num_cpus=1, max_retries=0)
def pid():
    return os.getpid()

t0 = time.perf_counter(); p = ray.get(pid.remote()); first = time.perf_counter() - t0
restarts = []
for _ in range(3):
    os.kill(p, signal.SIGKILL)
    t0 = time.perf_counter()
    while True:
        try:
            q = ray.get(pid.remote())
            break
        except ray.exceptions.WorkerCrashedError:
            pass
    restarts.append(time.perf_counter() - t0)
    p = q
ex.close()
shutil.rmtree(temp, ignore_errors=True)
print(json.dumps({"init": init, "first": first, "restarts": restarts}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="executor.py of arm A")
    ap.add_argument("b", type=Path, help="executor.py of arm B")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    arms = {"A": args.a.resolve(), "B": args.b.resolve()}
    got: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for r in range(args.rounds):
        for arm in ("AB" if r % 2 == 0 else "BA"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(arms[arm])], capture_output=True, text=True,
                                 timeout=600, check=False)
            if out.returncode:
                raise SystemExit(f"arm {arm} failed:\n{out.stderr[-3000:]}")
            d = json.loads(out.stdout.strip().splitlines()[-1])
            got[arm].append(d)
            print(f"round {r} {arm}: init {d['init']:.2f} s, first worker {d['first']:.2f} s, restarts "
                  f"{', '.join(f'{x:.2f}' for x in d['restarts'])} s (load {os.getloadavg()[0]:.2f})", flush=True)
    summary = {arm: {"init_median_s": round(statistics.median(d["init"] for d in runs), 2),
                     "first_median_s": round(statistics.median(d["first"] for d in runs), 2),
                     "restart_median_s": round(statistics.median(x for d in runs for x in d["restarts"]), 2)}
               for arm, runs in got.items()}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
