"""A/B: ``modalities.penalty.choose_penalty`` with the BLAS default (A) and under ``blas.serial_blas`` (B).

The fits are the text and sensor extractors' own (their classifier pipelines and C grids) on
synthetic data of the shapes they meet on the linked benchmark: text 600 and 1,560 labelled
assets x 400 columns (384 embedding + summaries + centroid similarities), sensors 600 x 294
window features (21 C-MAPSS channels x 14); 4 grades, groups of 3 assets. The rounds interleave
A and B (A B, B A, A B ...) so that a shared machine's load falls on both alike.

    .venv/bin/python tools/ab_penalty_blas.py --rounds 3
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
from threadpoolctl import threadpool_info

from assetgrade.blas import serial_blas
from assetgrade.modalities.penalty import choose_penalty
from assetgrade.modalities.sensors.grade_model import SENSOR_C_GRID, new_classifier
from assetgrade.modalities.text.extractor import TEXT_C_GRID, TextExtractor

SHAPES = {"text_600x400": (600, 400, "text"), "text_1560x400": (1560, 400, "text"),
          "sensors_600x294": (600, 294, "sensors")}


def _problem(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features with a weak ordinal signal spread over 20 columns, 4 grades, groups of 3 rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    latent = x[:, :20] @ rng.normal(size=20) / np.sqrt(20) + rng.normal(size=n)
    y = np.digitize(latent, np.quantile(latent, [0.25, 0.5, 0.75])).astype(np.int64)
    return x, y, np.arange(n) // 3


def _search(kind: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float, dict[float, float]]:
    make: Callable[[float], Any] = TextExtractor._new_classifier if kind == "text" else new_classifier

    def fit_predict(tr: np.ndarray, te: np.ndarray, C: float) -> np.ndarray:
        model = make(C).fit(x[tr], y[tr])
        out = np.zeros((len(te), 4))
        out[:, model.classes_] = model.predict_proba(x[te])
        return out

    return choose_penalty(fit_predict, y, groups=groups, grid=TEXT_C_GRID if kind == "text" else SENSOR_C_GRID,
                          fallback=1.0)


@contextlib.contextmanager
def _default() -> Iterator[None]:
    yield


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    problems = {name: (_problem(n, d, seed=i), kind) for i, (name, (n, d, kind)) in enumerate(SHAPES.items())}
    times: dict[str, dict[str, list[float]]] = {name: {"A": [], "B": []} for name in SHAPES}
    chosen: dict[str, dict[str, float]] = {name: {} for name in SHAPES}
    blas_threads: dict[str, int] = {}
    for r in range(args.rounds):
        for arm in ("AB" if r % 2 == 0 else "BA"):
            for name, ((x, y, g), kind) in problems.items():
                with serial_blas() if arm == "B" else _default():
                    threads = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
                    t0 = time.perf_counter()
                    c, _ = _search(kind, x, y, g)
                    times[name][arm].append(time.perf_counter() - t0)
                chosen[name][arm] = c
                blas_threads[arm] = threads
            print(f"round {r} {arm} done (BLAS threads {blas_threads[arm]}), load {os.getloadavg()[0]:.2f}",
                  flush=True)
    out = {name: {"A_default_s": [round(t, 2) for t in v["A"]], "B_serial_s": [round(t, 2) for t in v["B"]],
                  "A_median": round(float(np.median(v["A"])), 2), "B_median": round(float(np.median(v["B"])), 2),
                  "C": chosen[name]} for name, v in times.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
