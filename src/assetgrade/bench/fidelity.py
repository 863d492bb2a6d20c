"""``assetgrade bench fidelity``: synthetic defects mixed into NEU, measured by the audit checks.

Real NEU images are split (stratified, seeded) into train and test, identical files on one side.
Synthetic items are made from random real training images: by default a procedural defect of the image's class is drawn
on it (crazing -> ``crack``; inclusion, scratches -> ``scratch``; patches, pitted_surface,
rolled-in_scale -> ``pitting``); ``synth="augmented"`` uses ``lighting``/``blur`` instead and
``"mixed"`` either. Each keeps its parent's label and asset id. With 30% synthetic in the training pool the audit
runs (adversarial AUC, shortcuts, sim-to-real gap, synthetic share...); then linear probes on
backbone embeddings trained on real only, real + 10% and real + 30% synthetic are scored on
the real test images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.bench.drift import save_figure
from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError
from assetgrade.store.records import ImageRef

__all__ = [
    "AUGMENT_GENERATORS",
    "CLASS_GENERATORS",
    "FidelityConfig",
    "check_fidelity_config",
    "make_synthetic_refs",
    "plot_fidelity",
    "real_split",
    "run_fidelity_bench",
]

CLASS_GENERATORS: dict[str, tuple[str, ...]] = {
    "crazing": ("crack",),
    "inclusion": ("scratch",),
    "patches": ("pitting",),
    "pitted_surface": ("pitting",),
    "rolled-in_scale": ("pitting",),
    "scratches": ("scratch",),
}
"""The procedural defect drawn onto a real image of each NEU class (``defects`` mode)."""
AUGMENT_GENERATORS = ("lighting", "blur")
"""The photometric augmentations of the ``augmented`` mode."""


@dataclass
class FidelityConfig:
    """Settings of the fidelity benchmark."""

    data_dir: Path | None = None
    seed: int = 0
    per_class: int | None = None
    test_share: float = 0.3
    high_share: float = 0.3
    low_share: float = 0.1
    cache_dir: Path | None = None
    progress: bool = False
    plot_path: Path | None = None
    synth: str = "defects"


SYNTH_MODES = ("defects", "augmented", "mixed")
MIN_PER_CLASS = 3
"""The fewest images per class the stratified 70/30 real split takes (a test image of every class)."""


def check_fidelity_config(cfg: FidelityConfig) -> None:
    """ValidationError naming the option when a setting cannot run (checked before any image is read).

    >>> check_fidelity_config(FidelityConfig(low_share=0.4, high_share=0.3))
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: --low-share: 0.4 is above --high-share 0.3; the smaller share must be at most it
    """
    if cfg.seed < 0:
        raise ValidationError(f"{cfg.seed} must be >= 0", where="--seed")
    if cfg.per_class is not None and cfg.per_class < MIN_PER_CLASS:
        raise ValidationError(f"{cfg.per_class} is below {MIN_PER_CLASS}: the stratified {1 - cfg.test_share:.0%}/"
                              f"{cfg.test_share:.0%} split needs a test image of every class", where="--per-class")
    for name, share in (("--high-share", cfg.high_share), ("--low-share", cfg.low_share)):
        if not 0.0 < share < 1.0:
            raise ValidationError(f"{share:g} is not in (0, 1)", where=name)
    if cfg.low_share > cfg.high_share:
        raise ValidationError(f"{cfg.low_share:g} is above --high-share {cfg.high_share:g}; the smaller share must "
                              "be at most it", where="--low-share")
    if cfg.synth not in SYNTH_MODES:
        raise ValidationError(f"mode {cfg.synth!r}; allowed: {', '.join(SYNTH_MODES)}", where="--synth")


def _const(data: bytes) -> bytes:
    return data


def make_synthetic_refs(
    parents: list[ImageRef], labels: list[str], seed: int, mode: str = "defects"
) -> tuple[list[ImageRef], list[dict[str, Any]]]:
    """One marked item per parent: a procedural defect by class (``defects``), a photometric change
    (``augmented``) or either at random (``mixed``); seeded. Returns refs and provenance rows."""
    if mode not in SYNTH_MODES:
        raise ValidationError(f"mode {mode!r}; allowed: defects, augmented, mixed", where="--synth")
    from assetgrade.modalities.vision.images import decode_image
    from assetgrade.synth import generate

    rng = np.random.default_rng(seed)
    refs: list[ImageRef] = []
    prov: list[dict[str, Any]] = []
    for k, (ref, lab) in enumerate(zip(parents, labels, strict=True)):
        defects = CLASS_GENERATORS.get(lab, ("scratch", "pitting", "crack"))
        gens = {"defects": defects, "augmented": AUGMENT_GENERATORS, "mixed": defects + AUGMENT_GENERATORS}[mode]
        gen = gens[int(rng.integers(len(gens)))]
        img = decode_image(ref.load_bytes(), where=f"image {ref.evidence_id}")
        out = generate(gen, img, seed=int(rng.integers(2**31)), parent_id=ref.evidence_id)
        data = out.to_png_bytes()
        refs.append(ImageRef(f"syn{k}-{ref.evidence_id}", out.sha256(), partial(_const, data), origin=out.origin))
        prov.append(out.provenance())
    return refs, prov


def plot_fidelity(metrics: dict[str, Any], stats: list[dict[str, Any]], path: Path) -> None:
    """PNG: real-test accuracies (left) and how well each image statistic alone separates synthetic from real."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    keep = ("real_test_accuracy", "sim_to_real_accuracy")
    acc = {k.replace("real_test_accuracy_", "train: ").replace("sim_to_real_accuracy_", "CV: "): float(v)
           for k, v in metrics.items() if k.startswith(keep) and v is not None}
    a1.barh(list(acc), list(acc.values()), color="tab:blue")
    a1.set_xlim(max(0.0, min(acc.values()) - 0.05) if acc else 0.5, 1.0)
    a1.set_xlabel("accuracy on real test images")
    names = [s["stat"] for s in stats]
    a2.bar(names, [s["separation"] for s in stats], color="tab:orange")
    a2.tick_params(axis="x", labelrotation=30)
    a2.axhline(0.5, color="k", lw=1)
    a2.set_ylim(0.4, 1.0)
    a2.set_ylabel("real-vs-synthetic AUC (either direction)")
    adv = metrics.get("adversarial_auc")  # None when the check was skipped (fewer than 2 synthetic items)
    a2.set_title("probe on embeddings: " + (f"AUC {adv:.3f}" if adv is not None else "not run"), fontsize=9)
    fig.tight_layout()
    try:
        save_figure(fig, path)
    finally:
        plt.close(fig)


def _accuracy(x_tr: Any, y_tr: Any, x_te: Any, y_te: Any, seed: int) -> float:
    from assetgrade.audit._cv import fit_probe

    return float(np.mean(fit_probe(x_tr, y_tr, 1.0, seed).predict(x_te) == y_te))


def real_split(ds: Any, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded train / test indices of the real images, identical files (and an asset's
    images) on one side: a copy of a test image is never trained on, nor made into a synthetic item.
    Where no file is shared this is the plain stratified split by image."""
    from assetgrade.bench.splits import holdout_by_unit, linked_assets

    y = np.unique(np.asarray(ds.labels), return_inverse=True)[1].astype(np.int64)
    units = linked_assets(ds.asset_ids(), [r.sha256 for r in ds.refs])
    return holdout_by_unit(y, units.tolist(), test_share, seed)


def run_fidelity_bench(cfg: FidelityConfig) -> BenchResult:
    """Run the benchmark; returns the result the CLI prints."""
    from assetgrade.audit.base import run_checks
    from assetgrade.audit.data import AuditData, image_loader_from_refs
    from assetgrade.audit.embed import embed_images
    from assetgrade.datasets.neu import load_neu

    check_fidelity_config(cfg)
    t0 = time.perf_counter()
    ds = load_neu(cfg.data_dir, per_class=cfg.per_class)
    n = ds.n_images
    labels = np.array(ds.labels)
    idx_tr, idx_te = real_split(ds, cfg.test_share, cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    n_hi = round(cfg.high_share / (1 - cfg.high_share) * len(idx_tr))
    n_lo = round(cfg.low_share / (1 - cfg.low_share) * len(idx_tr))
    parents = rng.choice(idx_tr, size=n_hi, replace=n_hi > len(idx_tr))
    syn_refs, prov = make_synthetic_refs(
        [ds.refs[i] for i in parents], [ds.labels[i] for i in parents], cfg.seed, cfg.synth
    )
    t_gen = time.perf_counter() - t0
    all_refs = list(ds.refs) + syn_refs
    emb = embed_images(all_refs, cache_dir=cfg.cache_dir, progress=cfg.progress).astype(np.float64)
    t_emb = time.perf_counter() - t0 - t_gen
    real_emb, syn_emb = emb[:n], emb[n:]
    split = np.array(["train"] * n, dtype=object)
    split[idx_te] = "test"
    table = pd.DataFrame({
        "item_id": [r.evidence_id for r in all_refs],
        "asset_id": [r.evidence_id for r in ds.refs] + [ds.refs[i].evidence_id for i in parents],
        "label": list(ds.labels) + [ds.labels[i] for i in parents],
        "split": list(split) + ["train"] * n_hi,
        "origin": ["real"] * n + [p["origin"] for p in prov],
        "asset_type": "steel_strip",
        "capture_condition": "neu_lab",
        "source": ["neu"] * n + [f"synth:{p['generator']}" for p in prov],
    })
    data = AuditData(table, embeddings=emb, image_loader=image_loader_from_refs(all_refs), classes=ds.classes)
    report = run_checks(
        data,
        ["synthetic_share", "adversarial", "sim_to_real", "duplicates", "imbalance", "coverage"],
        {"coverage": {"min_count": 20}, "adversarial": {"seed": cfg.seed}, "sim_to_real": {"seed": cfg.seed}},
        progress=cfg.progress,
    )
    adv, s2r = report.results["adversarial"], report.results["sim_to_real"]
    # real-test accuracy: real only vs real + 10% / 30% synthetic in training
    y_tr, y_te = labels[idx_tr], labels[idx_te]
    syn_lab = labels[parents]
    acc_real = _accuracy(real_emb[idx_tr], y_tr, real_emb[idx_te], y_te, cfg.seed)
    accs = {}
    for share, m in (("low", n_lo), ("high", n_hi)):
        x = np.vstack([real_emb[idx_tr], syn_emb[:m]])
        y = np.r_[y_tr, syn_lab[:m]]
        accs[share] = _accuracy(x, y, real_emb[idx_te], y_te, cfg.seed)
    gens = pd.Series([p["generator"] for p in prov]).value_counts().to_dict()
    metrics = {
        "adversarial_auc": adv.info.get("auc"),
        "adversarial_auc_image_stats_only": adv.info.get("stats_only_auc"),
        "shortcuts": [s["stat"] for s in adv.info.get("shortcuts", [])],
        "sim_to_real_accuracy_real_to_real": s2r.info.get("accuracy_real_to_real"),
        "sim_to_real_accuracy_synthetic_to_real": s2r.info.get("accuracy_synthetic_to_real"),
        "sim_to_real_gap": s2r.info.get("gap"),
        "real_test_accuracy_real_only": acc_real,
        f"real_test_accuracy_{round(cfg.low_share * 100)}pct_synthetic": accs["low"],
        f"real_test_accuracy_{round(cfg.high_share * 100)}pct_synthetic": accs["high"],
        f"accuracy_delta_{round(cfg.low_share * 100)}pct_points": 100 * (accs["low"] - acc_real),
        "audit_passed": report.passed,
        "audit_failed_checks": report.failed(),
    }
    if cfg.plot_path is not None:
        plot_fidelity(metrics, adv.info.get("image_stats", []), cfg.plot_path)
    extra = {
        "targets": {"adversarial_auc": ">= 0.9", "accuracy_delta_10pct_points": "within 1 point"},
        "n_real": n,
        "n_train_real": len(idx_tr),
        "n_test_real": len(idx_te),
        "n_synthetic": n_hi,
        "n_synthetic_low": n_lo,
        "synth_mode": cfg.synth,
        "generators": gens,
        "audit": {k: {"passed": r.passed, "summary": r.summary, "message": r.message}
                  for k, r in report.results.items()},
        "shortcut_details": adv.info.get("shortcuts", []),
        "most_synthetic_looking": adv.info.get("most_synthetic_looking", [])[:5],
        "timing_s": {"generate": round(t_gen, 2), "embed": round(t_emb, 2)},
        "backbone": "lite0@224 pooled multi-block (assetgrade.modalities.vision)",
        "plot": str(cfg.plot_path) if cfg.plot_path else None,
    }
    return BenchResult(
        benchmark="fidelity",
        dataset="neu" + (f" ({cfg.per_class}/class)" if cfg.per_class else ""),
        split=f"stratified {1 - cfg.test_share:.0%}/{cfg.test_share:.0%} real train/test (identical files on one "
        f"side), seed {cfg.seed}; "
        "audit CV grouped by parent image",
        seed=cfg.seed,
        metrics=metrics,
        wall_s=time.perf_counter() - t0,
        extra=extra,
    )
