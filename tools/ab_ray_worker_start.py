"""A/B: how long a local Ray's workers take to start with two versions of the module that holds ``RayExecutor``.

Each arm runs in a fresh interpreter: ``RayExecutor(num_workers=1)`` starts a local Ray
(``init``: ``ray.init`` itself), then times the first task (``first``: its worker's start) and,
three times, the next task after the worker was killed (``restarts``: Ray notices the death and
starts another; a task that reached the dying worker is asked again, within the time). The rounds
interleave the arms (``tools/ab_ray_arms.py``). Written for the local start without ``runtime_env``
(docs/scale.md), when ``RayExecutor`` was in ``executor.py``; against the current tree arm B is
``ray_executor.py``:

    git show 2cbf380:src/assetgrade/batch/executor.py > /tmp/executor_before.py
    .venv/bin/python tools/ab_ray_worker_start.py /tmp/executor_before.py \\
        src/assetgrade/batch/ray_executor.py --rounds 3
"""

from __future__ import annotations

from typing import Any

from ab_ray_arms import arm_parser, print_medians, run_arms

CHILD = r'''
import json, os, shutil, signal, sys, time
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


def _show(d: dict[str, Any]) -> str:
    return (f"init {d['init']:.2f} s, first worker {d['first']:.2f} s, restarts "
            f"{', '.join(f'{x:.2f}' for x in d['restarts'])} s")


def main() -> None:
    args = arm_parser(__doc__.splitlines()[0]).parse_args()
    got = run_arms(CHILD, args.a, args.b, args.rounds, _show)
    print_medians(got, {"init_median_s": (lambda d: [d["init"]], 1, 2),
                        "first_median_s": (lambda d: [d["first"]], 1, 2),
                        "restart_median_s": (lambda d: d["restarts"], 1, 2)})


if __name__ == "__main__":
    main()
