"""A/B: the normaliser without (A) and with (B) Brill & Moore's substring edits in its noisy-channel error model.

Trains ``Normalizer`` on MaintNorm combined train and scores validation (the benchmark's
``--eval-split val``: development runs never look at test), once per arm and seed, arms
interleaved per seed. Prints one JSON line per run: hits (tokens needing a change that were
changed right), wrong changes (tokens needing none that were changed), recall, ERR, fit seconds and
texts per second. ``--test`` scores the test split instead, trained on train+val, as
``assetgrade bench text --task normalize`` does.

    .venv/bin/python tools/ab_norm_substrings.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import time

from assetgrade.datasets.maintnorm import load_maintnorm
from assetgrade.modalities.text.normalize import Normalizer
from assetgrade.ontology import default_ontology


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arms", choices=["off", "on"], nargs="+", default=["off", "on"])
    ap.add_argument("--test", action="store_true", help="train on train+val and score test")
    args = ap.parse_args()
    train = load_maintnorm("train", "combined", None)
    if args.test:
        train = train + load_maintnorm("val", "combined", None)
    scored = load_maintnorm("test" if args.test else "val", "combined", None)
    for seed in args.seeds:
        for arm in args.arms:
            t0 = time.perf_counter()
            norm = Normalizer(abbreviations=default_ontology().abbreviations, seed=seed, substring_edits=arm == "on")
            norm.fit(train)
            t1 = time.perf_counter()
            metrics = norm.evaluate(scored)
            t2 = time.perf_counter()
            print(json.dumps({
                "split": "train+val -> test" if args.test else "train -> val", "seed": seed,
                "substring_edits": arm == "on", "hits": int(metrics["tp"]), "wrong_changes": int(metrics["fp"]),
                "misses": int(metrics["fn"]), "recall": round(metrics["recall"], 2), "err": round(metrics["err"], 2),
                "fit_s": round(t1 - t0, 1), "texts_per_s": round(len(scored) / (t2 - t1), 1),
                "load_average": round(os.getloadavg()[0], 1),
            }), flush=True)


if __name__ == "__main__":
    main()
