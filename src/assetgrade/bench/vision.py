"""The vision benchmark: cross-validated grade / defect-type accuracy on real image sets (ELPV, NEU, a folder).

Splits are by asset (each image is its own asset in ELPV and NEU), stratified and seeded.
Features come from the EfficientNet-Lite backbone through onnxruntime and are cached, so a
rerun recomputes nothing; ``finetune`` trains the last blocks on the CPU per fold.
The headline ``metrics`` are those of the head named by ``head`` (``auto``: the logistic
probe, or with ``finetune`` the per-fold inner-validation choice ``finetune-auto``); every
other head is reported under ``extra.all_heads`` for comparison only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.bench.report import BenchResult
from assetgrade.bench.splits import linked_assets
from assetgrade.datasets.image_folder import LabelledImages
from assetgrade.errors import ValidationError
from assetgrade.fusion.ece import expected_calibration_error  # the one ECE, with Guo et al.'s bins
from assetgrade.fusion.reliability import reliability_diagram

__all__ = [
    "VisionBenchConfig",
    "classification_metrics",
    "expected_calibration_error",
    "run_vision_bench",
    "save_plots",
]

TTA_VIEWS = ("id", "hflip", "vflip")


@dataclass
class VisionBenchConfig:
    """Settings of one ``bench vision`` run."""

    dataset: str = "neu"
    data_dir: Path | None = None
    folds: int = 5
    seed: int = 0
    backbone: str = "lite0"
    image_size: int = 224
    head: str = "auto"
    C: float | None = 0.02
    """Inverse L2 strength of the linear heads; None: chosen inside each training fold (nested, grouped log-loss)."""
    finetune: bool = False
    finetune_size: int = 224
    finetune_blocks: int = 1
    finetune_epochs: int = 12
    finetune_budget_s: float = 60.0
    tta: bool = False
    augment: bool = False
    """Also train the linear heads on the flipped views (each photo's views in its fold) and average over
    them: heads ``<head>+aug``, the headline when set (what the vision extractor does by default)."""
    per_class: int | None = None
    cache_dir: Path | None = None
    out_dir: Path | None = None
    heatmaps: bool = True
    progress: bool = True


def classification_metrics(
    y: npt.NDArray[np.int64], proba: npt.NDArray[np.float64], *, ordinal: bool, n_classes: int
) -> dict[str, Any]:
    """accuracy, macro_f1, ece, log_loss, and qwk / mae for ordinal labels.

    ECE, log-loss and QWK are the project's shared definitions (Guo et al. 2017's binned ECE;
    Cohen 1968's quadratic weighted kappa, 1.0 where both raters give every item one grade), the
    figures ``bench fusion`` and ``evaluate`` report.
    """
    from sklearn.metrics import f1_score

    from assetgrade.decision.metrics import quadratic_weighted_kappa
    from assetgrade.fusion.calibration import negative_log_likelihood

    pred = proba.argmax(axis=1)
    out: dict[str, Any] = {
        "accuracy": float(np.mean(pred == y)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=list(range(n_classes)), zero_division=0)),
        "ece": expected_calibration_error(proba, y),
        "log_loss": negative_log_likelihood(proba, y),
    }
    if ordinal:
        out["qwk"] = quadratic_weighted_kappa(y, pred, n_classes)
        out["mae_levels"] = float(np.mean(np.abs(pred - y)))
    return out


def save_plots(
    y: npt.NDArray[np.int64], proba: npt.NDArray[np.float64], classes: tuple[str, ...], out_dir: Path, stem: str
) -> list[Path]:
    """Confusion-matrix and reliability-diagram PNGs (the diagram is the fusion report's); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    out_dir.mkdir(parents=True, exist_ok=True)
    pred = proba.argmax(axis=1)
    cm = confusion_matrix(y, pred, labels=list(range(len(classes))))
    k = len(classes)
    # at most 30 inches a side (3,300 px): a folder of 200 classes would otherwise draw a 2 GB canvas
    fig, ax = plt.subplots(figsize=(min(1.2 * k + 2, 30.0), min(1.1 * k + 1.5, 30.0)))
    shown = ax.imshow(cm, cmap="Blues")
    fig.colorbar(shown, ax=ax, label="assets", shrink=0.8)  # the scale of the colours (no numbers beyond 30)
    if k <= 30:  # beyond that the counts no longer fit their cells
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
    fontsize = 10 if k <= 30 else max(3.0, 10 * 30 / k)
    ax.set_xticks(range(k), classes, rotation=45 if k <= 30 else 90, ha="right", fontsize=fontsize)
    ax.set_yticks(range(k), classes, fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{stem}: confusion matrix (accuracy {np.mean(pred == y):.3f})")
    fig.tight_layout()
    p1 = out_dir / f"{stem}_confusion.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)
    # the fusion report's diagram: the ECE's own bins ((m-1)/M, m/M], counts and the bias-corrected ECE
    p2 = reliability_diagram(proba, y, out_dir / f"{stem}_reliability.png", title=f"{stem}: reliability")
    return [p1, p2]


def load_bench_dataset(cfg: VisionBenchConfig) -> LabelledImages:
    """The labelled images named by the config (elpv, neu or folder)."""
    if cfg.dataset == "elpv":
        from assetgrade.datasets.elpv import load_elpv

        ds = load_elpv(cfg.data_dir)
    elif cfg.dataset == "neu":
        from assetgrade.datasets.neu import load_neu

        ds = load_neu(cfg.data_dir)
    elif cfg.dataset == "folder":
        from assetgrade.datasets.image_folder import load_image_folder

        if cfg.data_dir is None:
            raise ValidationError("--dataset folder needs --data-dir DIR (DIR/<class>/<images>)", where="bench vision")
        ds = load_image_folder(cfg.data_dir)
    else:
        raise ValidationError(f"unknown dataset {cfg.dataset!r}; use elpv, neu or folder", where="--dataset")
    if cfg.per_class:
        rng = np.random.default_rng(cfg.seed)
        idx: list[int] = []
        for c in ds.classes:
            members = [i for i, lab in enumerate(ds.labels) if lab == c]
            idx += sorted(rng.permutation(members)[: cfg.per_class].tolist())
        ds = ds.subset(sorted(idx))
    return ds


def _check_class_counts(classes: tuple[str, ...], y: npt.NDArray[np.int64], k: int, what: str) -> None:
    """Every class needs at least ``k`` images (each test fold holds some of it); the message names the classes."""
    counts = np.bincount(y, minlength=len(classes))
    short = {c: int(n) for c, n in zip(classes, counts, strict=True) if n < k}
    if short:
        raise ValidationError(
            f"--folds {k} needs at least {k} {what} per class; too few in {short}"
            + (" (lower --folds)" if min(short.values()) >= 2 else " (add images, or leave the class out)"),
            where="--folds")


def asset_folds(
    ds: LabelledImages, y: npt.NDArray[np.int64], k: int, seed: int, ok: npt.NDArray[np.bool_] | None = None
) -> list[tuple[Any, Any]]:
    """Stratified folds over the readable images (``ok``; default all) that keep every asset's images
    together, and identical files (same sha256) in one fold, so a copy is never tested against itself;
    two assets that hold a copy of one file go into one fold whole.

    Indices are into the whole data set; unreadable images are in no fold.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if k < 2:
        raise ValidationError(f"--folds must be at least 2, got {k}", where="--folds")
    idx = np.flatnonzero(ok) if ok is not None else np.arange(len(y))
    _check_class_counts(ds.classes, y[idx], k, "readable images" if ok is not None else "images")
    if ds.groups:
        ids = linked_assets([ds.asset_ids()[i] for i in idx], [ds.refs[i].sha256 for i in idx])
        split = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(y[idx], y[idx], groups=ids)
    else:
        split = StratifiedKFold(k, shuffle=True, random_state=seed).split(y[idx], y[idx])
    fold_of = np.empty(len(idx), dtype=np.int64)
    for f, (_, te) in enumerate(split):
        fold_of[te] = f
    first: dict[str, int] = {}
    for j, i in enumerate(idx):  # a duplicate follows the first copy's fold
        fold_of[j] = fold_of[first.setdefault(ds.refs[i].sha256, j)]
    return [(idx[fold_of != f], idx[fold_of == f]) for f in range(k)]


def duplicate_files(ds: LabelledImages, ok: npt.NDArray[np.bool_]) -> list[list[str]]:
    """Evidence ids of readable images whose bytes are identical (each list one content, two or more files)."""
    by_sha: dict[str, list[str]] = {}
    for i in np.flatnonzero(ok):
        by_sha.setdefault(ds.refs[i].sha256, []).append(ds.refs[i].evidence_id)
    return [ids for ids in by_sha.values() if len(ids) > 1]


def run_vision_bench(cfg: VisionBenchConfig) -> BenchResult:
    """Run the benchmark described by ``cfg`` and return its result (plots written to ``cfg.out_dir``)."""
    from assetgrade.bench.vision_steps import cam_peak_in_box, finetune_probas, probe_probas, trunk_pass
    from assetgrade.modalities.vision.backbone import Backbone, default_cache_dir
    from assetgrade.modalities.vision.cache import FeatureCache
    from assetgrade.modalities.vision.features import extract_pooled

    t_start = time.perf_counter()
    ds = load_bench_dataset(cfg)
    y = np.array([ds.classes.index(lab) for lab in ds.labels], dtype=np.int64)
    head = "logistic" if cfg.head == "auto" else cfg.head
    if head not in ("logistic", "ordinal", "finetune") or (head == "ordinal" and not ds.ordinal):
        raise ValidationError(
            f"head {cfg.head!r} not possible here; use auto, logistic, ordinal (ordered labels) or finetune",
            where="--head",
        )
    if head == "finetune" and not cfg.finetune:
        raise ValidationError("head 'finetune' needs --finetune", where="--head")
    _check_class_counts(ds.classes, y, cfg.folds, "images")  # before any feature is computed
    cache_root = cfg.cache_dir or default_cache_dir()
    bb = Backbone(cfg.backbone, image_size=cfg.image_size, cache_dir=cache_root / "onnx")
    n_blocks = len(bb.torch_model._blocks)
    if cfg.finetune and not 0 <= cfg.finetune_blocks < n_blocks:  # before the features, not after the linear heads
        raise ValidationError(f"{cfg.finetune_blocks} is not allowed; {cfg.backbone} has {n_blocks} blocks, so 0.."
                              f"{n_blocks - 1} can be trained", where="--finetune-blocks")
    cache = FeatureCache(cache_root / "features")
    views = TTA_VIEWS if cfg.tta or cfg.augment else ("id",)
    feats: dict[str, npt.NDArray[np.float32]] = {}
    throughput: list[float] = []
    errors: dict[int, str] = {}
    for v in views:
        fb = extract_pooled(ds.refs, bb, cache=cache, view=v, progress=cfg.progress)
        feats[v] = fb.features
        errors.update(fb.errors)
        if fb.computed:
            throughput.append(fb.images_per_s)
    ok = np.array([i not in errors for i in range(len(y))])
    folds = asset_folds(ds, y, cfg.folds, cfg.seed, ok)
    K = len(ds.classes)
    # every step that reads an image again runs before any head is trained: an image it finds unreadable
    # (changed or cut off on disk since its features were computed) is in no head's training, scores or counts
    trunk = None
    if cfg.finetune:
        trunk = trunk_pass(ds, ok, cfg)
        errors.update(trunk.unreadable)
        ok[list(trunk.unreadable)] = False
    loc: dict[str, Any] = {}
    if cfg.heatmaps and any(r.boxes for r in ds.refs):
        loc = cam_peak_in_box(ds, y, ok, folds, feats["id"], bb, cfg, cfg.out_dir)
        errors.update(loc["unreadable"])
        ok[list(loc["unreadable"])] = False
    results: dict[str, dict[str, Any]] = {}
    probas: dict[str, npt.NDArray[np.float64]] = {}
    heads = ["logistic", "ordinal"] if ds.ordinal else ["logistic"]
    groups = np.asarray(ds.asset_ids())
    penalties: dict[str, list[float]] = {}
    for h in heads:
        probas[h], penalties[h] = probe_probas(feats, y, ok, folds, h, K, cfg.C, views=("id",), groups=groups,
                                               seed=cfg.seed)
        if cfg.tta:
            probas[f"{h}+tta"], _ = probe_probas(feats, y, ok, folds, h, K, cfg.C, views=views, groups=groups,
                                                 seed=cfg.seed)
        if cfg.augment:
            probas[f"{h}+aug"], penalties[f"{h}+aug"] = probe_probas(
                feats, y, ok, folds, h, K, cfg.C, views=views, groups=groups, seed=cfg.seed, train_views=views)
    primary = f"{head}+aug" if cfg.augment else f"{head}+tta" if cfg.tta else head
    rule = f"the head selected with --head ({cfg.head})" + (
        " trained on the flipped views, averaged over them" if cfg.augment else " with TTA" if cfg.tta else "")
    ft_info: dict[str, Any] = {}
    if trunk is not None:
        p_ft, ft_info, _ = finetune_probas(ds, y, ok, folds, cfg, trunk)
        probas.update(p_ft)
        if cfg.head == "auto":
            primary = "finetune-auto"
            rule = "--finetune with --head auto: " + str(ft_info["auto_rule"])
        elif head == "finetune":
            primary = "finetune+tta" if cfg.tta else "finetune"
    for name, p in probas.items():
        results[name] = classification_metrics(y[ok], p[ok], ordinal=ds.ordinal, n_classes=K)
    metrics = dict(results[primary])
    metrics["images_per_s"] = float(np.mean(throughput)) if throughput else None
    out_dir = cfg.out_dir
    plots: list[str] = []
    if out_dir is not None:
        stem = f"vision_{ds.name}_{primary.replace('+', '_')}"
        plots = [str(p) for p in save_plots(y[ok], probas[primary][ok], ds.classes, out_dir, stem)]
    if loc:
        metrics["peak_in_box_rate"] = loc["peak_in_box_rate"]
        metrics["centre_in_box_rate"] = loc["centre_in_box_rate"]
        plots += loc["overlays"]
    counts = {c: int(np.sum(y[ok] == i)) for i, c in enumerate(ds.classes)}
    # an image found unreadable after the folds were drawn is in none of their counts (nor trained on)
    train_sizes, test_sizes = [int(ok[tr].sum()) for tr, _ in folds], [int(ok[te].sum()) for _, te in folds]
    duplicates = duplicate_files(ds, ok)
    return BenchResult(
        benchmark="vision",
        dataset=ds.name,
        split=f"stratified {cfg.folds}-fold CV by asset (each image its own asset; identical files share a fold), "
        "out-of-fold predictions of the readable images",
        seed=cfg.seed,
        metrics=metrics,
        wall_s=time.perf_counter() - t_start,
        extra={
            "n_images": int(ok.sum()),
            "per_class": cfg.per_class,
            "n_train": round(float(np.mean(train_sizes))),
            "n_test": round(float(np.mean(test_sizes))),
            "n_train_per_fold": train_sizes,
            "n_test_per_fold": test_sizes,
            "classes": counts,
            "n_unreadable": len(errors),
            "duplicate_files": duplicates,
            "head": primary,
            "headline_rule": rule + "; chosen before looking at the test folds, other heads are for comparison",
            "backbone": bb.key,
            "engine": "onnxruntime" if bb.use_onnx() else "torch",
            "tta_views": list(views),
            "C": "auto (nested, per training fold)" if cfg.C is None else cfg.C,
            "C_per_fold": penalties,
            "all_heads": results,
            "finetune": ft_info,
            "unreadable_images": {ds.refs[i].evidence_id: m for i, m in errors.items()},
            "plots": plots,
        },
    )
