"""Steps of the vision benchmark: out-of-fold probe probabilities, per-fold fine-tuning, CAM peak-in-box rate."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from assetgrade.datasets.image_folder import LabelledImages

if TYPE_CHECKING:
    from assetgrade.bench.vision import VisionBenchConfig
    from assetgrade.modalities.vision.backbone import Backbone

__all__ = ["TrunkPass", "cam_peak_in_box", "finetune_probas", "probe_probas", "trunk_pass"]

Folds = list[tuple[Any, Any]]


def penalty_for(
    C: float | None, X: npt.NDArray[np.float32], y: npt.NDArray[np.int64], groups: npt.NDArray[Any] | None,
    head: str, n_classes: int, seed: int, views: int = 1,
) -> float:
    """``C`` as given, or (``None``) chosen on this training fold alone by grouped 3-fold log-loss (nested;
    ``views`` blocks of rows as in :func:`~assetgrade.modalities.vision.heads.select_penalty`)."""
    if C is not None:
        return C
    from assetgrade.modalities.vision.heads import select_penalty

    return select_penalty(X, y, n_classes=n_classes, head=head, groups=groups, seed=seed, views=views)[0]


def probe_probas(
    feats: dict[str, npt.NDArray[np.float32]],
    y: npt.NDArray[np.int64],
    ok: npt.NDArray[np.bool_],
    folds: Folds,
    head: str,
    n_classes: int,
    C: float | None,
    *,
    views: tuple[str, ...],
    groups: npt.NDArray[Any] | None = None,
    seed: int = 0,
    train_views: tuple[str, ...] = ("id",),
) -> tuple[npt.NDArray[np.float64], list[float]]:
    """Out-of-fold probabilities of a linear head trained on the features of ``train_views`` (each
    image once per view, its views in its fold), test probabilities averaged over ``views``
    (test-time augmentation), and the penalty used per fold (``C=None``: chosen inside each
    training fold, :func:`penalty_for`)."""
    from assetgrade.modalities.vision.heads import LinearProbe, OrdinalLogistic

    out = np.full((len(y), n_classes), np.nan)
    used: list[float] = []
    for tr, te in folds:
        tr, te = tr[ok[tr]], te[ok[te]]
        V = len(train_views)
        X = np.vstack([feats[v][tr] for v in train_views])
        own = groups[tr] if groups is not None else tr if V > 1 else None  # an image's views share its fold
        c = penalty_for(C, X, np.tile(y[tr], V), None if own is None else np.tile(own, V), head, n_classes, seed,
                        views=V)
        used.append(c)
        model: LinearProbe | OrdinalLogistic = (
            OrdinalLogistic(n_classes=n_classes, C=c) if head == "ordinal" else LinearProbe(n_classes=n_classes, C=c)
        )
        model.fit(X, np.tile(y[tr], V))
        out[te] = np.mean([model.predict_proba(feats[v][te]) for v in views], axis=0)
    return out, used


def _decode(
    ds: LabelledImages, chunk: npt.NDArray[np.int64], unreadable: dict[int, str]
) -> list[tuple[int, bytes, Any]]:
    """(index, bytes, image) of the images at ``chunk`` that still decode; one that does not any more (changed or
    cut off on disk since its features were computed) goes into ``unreadable`` (index -> message naming its file)."""
    from assetgrade.errors import AssetgradeError
    from assetgrade.modalities.vision.images import decode_image, ref_where

    out = []
    for i in chunk:
        try:
            data = ds.refs[i].load_bytes()
            out.append((int(i), data, decode_image(data, where=ref_where(ds.refs[i]))))
        except (AssetgradeError, OSError) as exc:
            unreadable[int(i)] = str(exc)
    return out


def _batches(
    ds: LabelledImages, idx: npt.NDArray[np.int64], size: int, unreadable: dict[int, str], bs: int = 32
) -> Any:
    """(indices, network input) per batch of the images at ``idx`` that still decode (:func:`_decode`)."""
    from assetgrade.modalities.vision.images import preprocess

    for s in range(0, len(idx), bs):
        kept = _decode(ds, idx[s : s + bs], unreadable)
        if kept:
            yield np.array([i for i, _, _ in kept]), np.stack([preprocess(img, size) for _, _, img in kept])


FT_CANDIDATES = ("finetune", "probe", "mean")
"""What the ``finetune-auto`` head chooses from, per fold, by inner-validation log-loss."""


def _nll(p: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> float:
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0))))


@dataclass
class TrunkPass:
    """What fine-tuning needs of every image, read once before any fold is trained (:func:`trunk_pass`)."""

    backbone: Backbone
    acts: npt.NDArray[np.float32]
    """Trunk activations (n, C, H, W) before the trained blocks; zero for an image not read."""
    pooled: npt.NDArray[np.float32]
    """Frozen pooled features (n, d) of the same pass, for the probe beside the fine-tuned network."""
    unreadable: dict[int, str]
    """Images of ``ok`` that no longer decode: index -> message naming the file."""
    seconds: float


def trunk_pass(ds: LabelledImages, ok: npt.NDArray[np.bool_], cfg: VisionBenchConfig) -> TrunkPass:
    """Read the images of ``ok`` again at the fine-tuning size and run the frozen trunk on them once.

    An image that no longer decodes (changed or cut off on disk since its features were computed) goes into
    ``unreadable`` and the others go on; none is trained on here, so the bench can leave it out of every head.
    """
    from assetgrade.errors import ValidationError
    from assetgrade.modalities.vision.backbone import Backbone
    from assetgrade.modalities.vision.finetune import FineTuner

    bb = Backbone(
        cfg.backbone, image_size=cfg.finetune_size, cache_dir=cfg.cache_dir / "onnx" if cfg.cache_dir else None
    )
    ft0 = FineTuner(bb, n_classes=len(ds.classes), n_blocks=cfg.finetune_blocks)
    # the ONNX graph already outputs the maps after the pooled blocks: reuse one when it is the trunk's end
    ort_map = [k for k, b in enumerate(bb.pooled_blocks) if b + 1 == ft0.split]
    t0 = time.perf_counter()
    acts: npt.NDArray[np.float32] | None = None
    pooled = np.zeros((len(ok), bb.feature_dim), dtype=np.float32)
    unreadable: dict[int, str] = {}
    for chunk, batch in _batches(ds, np.flatnonzero(ok), cfg.finetune_size, unreadable):
        o = bb.run(batch)
        a = o.cam_maps[ort_map[0]] if ort_map else ft0.trunk_activations(batch)
        if acts is None:
            acts = np.zeros((len(ok), *a.shape[1:]), dtype=np.float32)
        acts[chunk] = a
        pooled[chunk] = o.pooled
    if acts is None:
        raise ValidationError(f"no image could be read again for fine-tuning ({len(unreadable)} unreadable, e.g. "
                              f"{next(iter(unreadable.values()), '')})", where="bench vision --finetune")
    return TrunkPass(bb, acts, pooled, unreadable, time.perf_counter() - t0)


def finetune_probas(
    ds: LabelledImages,
    y: npt.NDArray[np.int64],
    ok: npt.NDArray[np.bool_],
    folds: Folds,
    cfg: VisionBenchConfig,
    trunk: TrunkPass | None = None,
) -> tuple[dict[str, npt.NDArray[np.float64]], dict[str, Any], dict[int, str]]:
    """Out-of-fold probabilities from fine-tuning the last blocks per fold (trunk activations computed once).

    Returns probabilities for ``finetune`` (and ``finetune+tta``: 8 dihedral views of the
    activation grid), ``finetune+probe`` (mean of the fine-tuned network and a logistic probe on
    the frozen multi-block features of the same pass) and ``finetune-auto``: per fold, whichever
    of {fine-tuned, probe, their mean} has the lowest log-loss on the fine-tuner's inner
    validation split (held out of that fold's training data; the test fold is never used).

    ``trunk`` is the :func:`trunk_pass` over ``ok`` (default: run here). The third value lists the
    images of ``ok`` it found no longer decoding (index -> message naming the file; changed or cut
    off on disk since their features were computed): they are left out of every fold's training
    and test images, so their probabilities stay NaN, and the others go on.
    """
    from assetgrade.modalities.vision.finetune import FineTuner
    from assetgrade.modalities.vision.heads import LinearProbe

    if trunk is None:
        trunk = trunk_pass(ds, ok, cfg)
    bb, acts, pooled, unreadable = trunk.backbone, trunk.acts, trunk.pooled, trunk.unreadable
    K = len(ds.classes)
    ok = ok.copy()
    ok[list(unreadable)] = False
    groups = np.asarray(ds.asset_ids())
    names = ["finetune", "finetune+tta", "finetune+probe", "finetune-auto"]
    out = {n: np.full((len(y), K), np.nan) for n in names}
    epochs, best, train_s, chosen = [], [], [], []
    bar: Any = None
    if cfg.progress:
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(transient=True, console=Console(stderr=True))
        bar.start()
        task = bar.add_task(f"fine-tuning {cfg.finetune_blocks} block(s) per fold", total=len(folds))
    for k, (tr, te) in enumerate(folds):
        tr, te = tr[ok[tr]], te[ok[te]]
        ft = FineTuner(
            bb,
            n_classes=K,
            n_blocks=cfg.finetune_blocks,
            epochs=cfg.finetune_epochs,
            time_budget_s=cfg.finetune_budget_s,
            ordinal_weight=1.0 if ds.ordinal else 0.0,
            seed=cfg.seed + k,
        ).fit(acts[tr], y[tr])
        out["finetune"][te] = ft.predict_proba(acts[te])
        out["finetune+tta"][te] = ft.predict_proba(acts[te], tta=True)
        p_ft = out["finetune+tta"][te] if cfg.tta else out["finetune"][te]
        c_probe = penalty_for(cfg.C, pooled[tr], y[tr], groups[tr], "logistic", K, cfg.seed)
        p_probe = LinearProbe(n_classes=K, C=c_probe).fit(pooled[tr], y[tr]).predict_proba(pooled[te])
        out["finetune+probe"][te] = (p_ft + p_probe) / 2
        # pre-declared rule: choose on the fine-tuner's inner validation split, never on the test fold
        tr_in, va = tr[ft.train_index_], tr[ft.val_index_]
        choice = "finetune"
        if len(va):
            v_ft = ft.predict_proba(acts[va], tta=cfg.tta)
            v_probe = LinearProbe(n_classes=K, C=c_probe).fit(pooled[tr_in], y[tr_in]).predict_proba(pooled[va])
            cand = {"finetune": v_ft, "probe": v_probe, "mean": (v_ft + v_probe) / 2}
            choice = min(FT_CANDIDATES, key=lambda c: _nll(cand[c], y[va]))
        out["finetune-auto"][te] = {"finetune": p_ft, "probe": p_probe, "mean": (p_ft + p_probe) / 2}[choice]
        chosen.append(choice)
        epochs.append(ft.epochs_run_)
        best.append(ft.best_epoch_)
        train_s.append(round(ft.train_seconds_, 1))
        if bar is not None:
            bar.update(task, advance=1)
    if bar is not None:
        bar.stop()
    info = {
        "image_size": cfg.finetune_size,
        "trained_blocks": cfg.finetune_blocks,
        "activation_shape": list(acts.shape[1:]),
        "trunk_seconds": round(trunk.seconds, 1),
        "epochs_per_fold": epochs,
        "best_epoch_per_fold": best,
        "train_seconds_per_fold": train_s,
        "budget_s_per_fold": cfg.finetune_budget_s,
        "auto_choice_per_fold": chosen,
        "auto_rule": "per fold, the lowest inner-validation log-loss among fine-tuned, probe, and their mean",
    }
    return out, info, unreadable


def cam_peak_in_box(
    ds: LabelledImages,
    y: npt.NDArray[np.int64],
    ok: npt.NDArray[np.bool_],
    folds: Folds,
    X: npt.NDArray[np.float32],
    bb: Backbone,
    cfg: VisionBenchConfig,
    out_dir: Path | None,
    n_overlays: int = 6,
) -> dict[str, Any]:
    """How often the predicted class's CAM peak falls inside a true box (out-of-fold heads).

    An image of ``ok`` that no longer decodes (changed or cut off on disk since its features were
    computed) is left out of the rates and listed under ``unreadable`` (index -> message naming its
    file); the others go on. The heads of the other folds were trained on it before it was read, so
    a pass that finds one is run again without it (its overlays removed), until a pass finds none:
    the rates are those of the folds without every image it lists.
    """
    ok = ok.copy()
    unreadable: dict[int, str] = {}
    while True:
        res = _cam_pass(ds, y, ok, folds, X, bb, cfg, out_dir, n_overlays)
        if not res["unreadable"]:
            return {**res, "unreadable": unreadable}
        unreadable.update(res["unreadable"])
        ok[list(res["unreadable"])] = False
        for p in res["overlays"]:
            Path(p).unlink(missing_ok=True)


def _cam_pass(
    ds: LabelledImages,
    y: npt.NDArray[np.int64],
    ok: npt.NDArray[np.bool_],
    folds: Folds,
    X: npt.NDArray[np.float32],
    bb: Backbone,
    cfg: VisionBenchConfig,
    out_dir: Path | None,
    n_overlays: int,
) -> dict[str, Any]:
    """One pass of :func:`cam_peak_in_box` over the images of ``ok``; ``unreadable``: those it could not read."""
    from assetgrade.modalities.vision.heads import LinearProbe
    from assetgrade.modalities.vision.heatmaps import (
        cam_map,
        overlay_scale_png,
        peak_in_boxes,
        peak_region,
        resize_map,
    )
    from assetgrade.modalities.vision.images import preprocess, shown_boxes

    K = len(ds.classes)
    groups = np.asarray(ds.asset_ids())
    hits, centre_hits, total = 0, 0, 0
    unreadable: dict[int, str] = {}
    overlays: list[str] = []
    drawn: set[int] = set()
    for tr, te in folds:
        tr, te = tr[ok[tr]], te[ok[te]]
        c = penalty_for(cfg.C, X[tr], y[tr], groups[tr], "logistic", K, cfg.seed)
        probe = LinearProbe(n_classes=K, C=c).fit(X[tr], y[tr])
        te = np.array([i for i in te if ds.refs[i].boxes])
        for s in range(0, len(te), 32):
            kept = _decode(ds, te[s : s + 32], unreadable)
            if not kept:
                continue
            chunk, datas, imgs = zip(*kept, strict=True)
            o = bb.run(np.stack([preprocess(im, bb.image_size) for im in imgs]))
            pred = probe.predict(o.pooled)
            for j, i in enumerate(chunk):
                heat = resize_map(cam_map([m[j] for m in o.cam_maps], probe.coef_[pred[j]]), imgs[j].size)
                # annotations are on the stored pixels; the heat map is in the EXIF-oriented frame
                boxes = shown_boxes([b for _, b in ds.refs[i].boxes], datas[j], imgs[j].size)
                hit = peak_in_boxes(heat, boxes)
                w, h = imgs[j].size
                hits += hit
                centre_hits += any(x0 <= w / 2 <= x1 and y0 <= h / 2 <= y1 for x0, y0, x1, y1 in boxes)
                total += 1
                if out_dir is not None and len(overlays) < n_overlays and y[i] not in drawn:
                    drawn.add(int(y[i]))
                    _, box = peak_region(heat)
                    p = overlay_scale_png(
                        imgs[j], heat, out_dir / f"cam_{ds.name}_{ds.refs[i].evidence_id}.png", box=box,
                        label=f"CAM score of the predicted class {ds.classes[pred[j]]!r}",
                        notes=(f"true class {ds.classes[y[i]]!r}", "map mean + bias: about that class's logit",
                               "white box: above half-way to the peak"))
                    overlays.append(str(p))
    return {
        "peak_in_box_rate": hits / total if total else None,
        "centre_in_box_rate": centre_hits / total if total else None,
        "overlays": overlays,
        "unreadable": unreadable,
    }
