"""A/B: what a Ray task of ``RayExecutor.map_shards`` costs with two versions of the module that holds it.

``tools/ab_ray_worker_start.py`` times Ray's own tasks, not the executor's; this times the executor's. Each arm
runs in a fresh interpreter: ``RayExecutor(num_workers=1)`` starts a local Ray, then ``first`` is the first
shard through ``map_shards`` (its worker's start, its import of assetgrade, which a real shard's ``run_shard``
needs in either arm, and the task's own set-up), ``per_shard`` the mean of ``--shards`` trivial shards after it
(one in flight: a task's whole round trip), and ``per_shard_torch`` the
same once the worker has imported numpy, scipy and torch (more libraries for threadpoolctl to find). The rounds
interleave the arms (``tools/ab_ray_arms.py``). Written for the thread limits each task sets (docs/scale.md),
when ``RayExecutor`` was in ``executor.py``; against the current tree arm B is ``ray_executor.py``:

    git show 0a93d6f:src/assetgrade/batch/executor.py > /tmp/executor_before.py
    .venv/bin/python tools/ab_ray_shard_cost.py /tmp/executor_before.py src/assetgrade/batch/ray_executor.py --rounds 3
"""

from __future__ import annotations

from typing import Any

from ab_ray_arms import arm_parser, print_medians, run_arms

CHILD = r'''
import json, os, shutil, sys, time
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


def _show(d: dict[str, Any]) -> str:
    return (f"first shard {d['first']:.2f} s, per shard {1000 * d['per_shard']:.1f} ms, "
            f"with torch loaded {1000 * d['per_shard_torch']:.1f} ms")


def main() -> None:
    ap = arm_parser(__doc__.splitlines()[0])
    ap.add_argument("--shards", type=int, default=200, help="trivial shards timed per measurement")
    args = ap.parse_args()
    got = run_arms(CHILD, args.a, args.b, args.rounds, _show, extra=[str(args.shards)])
    print_medians(got, {"first_median_s": (lambda d: [d["first"]], 1, 2),
                        "per_shard_median_ms": (lambda d: [d["per_shard"]], 1000, 1),
                        "per_shard_torch_median_ms": (lambda d: [d["per_shard_torch"]], 1000, 1)})


if __name__ == "__main__":
    main()
