"""``bench fusion`` on the shipped linked sample (slow: three real extractors on ~60 assets)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assetgrade.bench.fusion import run_fusion_benchmark
from assetgrade.bench.report import write_result


@pytest.mark.slow
def test_bench_fusion_on_the_shipped_sample(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = run_fusion_benchmark(n_assets=80, seed=0, folds=2, source="sample", coreset_size=100,
                               png=tmp_path / "rc.png", keep_predictions=True)
    doc = json.loads(write_result(res, tmp_path / "out.json"))
    kept = doc["test_predictions"]
    assert len(kept["proba"]) == len(kept["y"]) == len(kept["cmapss_unit"]) == doc["n_test"]
    assert np.mean(kept["covered"]) == pytest.approx(doc["metrics"]["fused"]["coverage"])
    assert set(kept["costs"]) == {"fused", "vision", "text", "sensors"}
    for name, part in kept["costs"].items():  # per-asset costs average to the reported figures
        figures = doc["metrics"]["fused"] if name == "fused" else doc["metrics"]["single"][name]
        assert np.mean(part["realised"]) == pytest.approx(figures["realised_cost"])
        assert np.mean(part["expected"]) == pytest.approx(figures["expected_cost"])
    m = doc["metrics"]
    assert set(m["single"]) == {"vision", "text", "sensors"}
    for part in (m["fused"], *m["single"].values()):
        assert 0.0 <= part["accuracy"] <= 1.0 and 0.0 <= part["coverage"] <= 1.0 and part["expected_cost"] >= 0
    assert m["throughput_cached_assets_per_s"] > m["throughput_cold_assets_per_s"] > 0
    assert m["throughput_disk_cached_assets_per_s"] > m["throughput_cold_assets_per_s"]
    assert doc["cached_results_identical"] is True and (tmp_path / "rc.png").stat().st_size > 1000
    assert set(m["targets"]) >= {"ece<=0.03", "cached>=20/s"}
    assert doc["fuser"] == "auto" and doc["fuser_fitted"] == "latent"
    assert set(doc["fuser_temperatures"]) == {"vision", "text", "sensors"}
    ceiling = m["known_rubric"]
    assert set(ceiling) == {"extractors", "vision_exact", "sensors_exact", "text_exact"}
    for part in ceiling.values():
        assert 0.0 <= part["accuracy"] <= 1.0 and 0.0 <= part["accept_rate_at_error"] <= 1.0
    assert doc["rul_model"]["n_histories"] == 100  # auto: the FD001 test units the package ships
    assert doc["folds"] == 2 and doc["piece_groups"] == 3  # the default: the larger of 3 and the folds
    best = m["best_single_modality_realised"]
    assert m["single"][best]["realised_cost"] == min(v["realised_cost"] for v in m["single"].values())
    assert m["realised_cost_reduction_vs_best_single"] == pytest.approx(
        1 - m["fused"]["realised_cost"] / m["single"][best]["realised_cost"])
    assert doc["vision_head"] == "auto" and doc["vision_head_fitted"] in {"ordinal", "logistic"}
    assert doc["vision_quality_factors"] == "learned" and set(doc["vision_flag_factors"]) >= {"blurry", "glare"}
    assert doc["vision_augment"] == ["hflip", "vflip"]  # the extractor's default views


def test_rul_fleet_is_checked_before_any_work() -> None:
    from assetgrade.errors import ValidationError

    with pytest.raises(ValidationError, match="allowed: 'auto', 'cmapss-test' or none"):
        run_fusion_benchmark(n_assets=80, source="sample", rul_fleet="fd003")
    with pytest.raises(ValidationError, match="source='nope'"):
        run_fusion_benchmark(n_assets=80, source="nope", rul_fleet="cmapss-test")


def test_fewer_piece_groups_than_folds_is_refused_before_any_work() -> None:
    from assetgrade.errors import ValidationError

    with pytest.raises(ValidationError, match="piece_groups=3 < folds=5") as err:
        run_fusion_benchmark(n_assets=80, source="sample", folds=5, piece_groups=3)
    assert err.value.where == "--piece-groups"


@pytest.mark.parametrize(("setting", "value", "where"), [("vision_head", "tree", "--vision-head"),
                                                         ("vision_quality", "soft", "--vision-quality"),
                                                         ("vision_augment", ("mirror",), "--vision-augment")])
def test_vision_settings_are_checked_before_any_work(setting: str, value: object, where: str) -> None:
    from assetgrade.errors import ValidationError

    shown = f"augment={list(value)!r}" if isinstance(value, tuple) else f"{setting}={value!r}"
    with pytest.raises(ValidationError, match=shown.replace("[", r"\[").replace("]", r"\]")) as err:
        run_fusion_benchmark(n_assets=80, source="sample", **{setting: value})  # type: ignore[arg-type]
    assert err.value.where == where
