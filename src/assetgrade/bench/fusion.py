"""``assetgrade bench fusion``: the Grader on the linked multimodal benchmark, fused vs each single modality.

The Grader's extractors and fusion model are trained on the benchmark's train split
(out-of-fold inside, grouped by C-MAPSS unit) with each extractor learning its own modality's
real label; calibration, conformal sets and the review threshold come from the calibration split
(``--oof-calibration``: out-of-fold on train + calibration instead); it is evaluated on the
held-out test assets (no image, engine unit or text shared with training). For the fused
grader and for each single modality (the same extractors, a fusion stack on that block alone):
accuracy, QWK, ECE, conformal coverage and mean set size, expected and realised cost per asset,
the auto-accept rate at which accepted assets stay at or under 2% error (risk-coverage on the
test set), and what the deployed policy (threshold chosen out-of-fold by Learn-then-Test)
accepts. Throughput: assets per second with evidence cached, and cold (extractors run).

RUL model (``rul_fleet="cmapss-test"``, which ``"auto"``, the default, means): the sensors extractor
gets a remaining-life model trained beforehand on the 100 C-MAPSS FD001 *test* units, with the true
remaining life the data set records for each one's last cycle (read from the shared data, or with
``source="sample"`` from the copy shipped in the package). Those engines are never benchmark
assets (the benchmark cuts FD001 *training* units), so the model has seen no held-out unit and
every out-of-fold fit re-uses it as it is -- a user's fleet history of earlier failures plays
that part. ``rul_fleet=None`` grades the sensors from window features alone (as before).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assetgrade.bench.fusion_figures import (
    cost_reduction,
    disk_cached_pass,
    evaluate_stack,
    known_rubric,
    per_asset_predictions,
    threshold_summary,
)
from assetgrade.bench.fusion_pooling import pool_fusion_runs
from assetgrade.bench.report import BenchResult
from assetgrade.errors import ValidationError

__all__ = ["pool_fusion_runs", "run_fusion_benchmark", "run_fusion_seeds"]

_reduction = cost_reduction  # the names these had here before the split (kept for their callers)
_threshold_summary = threshold_summary


def _check_split_sizes(bench: Any, splits: Mapping[str, Sequence[int]], *, n_assets: int, folds: int) -> None:
    """Each split the Grader cross-validates holds ``folds`` piece groups, and the test split an asset.

    Otherwise the Grader stopped deep inside with "groups: 1 groups cannot make 3 folds", naming no
    option, or the figures were computed on no test asset at all.
    """
    for part, idx in splits.items():
        n_groups = len({bench.labels[i].group for i in idx})
        need = 1 if part == "test" else folds
        if n_groups < need:
            what = "an asset" if part == "test" else f"{folds} piece groups for grouped cross-validation (--folds)"
            raise ValidationError(f"n_assets={n_assets} gives the {part} split {len(idx)} asset(s) in {n_groups} "
                                  f"piece group(s); it needs {what}: raise --n-assets", where="--n-assets")


def _fleet_rul_model(source: str, data_dir: Path | None, seed: int) -> Any:
    """The RUL model the sensors extractor re-uses: trained on the FD001 test units, never benchmark assets."""
    from assetgrade.datasets.cmapss import load_cmapss
    from assetgrade.datasets.linked import FLEET_RUL_CAP, sample_fleet
    from assetgrade.modalities.sensors.health import RulModel

    if source == "sample":
        histories, end_rul = sample_fleet()
    else:
        sub = load_cmapss("FD001", None if data_dir is None else data_dir / "cmapss")
        histories, end_rul = sub.test_histories(), sub.test_rul.to_numpy(dtype=float).tolist()
    return RulModel(cap=FLEET_RUL_CAP, seed=seed).fit(histories, end_rul=end_rul)


def run_fusion_benchmark(
    *,
    n_assets: int = 600,
    seed: int = 0,
    folds: int = 3,
    piece_groups: int | None = None,
    source: str = "shared",
    data_dir: Path | None = None,
    coreset_size: int = 500,
    review_on_contradiction: bool = False,
    split_calibration: bool = True,
    png: Path | None = None,
    rul_fleet: str | None = "auto",
    fuser: str = "auto",
    progress: Callable[[str], None] | None = None,
    monotone: bool = False,
    images_per_asset: int = 1,
    vision_mil: bool | str = "auto",
    vision_head: str = "auto",
    vision_quality: str = "learned",
    vision_augment: Sequence[str] | None = None,
    keep_predictions: bool = False,
) -> BenchResult:
    """Train, calibrate, evaluate on test; returns the benchmark result (see the module docstring).

    ``split_calibration``: extractors and fuser learn from the train split and calibration,
    conformal sets and the review threshold from the calibration split (split conformal);
    otherwise all three learn out-of-fold from train + calibration together. ``piece_groups``: the
    disjoint groups of engine units and texts each split is dealt into, the cross-validation groups
    (default ``max(3, folds)``: grouped CV needs at least as many groups as folds). ``fuser``: the
    fusion model (:class:`~assetgrade.fusion.combine.Fuser` ``model``) of the fused grader and
    of each single-modality reference, on the modality distributions; ``monotone``: the latent
    table made stochastically monotone in every modality's level; ``images_per_asset``: ELPV
    cells per asset (the image level is the worst cell's); ``vision_mil``: the vision
    extractor's ``mil`` setting (``"auto"``: multiple-instance learning when assets have
    several photos); ``vision_head``: its ``grade_head`` (``"auto"``: ordinal or multinomial
    logistic, whichever has the lower grouped cross-validated log-loss); ``vision_quality``: its
    ``quality_factors`` (``"learned"`` or ``"fixed"``); ``vision_augment``: its ``augment`` views
    (None: the extractor's default, ``()``: none). ``keep_predictions``: the result's
    ``test_predictions`` holds the fused grader's calibrated test distributions, true grades,
    each asset's real pieces and the per-asset costs of the fused grader and of each single
    modality (what :func:`run_fusion_seeds` pools).
    """
    from assetgrade.datasets.linked import FLEET_RUL_CAP, build_linked
    from assetgrade.decision import cost_matrix, plot_risk_coverage, risk_coverage
    from assetgrade.fusion.combine import MODELS
    from assetgrade.grader import Grader

    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    for name, value, low in (("--seed", seed, 0), ("--n-assets", n_assets, 1), ("--folds", folds, 2),
                             ("--coreset-size", coreset_size, 1), ("--images-per-asset", images_per_asset, 1)):
        if value < low:
            raise ValidationError(f"{name.lstrip('-').replace('-', '_')}={value} must be >= {low}", where=name)
    if fuser not in MODELS:
        raise ValidationError(f"fuser={fuser!r}; allowed: {', '.join(map(repr, MODELS))}", where="--fuser")
    if rul_fleet == "auto":
        rul_fleet = "cmapss-test"
    if rul_fleet not in (None, "cmapss-test"):
        raise ValidationError(f"rul_fleet={rul_fleet!r}; allowed: 'auto', 'cmapss-test' or none", where="--rul-fleet")
    if piece_groups is None:
        piece_groups = max(3, folds)
    if piece_groups < folds:
        raise ValidationError(f"piece_groups={piece_groups} < folds={folds}: grouped cross-validation needs at least "
                              "as many piece groups as folds", where="--piece-groups")
    if vision_head not in ("auto", "ordinal", "logistic"):
        raise ValidationError(f"vision_head={vision_head!r}; allowed: 'auto', 'ordinal', 'logistic'",
                              where="--vision-head")
    if vision_quality not in ("learned", "fixed"):
        raise ValidationError(f"vision_quality={vision_quality!r}; allowed: 'learned', 'fixed'",
                              where="--vision-quality")
    from assetgrade.modalities.vision.extractor import DEFAULT_AUGMENT, check_views

    augment = DEFAULT_AUGMENT if vision_augment is None else check_views(vision_augment, where="--vision-augment")
    say("building the linked benchmark")
    bench = build_linked(n_assets=n_assets, seed=seed, source=source, data_dir=data_dir,  # type: ignore[arg-type]
                         images_per_asset=images_per_asset, piece_groups=piece_groups)
    train_splits = ("train",) if split_calibration else ("train", "calibration")
    keep = [i for i, lab in enumerate(bench.labels) if lab.split in train_splits]
    cal_idx = [i for i, lab in enumerate(bench.labels) if lab.split == "calibration"] if split_calibration else []
    test_idx = [i for i, lab in enumerate(bench.labels) if lab.split == "test"]
    _check_split_sizes(bench, {"+".join(train_splits): keep, **({"calibration": cal_idx} if split_calibration else {}),
                               "test": test_idx}, n_assets=n_assets, folds=folds)
    train = [bench.records[i] for i in keep]
    groups = [bench.labels[i].group for i in keep]
    own = {m: {bench.records[i].asset_id: bench.modality_grades(m)[i] for i in keep}
           for m in ("vision", "text", "sensors")}
    settings: dict[str, dict[str, Any]] = {
        "vision": {"coreset_size": coreset_size, "mil": vision_mil, "grade_head": vision_head,
                   "quality_factors": vision_quality, "augment": augment}}
    rul_info: dict[str, Any] = {"fleet": None}
    if rul_fleet is not None:
        say("RUL model on the C-MAPSS FD001 test units")
        t_rul = time.perf_counter()
        settings["sensors"] = {"rul_model": _fleet_rul_model(source, data_dir, seed)}
        rul_info = {"fleet": "C-MAPSS FD001 test units (true RUL at the last cycle)", "cap": FLEET_RUL_CAP,
                    "n_histories": settings["sensors"]["rul_model"].n_histories_,
                    "fit_s": time.perf_counter() - t_rul}
    grader = Grader(folds=folds, seed=seed, review_on_contradiction=review_on_contradiction,
                    extractor_settings=settings, fuser={"model": fuser, "monotone": monotone})
    t_fit = time.perf_counter()
    grader.fit(train, modality_labels=own, groups=groups, progress=say,
               calibration=[bench.records[i] for i in cal_idx] or None,
               calibration_groups=[bench.labels[i].group for i in cal_idx] or None)
    fit_s = time.perf_counter() - t_fit
    test = [bench.records[i] for i in test_idx]
    y = np.array([grader.grades_.index(str(r.grade)) for r in test], dtype=np.int64)

    say(f"grading {len(test)} test assets (cold)")
    grader.cache.clear()
    t = time.perf_counter()
    results = grader.grade_many(test)
    cold_s = time.perf_counter() - t
    say("grading again (evidence cached)")
    t = time.perf_counter()
    grader.grade_many(test)
    warm_s = time.perf_counter() - t
    disk_s, disk_same = disk_cached_pass(grader, test, results)

    blocks = grader.evidence(test)
    fused = evaluate_stack(grader, blocks, test, y, None)
    singles = {m: evaluate_stack(grader, blocks, test, y, m) for m in grader.modalities_}
    for b in blocks:  # how well each extractor reads its own modality's real label on the test assets
        own_y = np.array([grader.grades_.index(bench.modality_grades(b.modality)[i]) for i in test_idx])
        if b.grade_proba is not None:
            ok = b.present & np.all(np.isfinite(b.grade_proba), axis=1)
            singles[b.modality]["extractor_accuracy_on_own_label"] = float(
                (b.grade_proba[ok].argmax(axis=1) == own_y[ok]).mean()) if ok.any() else None
        singles[b.modality]["extractor_accuracy_on_own_label_oof"] = grader.metrics_["per_modality"][
            b.modality].get("extractor_accuracy_on_own_label")
    curves = {"fused": risk_coverage(fused["_proba"], y, cost=cost_matrix(grader.costs_, None))}
    for m, v in singles.items():
        curves[f"{m} only"] = risk_coverage(v["_proba"], y, cost=cost_matrix(grader.costs_, None))
    from assetgrade.fusion.calibration import ece_if_calibrated

    # what ECE a perfectly calibrated model would show on this many test assets (small-sample bias)
    fused["ece_if_perfectly_calibrated"] = ece_if_calibrated(fused["_proba"])
    predictions = per_asset_predictions(bench, test_idx, fused, y, singles) if keep_predictions else None
    for v in (fused, *singles.values()):
        for key in ("_proba", "_covered", "_accepted", "_costs"):
            v.pop(key)
    best_single = min(singles, key=lambda m: singles[m]["expected_cost"])
    reduction = cost_reduction(fused["expected_cost"], singles[best_single]["expected_cost"])
    best_realised = min(singles, key=lambda m: singles[m]["realised_cost"])
    realised_reduction = cost_reduction(fused["realised_cost"], singles[best_realised]["realised_cost"])
    same = all(a.grade == b.grade for a, b in zip(results, grader.grade_many(test), strict=True))
    metrics: dict[str, Any] = {
        "fused": fused,
        "single": singles,
        "best_single_modality": best_single,
        "expected_cost_reduction_vs_best_single": reduction,
        # the same comparison on the cost the decisions incurred on the test assets' true grades, against
        # the single modality that incurred the least (the forecast above is each model's own)
        "best_single_modality_realised": best_realised,
        "realised_cost_reduction_vs_best_single": realised_reduction,
        "throughput_cached_assets_per_s": len(test) / warm_s,
        "throughput_cold_assets_per_s": len(test) / cold_s,
        "throughput_disk_cached_assets_per_s": len(test) / disk_s,
        "fit_s": fit_s,
        "calibration_figures": {k: v for k, v in grader.metrics_.items() if k != "per_modality"},
        "known_rubric": known_rubric(blocks, bench, test_idx, y, grader),
        "targets": {
            "expected_cost_reduction>=0.5": reduction is not None and reduction >= 0.5,
            "ece<=0.03": fused["ece"] <= 0.03,
            # the 90 % upper bound of the bias-corrected ECE: "the true ECE is at most 0.03"
            "ece_debiased_high<=0.03": fused["ece_debiased_high"] <= 0.03,
            "coverage_within_1.5pt_of_nominal": abs(fused["coverage"] - grader.coverage) <= 0.015,
            "accept_rate_at_2pct_error>=0.7": fused["accept_rate_at_error"] >= 0.7,
            "cached>=20/s": len(test) / warm_s >= 20,
            "cold>=5/s": len(test) / cold_s >= 5,
        },
    }
    if png is not None:
        plot_risk_coverage(curves, png, max_error=grader.max_error, title="Linked benchmark, test split")
    extra = {
        "n_train": len(train), "n_calibration": len(cal_idx), "n_test": len(test),
        "calibrated_on": "calibration split" if split_calibration else "out-of-fold (train + calibration splits)",
        "folds": folds, "piece_groups": piece_groups, "source": source,
        "calibration": grader.calibration_, **threshold_summary(grader.policy_),
        "review_on_contradiction": review_on_contradiction, "vision_coreset_size": coreset_size,
        "model_version": grader.version_, "cached_results_identical": same and disk_same, "notes": grader.notes_,
        "grade_mix_test": {g: int((y == k).sum()) for k, g in enumerate(grader.grades_)},
        "png": None if png is None else str(png), "rul_model": rul_info, "fuser": fuser,
        "fuser_fitted": grader.fuser_.model_,
        "fuser_temperatures": (dict(zip(grader.modalities_, grader.fuser_.table_.temperatures_, strict=True))
                               if grader.fuser_.model_ == "latent" else None),
        "fuser_monotone": monotone,
        "images_per_asset": images_per_asset, "vision_mil": vision_mil,
        "vision_mil_fitted": getattr(grader.extractors_.get("vision"), "mil_", None),
        "vision_head": vision_head,
        "vision_head_fitted": getattr(grader.extractors_.get("vision"), "grade_head_kind_", None),
        "vision_head_losses": getattr(grader.extractors_.get("vision"), "head_losses_", None),
        "vision_quality_factors": vision_quality,
        "vision_augment": list(augment),
        "vision_flag_factors": getattr(grader.extractors_.get("vision"), "flag_factors_", None),
        "vision_flag_counts": getattr(grader.extractors_.get("vision"), "flag_counts_", None),
        "fuser_monotone_violations": grader.fusion_info().get("monotone_violations"),
        "text_C": getattr(grader.extractors_.get("text"), "C_", None),
        "text_C_losses": getattr(grader.extractors_.get("text"), "C_losses_", None),
        "sensors_C": getattr(grader.extractors_.get("sensors"), "C_", None),
        "sensors_C_losses": getattr(grader.extractors_.get("sensors"), "C_losses_", None),
    }
    if predictions is not None:
        extra["test_predictions"] = predictions
    return BenchResult(benchmark="fusion", dataset=f"linked-{source}", split="test", seed=seed, metrics=metrics,
                       wall_s=time.perf_counter() - t0, extra=extra)


def _prefixed(say: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    def step(message: str) -> None:
        say(prefix + message)
    return step


def run_fusion_seeds(
    seeds: Sequence[int], *, progress: Callable[[str], None] | None = None, png: Path | None = None,
    **kwargs: Any
) -> BenchResult:
    """:func:`run_fusion_benchmark` once per seed, with the test predictions pooled (:func:`pool_fusion_runs`).

    ``kwargs`` go to every run unchanged. The result's ``metrics`` hold ``pooled`` and, per run,
    the headline figures (``runs``); ``extra["runs_full"]`` the runs' complete results, test
    predictions included (so the pooling can be redone from the JSON). ``png``:
    a reliability diagram of the pooled test predictions.
    """
    if not seeds:
        raise ValidationError("give at least one seed", where="--seeds")
    if len(set(seeds)) != len(seeds):
        raise ValidationError(f"seeds {list(seeds)} repeat a seed: a repeated run adds no evidence", where="--seeds")
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    runs: list[BenchResult] = []
    for i, s in enumerate(seeds):
        runs.append(run_fusion_benchmark(seed=s, keep_predictions=True,
                                         progress=_prefixed(say, f"seed {s} ({i + 1} of {len(seeds)}): "), **kwargs))
    say("pooling the runs")
    pooled = pool_fusion_runs(runs)
    if png is not None:
        from assetgrade.fusion.calibration import reliability_diagram

        kept = [r.extra["test_predictions"] for r in runs]
        reliability_diagram(np.concatenate([np.asarray(k["proba"], dtype=np.float64) for k in kept]),
                            np.concatenate([np.asarray(k["y"], dtype=np.int64) for k in kept]), png,
                            title=f"Fused grader, {len(seeds)} seeds pooled",
                            debiased={"estimate": pooled["ece_debiased"], "high": pooled["ece_debiased_high"]})
    headline = ("accuracy", "qwk", "ece", "ece_debiased", "ece_debiased_high", "coverage", "expected_cost",
                "realised_cost", "accept_rate_at_error")
    summary = [{"seed": r.seed, "n_test": r.extra["n_test"], "wall_s": r.wall_s,
                "expected_cost_reduction_vs_best_single": r.metrics["expected_cost_reduction_vs_best_single"],
                "realised_cost_reduction_vs_best_single": r.metrics.get("realised_cost_reduction_vs_best_single"),
                **{k: r.metrics["fused"].get(k) for k in headline}} for r in runs]
    full = [{"seed": r.seed, "metrics": r.metrics, "extra": r.extra} for r in runs]  # predictions too: re-poolable
    return BenchResult(benchmark="fusion-seeds", dataset=runs[0].dataset, split="test (pooled over seeds)",
                       seed=int(seeds[0]), metrics={"pooled": pooled, "runs": summary},
                       wall_s=time.perf_counter() - t0,
                       extra={"seeds": list(seeds), "settings": {k: v for k, v in kwargs.items()},
                              "png": None if png is None else str(png), "runs_full": full})
