"""The anomaly benchmark: PatchCore-style scoring against known-good images; image AUROC and alarm rates.

Good images are split (seeded) into 60 % memory bank, 20 % held out to set the alarm
threshold at the target false-alarm rate, and 20 % test; every defective image is a test image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError
from assetgrade.store.records import ImageRef

__all__ = ["AnomalyBenchConfig", "run_anomaly_bench"]


@dataclass
class AnomalyBenchConfig:
    """Settings of one ``bench anomaly`` run."""

    good: Path | None = None
    defect: Path | None = None
    dataset: str | None = None
    good_class: str = "patches"
    data_dir: Path | None = None
    target_false_alarm: float = 0.01
    coreset_size: int = 2000
    image_size: int = 224
    per_class: int | None = None
    seed: int = 0
    cache_dir: Path | None = None
    out_dir: Path | None = None
    progress: bool = True


def _folder_refs(folder: Path) -> list[ImageRef]:
    from assetgrade.datasets.image_folder import IMAGE_SUFFIXES, image_ref_from_file

    if not folder.is_dir():
        raise ValidationError("not a folder", where=str(folder))
    refs = [image_ref_from_file(p) for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not refs:
        raise ValidationError("no images found", where=str(folder))
    return refs


def _inputs(cfg: AnomalyBenchConfig) -> tuple[str, list[ImageRef], list[ImageRef]]:
    if cfg.dataset == "neu":
        from assetgrade.datasets.neu import NEU_CLASSES, load_neu

        if cfg.good_class not in NEU_CLASSES:
            raise ValidationError(
                f"unknown NEU class {cfg.good_class!r}; known {list(NEU_CLASSES)}", where="--good-class"
            )
        ds = load_neu(cfg.data_dir, per_class=cfg.per_class)
        good = [r for r, lab in zip(ds.refs, ds.labels, strict=True) if lab == cfg.good_class]
        bad = [r for r, lab in zip(ds.refs, ds.labels, strict=True) if lab != cfg.good_class]
        return f"neu (good={cfg.good_class})", good, bad
    if cfg.dataset is not None:
        raise ValidationError(f"unknown dataset {cfg.dataset!r}; use neu, or --good/--defect", where="--dataset")
    if cfg.good is None or cfg.defect is None:
        raise ValidationError("give --good DIR and --defect DIR, or --dataset neu", where="bench anomaly")
    return f"folders {cfg.good.name} vs {cfg.defect.name}", _folder_refs(cfg.good), _folder_refs(cfg.defect)


def _patches(refs: list[ImageRef], bb: Any, progress: bool) -> tuple[npt.NDArray[np.float32], float, list[Any]]:
    """Patch features of every image (n, H, W, D), backbone seconds, and the decoded images."""
    from rich.progress import Progress

    from assetgrade.modalities.vision.anomaly import patch_features
    from assetgrade.modalities.vision.images import decode_image, preprocess

    parts, secs, imgs = [], 0.0, []
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("patch features", total=len(refs))
        for s in range(0, len(refs), 32):
            chunk = [decode_image(r.load_bytes(), where=r.evidence_id) for r in refs[s : s + 32]]
            imgs += chunk
            t0 = time.perf_counter()
            o = bb.run(np.stack([preprocess(im, bb.image_size) for im in chunk]))
            secs += time.perf_counter() - t0
            parts.append(patch_features(o.patch_maps))
            bar.update(task, advance=len(chunk))
    return np.concatenate(parts), secs, imgs


def run_anomaly_bench(cfg: AnomalyBenchConfig) -> BenchResult:
    """Fit on good images, set the threshold on held-out good ones, score test good + defective images."""
    from sklearn.metrics import roc_auc_score

    from assetgrade.modalities.vision.anomaly import PatchCore, upsample_map
    from assetgrade.modalities.vision.backbone import Backbone, default_cache_dir
    from assetgrade.modalities.vision.heatmaps import overlay_png, peak_in_boxes, peak_region

    t_start = time.perf_counter()
    name, good, bad = _inputs(cfg)
    if len(good) < 5:
        raise ValidationError(f"need at least 5 good images, got {len(good)}", where="bench anomaly")
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(good))
    n_bank, n_hold = int(0.6 * len(good)), int(0.2 * len(good))
    bank_refs = [good[i] for i in order[:n_bank]]
    hold_refs = [good[i] for i in order[n_bank : n_bank + n_hold]]
    test_good = [good[i] for i in order[n_bank + n_hold :]]
    bb = Backbone("lite0", image_size=cfg.image_size, cache_dir=(cfg.cache_dir or default_cache_dir()) / "onnx")
    P_bank, s1, _ = _patches(bank_refs, bb, cfg.progress)
    t_fit = time.perf_counter()
    pc = PatchCore(coreset_size=cfg.coreset_size, buffer_size=max(5 * cfg.coreset_size, 10000), seed=cfg.seed)
    pc.fit(P_bank[i : i + 16] for i in range(0, len(P_bank), 16))
    fit_s = time.perf_counter() - t_fit
    P_hold, s2, _ = _patches(hold_refs, bb, cfg.progress)
    hold_scores, _ = pc.score(P_hold)
    thr = PatchCore.threshold(hold_scores, cfg.target_false_alarm)
    test = test_good + bad
    P_test, s3, imgs = _patches(test, bb, cfg.progress)
    t_score = time.perf_counter()
    scores, maps = pc.score(P_test)
    score_s = time.perf_counter() - t_score
    labels = np.r_[np.zeros(len(test_good)), np.ones(len(bad))]
    auroc = float(roc_auc_score(labels, scores))
    alarm = scores > thr.value
    in_box, n_box = 0, 0
    overlays: list[str] = []
    drawn: set[str] = set()
    for i, ref in enumerate(test):
        if labels[i] == 1 and ref.boxes:
            heat = upsample_map(maps[i], imgs[i].size)
            in_box += peak_in_boxes(heat, [b for _, b in ref.boxes])
            n_box += 1
            if cfg.out_dir is not None and len(overlays) < 6 and ref.boxes[0][0] not in drawn:
                drawn.add(ref.boxes[0][0])
                _, box = peak_region(heat)
                overlays.append(
                    str(overlay_png(imgs[i], heat, cfg.out_dir / f"anomaly_{ref.evidence_id}.png", box=box))
                )
    n_img = len(bank_refs) + len(hold_refs) + len(test)
    metrics = {
        "image_auroc": auroc,
        "false_alarm_rate_test_good": float(alarm[labels == 0].mean()) if len(test_good) else None,
        "detection_rate_defect": float(alarm[labels == 1].mean()),
        "peak_in_box_rate": in_box / n_box if n_box else None,
        "images_per_s": n_img / (s1 + s2 + s3),
        "score_images_per_s": len(test) / score_s if score_s > 0 else None,
    }
    if cfg.out_dir is not None:
        overlays.append(str(_histogram(scores, labels, thr.value, cfg.out_dir)))
    return BenchResult(
        benchmark="anomaly",
        dataset=name,
        split=f"good images: {n_bank} memory bank / {len(hold_refs)} threshold / {len(test_good)} test (seeded); "
        f"all {len(bad)} defective images are test",
        seed=cfg.seed,
        metrics=metrics,
        wall_s=time.perf_counter() - t_start,
        extra={
            "n_train": n_bank,
            "n_test": len(test),
            "threshold": {"value": thr.value, "explained": thr.explain()},
            "memory_bank": {"patches_seen": pc.n_patches_seen_, "kept": len(pc.bank_), "fit_s": round(fit_s, 1)},
            "backbone": bb.key,
            "plots": overlays,
        },
    )


def _histogram(scores: npt.NDArray[np.float32], labels: npt.NDArray[np.float64], thr: float, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(float(scores.min()), float(scores.max()), 40).tolist()
    ax.hist(scores[labels == 0], bins=bins, alpha=0.6, label="good (test)", density=True)
    ax.hist(scores[labels == 1], bins=bins, alpha=0.6, label="defective", density=True)
    ax.axvline(thr, color="k", ls="--", label="alarm threshold")
    ax.set_xlabel("image anomaly score (max patch NN distance)")
    ax.legend()
    fig.tight_layout()
    path = out_dir / "anomaly_scores.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
