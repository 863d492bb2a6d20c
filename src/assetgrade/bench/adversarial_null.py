"""How often the adversarial check fails data that holds no synthetic items at all (its false-alarm rate).

Each set takes ``n_real + n_fake`` distinct real NEU-DET images at random and marks ``n_fake`` of
them "synthetic": origin then says nothing about the images, so every failure of the check is a
false alarm. The check runs twice per set, with the p-value from the normal approximation alone
(``n_permutations=0``) and with the permutation test it uses by default for small sides; at
``alpha`` 0.05 a calibrated test fails at most 5 % of such sets. Embeddings are the audit's
(EfficientNet-Lite0 pooled features, cached).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError

__all__ = ["AdversarialNullConfig", "run_adversarial_null_bench", "wilson_interval"]


@dataclass(frozen=True)
class AdversarialNullConfig:
    """Settings of :func:`run_adversarial_null_bench`."""

    n_sets: int = 200
    n_real: int = 200
    n_fake: int = 5
    alpha: float = 0.05
    seed: int = 0
    data_dir: Path | None = None
    per_class: int | None = None
    """Only this many NEU images per class (quick runs)."""
    cache_dir: Path | None = None
    progress: bool = False


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``k / n`` (95 % by default).

    >>> [round(v, 3) for v in wilson_interval(10, 200)]
    [0.027, 0.09]
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def run_adversarial_null_bench(cfg: AdversarialNullConfig) -> BenchResult:
    """Run the sets; the result holds both failure rates with their Wilson intervals."""
    import pandas as pd
    from rich.progress import Progress

    from assetgrade.audit.adversarial import AdversarialValidation
    from assetgrade.audit.data import AuditData
    from assetgrade.audit.embed import embed_images
    from assetgrade.datasets.neu import load_neu

    t0 = time.perf_counter()
    ds = load_neu(cfg.data_dir, per_class=cfg.per_class)
    if cfg.n_real + cfg.n_fake > ds.n_images:
        raise ValidationError(f"a set of {cfg.n_real} + {cfg.n_fake} images needs that many of NEU's {ds.n_images}",
                              where="--n-real/--n-fake")
    emb = embed_images(ds.refs, cache_dir=cfg.cache_dir, progress=cfg.progress).astype(np.float64)
    rng = np.random.default_rng(cfg.seed)
    approx = AdversarialValidation(alpha=cfg.alpha, n_permutations=0, seed=cfg.seed)
    exact = AdversarialValidation(alpha=cfg.alpha, seed=cfg.seed)
    failed = {"normal_approximation": 0, "permutation": 0}
    permuted: list[int] = []
    origins = ["real"] * cfg.n_real + ["synthetic"] * cfg.n_fake
    with Progress(disable=not cfg.progress, transient=True) as bar:
        task = bar.add_task("adversarial check on unmarked real sets", total=cfg.n_sets)
        for _ in range(cfg.n_sets):
            pick = rng.choice(ds.n_images, cfg.n_real + cfg.n_fake, replace=False)
            ids = [ds.refs[i].evidence_id for i in pick]
            table = pd.DataFrame({"item_id": ids, "asset_id": ids, "label": [ds.labels[i] for i in pick],
                                  "origin": origins})
            data = AuditData(table, embeddings=emb[pick])
            failed["normal_approximation"] += not approx.run(data).passed
            res = exact.run(data)
            failed["permutation"] += not res.passed
            if "permutations" in res.info:
                permuted.append(int(res.info["permutations"]))
            bar.advance(task)
    rates: dict[str, Any] = {}
    for name, k in failed.items():
        lo, hi = wilson_interval(k, cfg.n_sets)
        rates[name] = {"failures": k, "rate": k / cfg.n_sets, "ci95": [round(lo, 4), round(hi, 4)]}
    metrics = {
        "false_failure": rates,
        "alpha": cfg.alpha,
        "sets_run_through_permutations": len(permuted),
        "mean_relabellings_per_permuted_set": float(np.mean(permuted)) if permuted else 0.0,
    }
    return BenchResult("audit.adversarial_null", "neu-det (real images only)",
                       f"{cfg.n_sets} random sets of {cfg.n_real} real + {cfg.n_fake} marked synthetic",
                       cfg.seed, metrics, time.perf_counter() - t0)
