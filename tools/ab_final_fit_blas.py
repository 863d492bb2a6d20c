"""A/B: the text and sensor extractors' final grade-model fit with the BLAS default (A) and under ``serial_blas`` (B).

The fit after the C search (``choose_penalty``): the extractor's own classifier pipeline on every
labelled row at once, at the C that search chooses and at C = 1 (the fallback, and a fixed C's
default, whose fit runs longer). Data and shapes are those of ``tools/ab_penalty_blas.py``
(synthetic, of the linked benchmark's shapes: text 600 and 1,560 x 400, sensors 600 x 294; 4
grades). One fit takes a fraction of a second, so each arm of a round times ``--repeats`` fits in
a row; the rounds interleave A and B (A B, B A, A B ...) so that a shared machine's load falls on
both alike. Prints the seconds per fit, and how far one thread moves the coefficients.

    .venv/bin/python tools/ab_final_fit_blas.py --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from ab_penalty_blas import SHAPES, _problem, _search  # the same data and search as the C-search A/B
from threadpoolctl import threadpool_info

from assetgrade.blas import serial_blas
from assetgrade.modalities.sensors.grade_model import new_classifier
from assetgrade.modalities.text.extractor import TextExtractor


@contextlib.contextmanager
def _default() -> Iterator[None]:
    yield


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5, help="fits per arm and round (their mean is the figure)")
    args = ap.parse_args()
    problems = {}
    for i, (shape, (n, d, kind)) in enumerate(SHAPES.items()):
        x, y, g = _problem(n, d, seed=i)
        chosen, _ = _search(kind, x, y, g)  # the C the extractor's search chooses (choose_penalty runs serial itself)
        for C in sorted({chosen, 1.0}):  # and C = 1, the fallback and a fixed C's default, whose fit runs longer
            problems[f"{shape}_C{C:g}"] = (x, y, kind, C)
    times: dict[str, dict[str, list[float]]] = {name: {"A": [], "B": []} for name in problems}
    coef_gap: dict[str, float] = {}  # how far one thread moves the fitted coefficients (rounding only)
    for name, (x, y, kind, C) in problems.items():
        make_: Callable[[float], Any] = TextExtractor._new_classifier if kind == "text" else new_classifier
        default = make_(C).fit(x, y)[-1].coef_
        with serial_blas():
            serial = make_(C).fit(x, y)[-1].coef_
        coef_gap[name] = float(np.max(np.abs(default - serial)))
    blas_threads: dict[str, int] = {}
    for r in range(args.rounds):
        for arm in ("AB" if r % 2 == 0 else "BA"):
            for name, (x, y, kind, C) in problems.items():
                make: Callable[[float], Any] = TextExtractor._new_classifier if kind == "text" else new_classifier
                with serial_blas() if arm == "B" else _default():
                    blas_threads[arm] = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
                    t0 = time.perf_counter()
                    for _ in range(args.repeats):
                        make(C).fit(x, y)
                    times[name][arm].append((time.perf_counter() - t0) / args.repeats)
            print(f"round {r} {arm} done (BLAS threads {blas_threads[arm]}), load {os.getloadavg()[0]:.2f}",
                  flush=True)
    out = {name: {"C": problems[name][3],
                  "A_default_s": [round(t, 3) for t in v["A"]], "B_serial_s": [round(t, 3) for t in v["B"]],
                  "A_median": round(float(np.median(v["A"])), 3), "B_median": round(float(np.median(v["B"])), 3),
                  "max_coef_gap": float(f"{coef_gap[name]:.2g}")} for name, v in times.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
