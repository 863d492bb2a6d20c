"""How often the adversarial check fails data that holds no synthetic items at all (its false-alarm rate).

Each set takes ``n_real + n_fake`` distinct real NEU-DET images at random and marks ``n_fake`` of
them "synthetic": origin then says nothing about the images, so every failure of the check, and
every image-statistic "shortcut" it names, is a false alarm. The check runs once per set; its
result carries the p-value of the normal approximation (``auc_p_value_normal``) beside the one it
decides with (the permutation test for small sides), so both failure rates come from the same
run. At ``alpha`` 0.05 a calibrated test fails at most 5 % of such sets. Shortcuts are counted on
effect size alone (a statistic's AUC reaches ``shortcut_auc``) and with the check's Bonferroni
condition (what it reports). Embeddings are the audit's (EfficientNet-Lite0 pooled features,
cached); image statistics are computed once per image.
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
    from rich.console import Console
    from rich.progress import Progress

    from assetgrade.audit.adversarial import AdversarialValidation
    from assetgrade.audit.data import AuditData, image_loader_from_refs
    from assetgrade.audit.embed import embed_images
    from assetgrade.audit.images import ImageDigests, image_digests
    from assetgrade.datasets.neu import load_neu

    t0 = time.perf_counter()
    ds = load_neu(cfg.data_dir, per_class=cfg.per_class)
    if cfg.n_real + cfg.n_fake > ds.n_images:
        raise ValidationError(f"a set of {cfg.n_real} + {cfg.n_fake} images needs that many of NEU's {ds.n_images}",
                              where="--n-real/--n-fake")
    emb = embed_images(ds.refs, cache_dir=cfg.cache_dir, progress=cfg.progress).astype(np.float64)
    ids_all = [r.evidence_id for r in ds.refs]
    whole = AuditData(pd.DataFrame({"item_id": ids_all, "asset_id": ids_all, "label": ds.labels}),
                      image_loader=image_loader_from_refs(ds.refs))
    dig = image_digests(whole, progress=cfg.progress)  # once per image, sliced for each set below
    if dig is None:  # unreachable: ``whole`` has an image loader
        raise RuntimeError("no image digests")
    rng = np.random.default_rng(cfg.seed)
    check = AdversarialValidation(alpha=cfg.alpha, seed=cfg.seed)
    failed = {"normal_approximation": 0, "permutation": 0}
    named = {"effect_size_alone": 0, "with_bonferroni": 0}
    permuted: list[int] = []
    skipped_sets = 0
    origins = ["real"] * cfg.n_real + ["synthetic"] * cfg.n_fake
    with Progress(disable=not cfg.progress, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("adversarial check on unmarked real sets", total=cfg.n_sets)
        for _ in range(cfg.n_sets):
            pick = rng.choice(ds.n_images, cfg.n_real + cfg.n_fake, replace=False)
            ids = [ids_all[i] for i in pick]
            table = pd.DataFrame({"item_id": ids, "asset_id": ids, "label": [ds.labels[i] for i in pick],
                                  "origin": origins})
            sliced = ImageDigests(dig.phashes[pick], dig.dhashes[pick], dig.stats[pick], dig.ok[pick], {})
            data = AuditData(table, embeddings=emb[pick], image_loader=whole.image_loader,
                             cache={"image_digests": sliced})
            res = check.run(data)
            info = res.info
            if res.skipped:  # counted as passed, as an audit would; the count says how many
                skipped_sets += 1
                bar.advance(task)
                continue
            above = info["auc"] > check.max_auc
            failed["normal_approximation"] += bool(above and info["auc_p_value_normal"] < cfg.alpha)
            failed["permutation"] += not res.passed
            named["effect_size_alone"] += any(
                np.isfinite(r["separation"]) and r["separation"] >= check.shortcut_auc for r in info["image_stats"])
            named["with_bonferroni"] += bool(info["shortcuts"])
            if "permutations" in info:
                permuted.append(int(info["permutations"]))
            bar.advance(task)
    rates: dict[str, Any] = {}
    for name, k in failed.items():
        lo, hi = wilson_interval(k, cfg.n_sets)
        rates[name] = {"failures": k, "rate": k / cfg.n_sets, "ci95": [round(lo, 4), round(hi, 4)]}
    shortcut_rates: dict[str, Any] = {}
    for name, k in named.items():
        lo, hi = wilson_interval(k, cfg.n_sets)
        shortcut_rates[name] = {"sets": k, "rate": k / cfg.n_sets, "ci95": [round(lo, 4), round(hi, 4)]}
    metrics = {
        "false_failure": rates,
        "false_shortcut": shortcut_rates,
        "alpha": cfg.alpha,
        "sets_skipped": skipped_sets,
        "sets_run_through_permutations": len(permuted),
        "mean_relabellings_per_permuted_set": float(np.mean(permuted)) if permuted else 0.0,
    }
    return BenchResult("audit.adversarial_null", "neu-det (real images only)",
                       f"{cfg.n_sets} random sets of {cfg.n_real} real + {cfg.n_fake} marked synthetic",
                       cfg.seed, metrics, time.perf_counter() - t0)
