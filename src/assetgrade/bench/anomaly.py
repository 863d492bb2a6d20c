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


def _folder_refs(folder: Path, flag: str) -> list[ImageRef]:
    """The images under ``folder`` (sub-folders too, hidden files skipped), each named by its path inside it."""
    from assetgrade.datasets.image_folder import IMAGE_SUFFIXES, find_image_files, image_ref_from_file

    if not folder.is_dir():
        raise ValidationError("not a folder", where=f"{flag} {folder}")
    refs = [image_ref_from_file(p, evidence_id=p.relative_to(folder).as_posix()) for p in find_image_files(folder)]
    if not refs:
        raise ValidationError(f"no images found ({', '.join(IMAGE_SUFFIXES)})", where=f"{flag} {folder}")
    return refs


def _inputs(cfg: AnomalyBenchConfig) -> tuple[str, list[ImageRef], list[ImageRef]]:
    if cfg.dataset is not None and (cfg.good is not None or cfg.defect is not None):
        raise ValidationError("give either --dataset or --good/--defect folders, not both", where="bench anomaly")
    if cfg.dataset is None and cfg.per_class is not None:
        raise ValidationError("--per-class applies to --dataset neu; with --good/--defect every image is used",
                              where="--per-class")
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
    good, bad = _folder_refs(cfg.good, "--good"), _folder_refs(cfg.defect, "--defect")
    bad_shas = {r.sha256 for r in bad}
    both = [r.evidence_id for r in good if r.sha256 in bad_shas]
    if both:
        raise ValidationError(
            f"{len(both)} image(s) are both good and defective (the same bytes under --good and --defect, e.g. "
            f"{both[0]!r} in {cfg.good}); a folder inside the other is read with it", where="bench anomaly")
    return f"folders {cfg.good.resolve().name} vs {cfg.defect.resolve().name}", good, bad


def _keys(refs: list[ImageRef], folder: Path | None) -> list[str]:
    """How ``unreadable_images`` lists each image: its id in a data set, its file as found under a folder (an id
    is only unique inside its folder: ``1.png`` may be under both ``--good`` and ``--defect``)."""
    return [r.evidence_id if folder is None else str(folder / r.evidence_id) for r in refs]


def _unreadable(errors: dict[str, str]) -> str:
    """How many images could not be read, and the first one's message (naming its file)."""
    return f"{len(errors)} unreadable" + (f", e.g. {next(iter(errors.values()))}" if errors else "")


def _patches(
    refs: list[ImageRef], keys: list[str], bb: Any, progress: bool, errors: dict[str, str]
) -> tuple[npt.NDArray[np.float32], float, list[int], list[tuple[int, int]]]:
    """Patch features of the readable images (n, H, W, D), backbone seconds, their indices in ``refs`` and
    their sizes; an unreadable image goes into ``errors`` (its key in ``keys`` -> reason naming its file,
    :func:`~assetgrade.modalities.vision.images.ref_where`) and the others go on."""
    from rich.console import Console
    from rich.progress import Progress

    from assetgrade.errors import AssetgradeError
    from assetgrade.modalities.vision.anomaly import patch_features
    from assetgrade.modalities.vision.images import decode_image, preprocess, ref_where

    parts, secs, kept, sizes = [], 0.0, [], []
    with Progress(transient=True, disable=not progress, console=Console(stderr=True)) as bar:
        task = bar.add_task("patch features", total=len(refs))
        for s in range(0, len(refs), 32):
            batch = []
            for i in range(s, min(s + 32, len(refs))):
                try:
                    img = decode_image(refs[i].load_bytes(), where=ref_where(refs[i]))
                except (AssetgradeError, OSError) as exc:
                    errors[keys[i]] = str(exc)
                    continue
                batch.append(preprocess(img, bb.image_size))
                kept.append(i)
                sizes.append(img.size)
            bar.update(task, advance=min(32, len(refs) - s))
            if batch:
                t0 = time.perf_counter()
                o = bb.run(np.stack(batch))
                secs += time.perf_counter() - t0
                parts.append(patch_features(o.patch_maps))
    feats = np.concatenate(parts) if parts else np.zeros((0, 0, 0, 0), dtype=np.float32)
    return feats, secs, kept, sizes


def _localise(
    bad: list[ImageRef],
    keys: list[str],
    maps: npt.NDArray[np.float32],
    sizes: list[tuple[int, int]],
    scores: npt.NDArray[np.float32],
    threshold: float,
    out_dir: Path | None,
    errors: dict[str, str],
) -> tuple[list[int], int, int, list[str]]:
    """Peak in box over the defective images with boxes (``maps``, ``sizes``, ``scores``: theirs, in the order
    of ``bad``), and heat-map overlays of the first six classes' first images under ``out_dir``.

    Each is read again (its boxes are on the stored pixels, the heat map is in the EXIF-oriented frame; the
    overlay is drawn on the photo): one changed or cut off on disk since it was scored goes into ``errors``
    (its key in ``keys`` -> reason naming its file) and the others go on. Returns the positions in ``bad``
    of those, the images whose peak is in a box, the images with boxes read, and the overlays.
    """
    from assetgrade.errors import AssetgradeError
    from assetgrade.modalities.vision.anomaly import upsample_map
    from assetgrade.modalities.vision.heatmaps import overlay_scale_png, peak_in_boxes, peak_region
    from assetgrade.modalities.vision.images import decode_image, ref_where, shown_boxes

    gone: list[int] = []
    in_box, n_box = 0, 0
    overlays: list[str] = []
    drawn: set[str] = set()
    for j, ref in enumerate(bad):
        if not ref.boxes:
            continue
        draw = out_dir is not None and len(overlays) < 6 and ref.boxes[0][0] not in drawn
        try:  # read once for the boxes and the overlay
            data = ref.load_bytes()
            img = decode_image(data, where=ref_where(ref)) if draw else None  # only the few drawn are decoded
        except (AssetgradeError, OSError) as exc:
            errors[keys[j]] = str(exc)
            gone.append(j)
            continue
        heat = upsample_map(maps[j], sizes[j])
        in_box += peak_in_boxes(heat, shown_boxes([b for _, b in ref.boxes], data, sizes[j]))
        n_box += 1
        if img is not None and out_dir is not None:
            drawn.add(ref.boxes[0][0])
            _, box = peak_region(heat)
            png = out_dir / f"anomaly_{ref.evidence_id.replace('/', '_')}.png"
            verdict = "alarm" if scores[j] > threshold else "no alarm"
            overlays.append(str(overlay_scale_png(
                img, heat, png, box=box, label="patch anomaly score (NN distance, smoothed)",
                marks={"alarm threshold": threshold},
                notes=(f"image score {scores[j]:.4g} (largest patch): {verdict}",
                       "white box: above half-way to the peak"))))
    return gone, in_box, n_box, overlays


def run_anomaly_bench(cfg: AnomalyBenchConfig) -> BenchResult:
    """Fit on good images, set the threshold on held-out good ones, score test good + defective images.

    An image that cannot be decoded is left out and listed (``unreadable_images``, by its id in a data set,
    by its file under a folder); the split is over the readable good images, one per content
    (``duplicate_good_images``: copy -> the one kept). A defective image that cannot be read again for the
    peak-in-box test or its overlay (changed or cut off on disk since it was scored) is listed the same way
    and left out of every figure.
    """
    from sklearn.metrics import roc_auc_score

    from assetgrade.modalities.vision.anomaly import PatchCore
    from assetgrade.modalities.vision.backbone import Backbone, default_cache_dir

    t_start = time.perf_counter()
    name, good_all, bad_all = _inputs(cfg)
    if len(good_all) < 5:
        raise ValidationError(f"need at least 5 good images, got {len(good_all)}", where="bench anomaly")
    bb = Backbone("lite0", image_size=cfg.image_size, cache_dir=(cfg.cache_dir or default_cache_dir()) / "onnx")
    errors: dict[str, str] = {}
    bad_keys = _keys(bad_all, cfg.defect)
    P_good, s1, kept_good, _ = _patches(good_all, _keys(good_all, cfg.good), bb, cfg.progress, errors)
    P_bad, s2, kept_bad, bad_sizes = _patches(bad_all, bad_keys, bb, cfg.progress, errors)
    # a good photo counts once per content: a copy in the memory bank would score another copy 0
    first: dict[str, int] = {}
    for j, i in enumerate(kept_good):
        first.setdefault(good_all[i].sha256, j)
    dup_of = {good_all[i].evidence_id: good_all[kept_good[first[good_all[i].sha256]]].evidence_id
              for j, i in enumerate(kept_good) if first[good_all[i].sha256] != j}
    unique = sorted(first.values())
    P_good = P_good[unique]
    good = [good_all[kept_good[j]] for j in unique]
    bad = [bad_all[i] for i in kept_bad]
    if len(good) < 5:
        raise ValidationError(f"need at least 5 readable good images, got {len(good)} ({_unreadable(errors)})",
                              where="bench anomaly")
    if not bad:
        raise ValidationError(f"no readable defective image ({_unreadable(errors)})", where="bench anomaly")
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(good))
    n_bank, n_hold = int(0.6 * len(good)), int(0.2 * len(good))
    bank, hold, test_good = order[:n_bank], order[n_bank : n_bank + n_hold], order[n_bank + n_hold :]
    t_fit = time.perf_counter()
    pc = PatchCore(coreset_size=cfg.coreset_size, buffer_size=max(5 * cfg.coreset_size, 10000), seed=cfg.seed)
    P_bank = P_good[bank]
    pc.fit(P_bank[i : i + 16] for i in range(0, len(P_bank), 16))
    fit_s = time.perf_counter() - t_fit
    hold_scores, _ = pc.score(P_good[hold])
    thr = PatchCore.threshold(hold_scores, cfg.target_false_alarm)
    t_score = time.perf_counter()
    scores, maps = pc.score(np.concatenate([P_good[test_good], P_bad]))
    score_s = time.perf_counter() - t_score
    n_scored, nt = len(scores), len(test_good)
    # before the figures: a defective image it cannot read again is in none of them
    gone, in_box, n_box, overlays = _localise(bad, [bad_keys[i] for i in kept_bad], maps[nt:], bad_sizes,
                                              scores[nt:], thr.value, cfg.out_dir, errors)
    if gone:
        keep = np.ones(n_scored, dtype=bool)
        keep[nt + np.asarray(gone)] = False
        scores = scores[keep]
        bad = [r for j, r in enumerate(bad) if keep[nt + j]]
    if not bad:
        raise ValidationError(f"no readable defective image ({_unreadable(errors)})", where="bench anomaly")
    labels = np.r_[np.zeros(nt), np.ones(len(bad))]
    auroc = float(roc_auc_score(labels, scores))
    alarm = scores > thr.value
    n_test = nt + len(bad)
    metrics = {
        "image_auroc": auroc,
        "false_alarm_rate_test_good": float(alarm[labels == 0].mean()) if len(test_good) else None,
        "detection_rate_defect": float(alarm[labels == 1].mean()),
        "peak_in_box_rate": in_box / n_box if n_box else None,
        "images_per_s": (len(kept_good) + len(kept_bad)) / (s1 + s2) if s1 + s2 > 0 else None,  # through the backbone
        "score_images_per_s": n_scored / score_s if score_s > 0 else None,
    }
    if cfg.out_dir is not None:
        overlays.append(str(_histogram(scores, labels, thr.value, cfg.out_dir)))
    return BenchResult(
        benchmark="anomaly",
        dataset=name,
        split=f"readable good images: {n_bank} memory bank / {len(hold)} threshold / {len(test_good)} test "
        f"(seeded); all {len(bad)} readable defective images are test",
        seed=cfg.seed,
        metrics=metrics,
        wall_s=time.perf_counter() - t_start,
        extra={
            "per_class": cfg.per_class,
            "n_train": n_bank,
            "n_test": n_test,
            "n_unreadable": len(errors),
            "unreadable_images": errors,
            "duplicate_good_images": dup_of,
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
