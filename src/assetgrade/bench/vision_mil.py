"""``assetgrade bench vision --images-per-asset N``: assets photographed N times, graded by their worst photo.

No public set photographs one asset several times with a grade per asset, so this bench builds
such assets from a real ordinal image set (ELPV by default): the images are dealt at random
(seeded) into assets of N, and each asset's level is the worst level among its images, the
rule :mod:`assetgrade.modalities.vision.mil` assumes. Stratified K-fold cross-validation by
asset on frozen backbone features (the feature cache of ``bench vision``) compares, at the asset
level:

- ``plain_worst``: the ordinal head trained with every image labelled with its asset's level,
  the asset read from its worst image (the extractor's behaviour with ``mil=False``);
- ``plain_max``: the same head, the asset read as the worst of its images' levels;
- ``mil``: the head learned by EM under the worst-photo rule (``MILOrdinal``), the asset read
  as the worst of its images' levels (the extractor's default when assets have several photos).

It also scores each head on the images' own (hidden) levels: how well the photos themselves
are read. The headline is ``mil``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError

__all__ = ["make_bags", "run_vision_mil_bench"]


def make_bags(n_images: int, per_asset: int, seed: int) -> npt.NDArray[np.int64]:
    """Asset index per image (-1 for the remainder that does not fill an asset), dealt at random.

    >>> b = make_bags(7, 3, seed=0)
    >>> sorted(np.bincount(b[b >= 0]).tolist()), int((b == -1).sum())
    ([3, 3], 1)
    """
    if per_asset < 2:
        raise ValidationError(f"images per asset must be at least 2, got {per_asset}", where="--images-per-asset")
    n_bags = n_images // per_asset
    if n_bags < 2:
        raise ValidationError(f"{n_images} images make fewer than 2 assets of {per_asset}", where="--images-per-asset")
    order = np.random.default_rng(seed).permutation(n_images)
    bags = np.full(n_images, -1, dtype=np.int64)
    bags[order[: n_bags * per_asset]] = np.repeat(np.arange(n_bags), per_asset)
    return bags


def run_vision_mil_bench(cfg: Any, per_asset: int, rounds: int = 5) -> BenchResult:
    """Run the multi-photo bench on ``cfg`` (a :class:`~assetgrade.bench.vision.VisionBenchConfig`)."""
    from sklearn.model_selection import StratifiedKFold

    from assetgrade.bench.vision import classification_metrics, load_bench_dataset, save_plots
    from assetgrade.bench.vision_steps import penalty_for
    from assetgrade.modalities.vision.backbone import Backbone, default_cache_dir
    from assetgrade.modalities.vision.cache import FeatureCache
    from assetgrade.modalities.vision.features import extract_pooled
    from assetgrade.modalities.vision.heads import OrdinalLogistic
    from assetgrade.modalities.vision.mil import MILOrdinal, bag_max_proba

    if per_asset < 2:  # before the data set is read: 0 or 1 is a bad setting, not a data problem
        raise ValidationError(f"images per asset must be at least 2, got {per_asset}", where="--images-per-asset")
    if rounds < 1:
        raise ValidationError(f"EM rounds must be at least 1, got {rounds}", where="--mil-rounds")
    t0 = time.perf_counter()
    ds = load_bench_dataset(cfg)
    if not ds.ordinal:
        raise ValidationError(f"{ds.name} has unordered classes; the worst-photo rule needs ordered levels",
                              where="--images-per-asset")
    if cfg.finetune or cfg.tta or cfg.augment:
        raise ValidationError("--images-per-asset runs the linear heads on the photos only (no --finetune, --tta or "
                              "--augment)", where="--images-per-asset")
    if cfg.head not in ("auto", "ordinal"):
        raise ValidationError(f"--head {cfg.head!r}: --images-per-asset compares ordinal heads (plain and MIL); "
                              "use auto or ordinal", where="--head")
    k = len(ds.classes)
    y_all = np.array([ds.classes.index(lab) for lab in ds.labels], dtype=np.int64)
    cache_root = cfg.cache_dir or default_cache_dir()
    bb = Backbone(cfg.backbone, image_size=cfg.image_size, cache_dir=cache_root / "onnx")
    fb = extract_pooled(ds.refs, bb, cache=FeatureCache(cache_root / "features"), progress=cfg.progress)
    readable = np.array([i not in fb.errors for i in range(len(y_all))])
    idx = np.flatnonzero(readable)
    bags_r = make_bags(len(idx), per_asset, cfg.seed)
    use = idx[bags_r >= 0]
    bags = bags_r[bags_r >= 0]
    X = fb.features[use]
    y_img = y_all[use]
    n_bags = int(bags.max()) + 1
    y_bag = np.zeros(n_bags, dtype=np.int64)
    np.maximum.at(y_bag, bags, y_img)
    counts = np.bincount(y_bag, minlength=k)
    short = {c: int(n) for c, n in zip(ds.classes, counts, strict=True) if 0 < n < cfg.folds}
    if cfg.folds < 2 or short:
        raise ValidationError(f"--folds {cfg.folds} needs at least {cfg.folds} assets per asset level; too few in "
                              f"{short} (lower --folds)", where="--folds")
    names = ("plain_worst", "plain_max", "mil")
    bag_p = {n: np.zeros((n_bags, k)) for n in names}
    img_p = {n: np.zeros((len(y_img), k)) for n in ("plain", "mil")}
    penalties: list[float] = []
    rounds_run: list[int] = []
    fold_sizes: list[tuple[int, int]] = []
    last_shift: list[float] = []
    levels = np.arange(k)
    splitter = StratifiedKFold(cfg.folds, shuffle=True, random_state=cfg.seed)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, disable=not cfg.progress, console=Console(stderr=True)) as prog:
        task = prog.add_task(f"{cfg.folds}-fold by asset, plain and MIL heads", total=cfg.folds)
        for tr_b, te_b in splitter.split(np.zeros(n_bags), y_bag):
            tr = np.isin(bags, tr_b)
            te = np.isin(bags, te_b)
            fold_sizes.append((len(tr_b), len(te_b)))
            C = penalty_for(cfg.C, X[tr], y_bag[bags[tr]], bags[tr], "ordinal", k, cfg.seed)
            penalties.append(C)
            plain = OrdinalLogistic(n_classes=k, C=C).fit(X[tr], y_bag[bags[tr]])
            remap = np.full(n_bags, -1)
            remap[tr_b] = np.arange(len(tr_b))
            mil = MILOrdinal(n_classes=k, C=C, n_iter=rounds).fit(X[tr], remap[bags[tr]], y_bag[tr_b])
            rounds_run.append(mil.n_iter_)
            last_shift.append(round(mil.shift_[-1], 4) if mil.shift_ else 0.0)
            qp, qm = plain.predict_proba(X[te]), mil.predict_proba(X[te])
            img_p["plain"][te], img_p["mil"][te] = qp, qm
            tb = bags[te]
            for j in te_b:
                m = tb == j
                bag_p["plain_worst"][j] = qp[m][int(np.argmax(qp[m] @ levels))]
                bag_p["plain_max"][j] = bag_max_proba(qp[m])
                bag_p["mil"][j] = bag_max_proba(qm[m])
            prog.advance(task)
    per_head = {n: classification_metrics(y_bag, p, ordinal=True, n_classes=k) for n, p in bag_p.items()}
    per_image = {n: classification_metrics(y_img, p, ordinal=True, n_classes=k) for n, p in img_p.items()}
    plots: list[str] = []
    if cfg.out_dir is not None:
        plots = [str(p) for p in save_plots(y_bag, bag_p["mil"], ds.classes, cfg.out_dir,
                                            f"vision_{ds.name}_mil{per_asset}")]
    return BenchResult(
        benchmark="vision.mil",
        dataset=ds.name,
        split=f"stratified {cfg.folds}-fold CV by asset; assets of {per_asset} images dealt at random, "
              "asset level = worst image level",
        seed=cfg.seed,
        metrics=dict(per_head["mil"]),
        wall_s=time.perf_counter() - t0,
        extra={
            "images_per_asset": per_asset,
            "per_class": cfg.per_class,
            "n_assets": n_bags,
            "n_train": round(float(np.mean([t for t, _ in fold_sizes]))),
            "n_test": round(float(np.mean([t for _, t in fold_sizes]))),
            "n_train_per_fold": [t for t, _ in fold_sizes],
            "n_test_per_fold": [t for _, t in fold_sizes],
            "n_images": len(y_img),
            "n_left_over": int((bags_r < 0).sum()),
            "unreadable_images": {ds.refs[i].evidence_id: m for i, m in fb.errors.items()},
            "asset_levels": {c: int(np.sum(y_bag == i)) for i, c in enumerate(ds.classes)},
            "image_levels": {c: int(np.sum(y_img == i)) for i, c in enumerate(ds.classes)},
            "head": "mil",
            "all_heads": per_head,
            "image_level_metrics": per_image,
            "C_per_fold": penalties,
            "em_rounds_per_fold": rounds_run,
            "em_last_shift_per_fold": last_shift,
            "backbone": bb.key,
            "plots": plots,
        },
    )
