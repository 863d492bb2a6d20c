"""The thread counts a ``RayExecutor``'s tasks run with on a Ray cluster, for a given file that holds it.

Loads the executor module from the file given (``ray_executor.py``, or ``executor.py`` from before the
executors were split, so an older version can be compared), connects to the cluster
at ``address`` and runs ``--shards`` shards that import numpy, scipy, scikit-learn and torch and report
threadpoolctl's thread counts per library kind and ``torch.get_num_threads()``; prints one JSON line per shard.
Written for the thread limits each task sets (docs/scale.md), on a one-node cluster whose node asks for more
threads than the driver:

    OMP_NUM_THREADS=2 .venv/bin/ray start --head --node-ip-address=127.0.0.1 --num-cpus=1 --port=6391 \\
        --temp-dir=/tmp/agc2
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python tools/ray_task_threads.py \\
        src/assetgrade/batch/ray_executor.py 127.0.0.1:6391

(with ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN_PATH`` set alike for both when the cluster uses token auth).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path


def thread_counts(_: object) -> dict[str, object]:
    """In the task: the thread counts of every loaded BLAS and OpenMP runtime, and torch's intra-op threads."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import sklearn.cluster  # noqa: F401
    import torch
    from threadpoolctl import threadpool_info

    seen: dict[str, set[int]] = {}
    for lib in threadpool_info():
        seen.setdefault(str(lib["user_api"]), set()).add(int(lib["num_threads"]))
    return {**{k: sorted(v) for k, v in sorted(seen.items())}, "torch": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("executor", type=Path, help="the file that holds RayExecutor (ray_executor.py, or old executor.py)")
    ap.add_argument("address", help="the cluster (host:port or ray://host:10001)")
    ap.add_argument("--shards", type=int, default=2)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("ab_executor", args.executor.resolve())
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with mod.RayExecutor(address=args.address, num_workers=1) as ex:
        for seen in ex.map_shards(thread_counts, list(range(args.shards))):
            print(json.dumps(seen))


if __name__ == "__main__":
    main()
