"""``assetgrade bench drift``: a lighting/contrast shift on a share of ELPV images, caught by the embedding monitor.

ELPV cells are shuffled (seeded); ``n_reference`` form the reference window, the rest a pool.
``DriftMonitor`` (MMD² + classifier two-sample test on backbone embeddings) is fitted on the
reference for batches of ``batch_size``. Unshifted stream: ``n_clean_batches`` batches drawn
from the pool, counting false alarms. Shifted streams: ``n_streams`` streams of batches where
``share`` of the images are darkened and flattened (``lighting`` generator with fixed gain and
contrast), counting the batches until the first alarm.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError
from assetgrade.store.records import ImageRef

__all__ = [
    "DriftBenchConfig", "check_drift_config", "plot_mmd", "reference_size", "run_drift_bench", "save_figure",
    "shifted_refs",
]


@dataclass
class DriftBenchConfig:
    """Settings of the drift benchmark."""

    seed: int = 0
    data_dir: Path | None = None
    n_reference: int = 1000
    batch_size: int = 200
    n_clean_batches: int = 20
    n_streams: int = 5
    max_batches: int = 4
    share: float = 0.5
    gain: float = 0.75
    contrast: float = 0.7
    limit: int | None = None
    """Use only this many cells (seeded); the reference window is then at most half of them."""
    cache_dir: Path | None = None
    progress: bool = False
    plot_path: Path | None = None


def reference_size(cfg: DriftBenchConfig, n_images: int) -> int:
    """Cells in the reference window: ``n_reference``, at most half of the cells used (``limit`` or all)."""
    n = min(n_images, cfg.limit) if cfg.limit is not None else n_images
    return min(cfg.n_reference, n // 2)


def check_drift_config(cfg: DriftBenchConfig, n_images: int | None = None) -> None:
    """ValidationError naming the option when a setting cannot run; ``n_images``: the data set's size, once known.

    Called before any image is read (and again once the data set's size is known), so a bad
    setting fails in a second, not after the embeddings.

    >>> check_drift_config(DriftBenchConfig(limit=100, batch_size=40))
    >>> try:
    ...     check_drift_config(DriftBenchConfig(limit=100))
    ... except ValidationError as exc:
    ...     print(exc.where)
    --batch-size
    """
    if cfg.seed < 0:
        raise ValidationError(f"{cfg.seed} must be >= 0", where="--seed")
    if not 0.0 < cfg.share <= 1.0:
        raise ValidationError(f"{cfg.share:g} is not in (0, 1]", where="--share")
    for name, value in (("--gain", cfg.gain), ("--contrast", cfg.contrast)):
        if not value > 0:
            raise ValidationError(f"{value:g} must be positive", where=name)
    for name, count, low in (("--batch-size", cfg.batch_size, 2), ("--clean-batches", cfg.n_clean_batches, 1),
                             ("--streams", cfg.n_streams, 1), ("--limit", cfg.limit, 10)):
        if count is not None and count < low:
            raise ValidationError(f"{count} must be >= {low}", where=name)
    if n_images is None and cfg.limit is None:
        n_ref, n_pool = cfg.n_reference, None
    else:
        n = min(x for x in (n_images, cfg.limit) if x is not None)
        n_ref = reference_size(cfg, n)
        n_pool = n - n_ref
    if n_ref < cfg.batch_size + 4 or (n_pool is not None and n_pool < cfg.batch_size):
        of = f"--limit {cfg.limit}" if cfg.limit is not None and (n_images is None or cfg.limit <= n_images) \
            else f"the {n_images} cells" if n_images is not None else "the reference window"
        pool = f" and the pool ({n_pool} cells) a whole batch" if n_pool is not None else ""
        raise ValidationError(
            f"{cfg.batch_size} does not fit {of}: the reference window ({n_ref} cells) needs at least batch size + 4 "
            f"cells{pool}; lower --batch-size" + (" or raise --limit" if cfg.limit is not None else ""),
            where="--batch-size",
        )


def _const(data: bytes) -> bytes:
    return data


def save_figure(fig: Any, path: Path) -> None:
    """Save a matplotlib figure as PNG whole or not at all (temp file + rename); a StoreError names ``path``."""
    import uuid

    from assetgrade.errors import StoreError

    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(tmp, dpi=120, format="png")
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"cannot write plot {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def plot_mmd(clean: list[float], shifted: list[list[float]], threshold: float, path: Path, *,
             quantile: float | None = None) -> None:
    """PNG: MMD² of each clean batch and of each shifted stream's batches against the calibrated threshold.

    ``quantile`` is the quantile of the reference self-split MMD² the threshold was taken at
    (``DriftPolicy.mmd_quantile``); the threshold's label names it, and names none when it is not given.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(range(1, len(clean) + 1), clean, "o-", color="tab:blue", label="unshifted batches")
    for k, s in enumerate(shifted):
        ax.plot(range(1, len(s) + 1), s, "s--", color="tab:red", alpha=0.7, label="shifted streams" if k == 0 else None)
    where = "reference self-splits" if quantile is None else f"reference self-splits, q={quantile:g}"
    ax.axhline(threshold, color="k", lw=1, label=f"threshold ({where})")
    ax.set_xlabel("batch")
    ax.set_ylabel("MMD² vs reference")
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        save_figure(fig, path)
    finally:
        plt.close(fig)


def shifted_refs(refs: list[ImageRef], *, gain: float, contrast: float) -> list[ImageRef]:
    """Copies of ``refs`` under a fixed lighting change (gain, contrast about the mean), as marked PNG refs."""
    from assetgrade.modalities.vision.images import decode_image
    from assetgrade.synth.base import SyntheticImage
    from assetgrade.synth.photometric import Lighting

    params = {"gain": gain, "contrast": contrast, "gamma": 1.0, "gradient": 0.0, "gradient_angle": 0.0}
    out = []
    for r in refs:
        img, _ = Lighting().render(decode_image(r.load_bytes(), where=f"image {r.evidence_id}"), params)
        s = SyntheticImage(img, "augmented", "lighting", params, r.evidence_id, 0)
        data = s.to_png_bytes()
        out.append(ImageRef(f"shift-{r.evidence_id}", s.sha256(), partial(_const, data), origin="augmented"))
    return out


def run_drift_bench(cfg: DriftBenchConfig) -> BenchResult:
    """Run the benchmark; returns the result the CLI prints."""
    from assetgrade.audit.drift import DriftBatch, DriftMonitor, DriftPolicy
    from assetgrade.audit.embed import embed_images
    from assetgrade.datasets.elpv import load_elpv

    check_drift_config(cfg)
    t0 = time.perf_counter()
    ds = load_elpv(cfg.data_dir)
    check_drift_config(cfg, ds.n_images)
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(ds.n_images)
    if cfg.limit is not None:
        order = order[: cfg.limit]
    n_ref = reference_size(cfg, ds.n_images)
    ref_idx, pool_idx = order[:n_ref], order[n_ref:]
    refs = [ds.refs[i] for i in order]
    emb = embed_images(refs, cache_dir=cfg.cache_dir, progress=cfg.progress).astype(np.float64)
    pos = {int(i): k for k, i in enumerate(order)}
    shifted = embed_images(
        shifted_refs([ds.refs[i] for i in pool_idx], gain=cfg.gain, contrast=cfg.contrast),
        cache_dir=cfg.cache_dir, progress=cfg.progress,
    ).astype(np.float64)
    t_emb = time.perf_counter() - t0
    ref_emb = emb[[pos[int(i)] for i in ref_idx]]
    pool_emb = emb[[pos[int(i)] for i in pool_idx]]
    policy = DriftPolicy()
    mon = DriftMonitor(policy, seed=cfg.seed).fit(DriftBatch(embeddings=ref_emb), batch_size=cfg.batch_size)
    t_fit = time.perf_counter() - t0 - t_emb

    def batch(shift_share: float, station: str) -> DriftBatch:
        take = rng.choice(len(pool_idx), cfg.batch_size, replace=False)
        n_shift = round(shift_share * cfg.batch_size)
        x = pool_emb[take].copy()
        x[:n_shift] = shifted[take[:n_shift]]
        return DriftBatch(embeddings=x, station_id=station)

    clean: list[dict[str, Any]] = []
    for _ in range(cfg.n_clean_batches):
        d = mon.update(batch(0.0, "clean"))
        clean.append({s.signal: round(s.effect, 5) for s in d.signals} | {"alarm": d.alarm})
    false_alarms = sum(c["alarm"] for c in clean)
    streams: list[dict[str, Any]] = []
    for k in range(cfg.n_streams):
        first = None
        retrain_at = None
        effects = []
        for b in range(1, cfg.max_batches + 1):
            d = mon.update(batch(cfg.share, f"shifted-{k}"))
            effects.append({s.signal: round(s.effect, 5) for s in d.signals} | {"alarm": d.alarm})
            if d.alarm and first is None:
                first = b
            if d.retrain and retrain_at is None:
                retrain_at = b
            if first is not None and retrain_at is not None:
                break
        streams.append({"batches_to_detect": first, "retrain_at_batch": retrain_at, "batches": effects})
    detect = [s["batches_to_detect"] for s in streams]
    t_mon = time.perf_counter() - t0 - t_emb - t_fit
    n_batches = cfg.n_clean_batches + sum(len(s["batches"]) for s in streams)
    if cfg.plot_path is not None:
        plot_mmd([c["embedding_mmd2"] for c in clean],
                 [[b["embedding_mmd2"] for b in s["batches"]] for s in streams], mon.mmd_threshold_, cfg.plot_path,
                 quantile=mon.policy.mmd_quantile)
    metrics = {
        "false_alarms": false_alarms,
        "clean_batches": cfg.n_clean_batches,
        "batches_to_detect_max": None if None in detect else max(d for d in detect if d is not None),
        "batches_to_detect": detect,
        "detected_within_2_batches": sum(d is not None and d <= 2 for d in detect) / len(detect),
        "streams_not_detected": sum(d is None for d in detect),
        "mmd2_threshold": mon.mmd_threshold_,
        "clean_mmd2_max": max(c["embedding_mmd2"] for c in clean),
    }
    extra = {
        "targets": {"batches_to_detect": "<= 2 (batches of 200)", "false_alarms": "0 in 20 clean batches"},
        "shift": {"generator": "lighting", "gain": cfg.gain, "contrast": cfg.contrast, "share": cfg.share},
        "n_reference": len(ref_idx),
        "n_pool": len(pool_idx),
        "batch_size": cfg.batch_size,
        "policy": policy.model_dump(),
        "clean_batches": clean,
        "streams": streams,
        "timing_s": {"embed": round(t_emb, 2), "fit": round(t_fit, 2), "monitor": round(t_mon, 2),
                     "per_batch": round(t_mon / max(1, n_batches), 3)},
        "plot": str(cfg.plot_path) if cfg.plot_path else None,
        "backbone": "lite0@224 pooled multi-block (assetgrade.modalities.vision)",
    }
    return BenchResult(
        benchmark="drift",
        dataset="elpv",
        split=f"seeded shuffle: {len(ref_idx)} reference, {len(pool_idx)} pool, batches of {cfg.batch_size}",
        seed=cfg.seed,
        metrics=metrics,
        wall_s=time.perf_counter() - t0,
        extra=extra,
    )
