"""``bench vision --images-per-asset``: assets of several real ELPV photos, plain vs MIL heads at the asset level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assetgrade.bench.vision import VisionBenchConfig
from assetgrade.bench.vision_mil import make_bags, run_vision_mil_bench
from assetgrade.cli.app import build_app
from assetgrade.errors import ValidationError


def test_bags_are_dealt_without_overlap() -> None:
    b = make_bags(10, 3, seed=1)
    assert sorted(np.bincount(b[b >= 0]).tolist()) == [3, 3, 3] and int((b == -1).sum()) == 1
    assert not np.array_equal(b, make_bags(10, 3, seed=2))
    with pytest.raises(ValidationError, match="at least 2"):
        make_bags(10, 1, seed=0)


def test_mil_bench_on_a_reduced_elpv(tmp_path: Path, bench_cache: Path) -> None:
    cfg = VisionBenchConfig(dataset="elpv", per_class=24, folds=2, image_size=64, C=0.02, cache_dir=bench_cache,
                            out_dir=tmp_path, progress=False)
    res = run_vision_mil_bench(cfg, per_asset=2, rounds=2).to_dict()
    assert res["benchmark"] == "vision.mil" and res["n_assets"] == 48 and res["n_images"] == 96
    assert set(res["all_heads"]) == {"plain_worst", "plain_max", "mil"}
    assert set(res["image_level_metrics"]) == {"plain", "mil"}
    assert res["metrics"] == res["all_heads"]["mil"] and 0.0 <= res["metrics"]["accuracy"] <= 1.0
    assert sum(res["asset_levels"].values()) == 48 and res["em_rounds_per_fold"] == [2, 2]
    assert res["n_left_over"] == 0 and res["unreadable_images"] == {} and res["per_class"] == 24
    assert res["n_test_per_fold"] == [24, 24] and res["n_train"] == 24 and res["n_test"] == 24  # assets
    assert all(Path(p).exists() for p in res["plots"]) and res["plots"]
    with pytest.raises(ValidationError, match="unordered"):
        run_vision_mil_bench(VisionBenchConfig(dataset="folder", data_dir=_folder(tmp_path)), per_asset=2)


def _folder(tmp_path: Path) -> Path:
    from PIL import Image

    root = tmp_path / "folder"
    for c in ("rust", "dent"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (32, 32), (40 * i, 0, 0)).save(root / c / f"{i}.png")
    return root


def test_cli_refuses_mil_with_finetune() -> None:
    r = CliRunner().invoke(build_app(), ["bench", "vision", "--dataset", "elpv", "--images-per-asset", "2",
                                         "--finetune", "--per-class", "8"])
    assert r.exit_code != 0 and "--finetune" in str(r.exception)


@pytest.mark.parametrize(("option", "message"), [(["--augment"], "--augment"),
                                                  (["--head", "logistic"], "compares ordinal heads")])
def test_cli_refuses_mil_options_it_would_ignore(option: list[str], message: str) -> None:
    r = CliRunner().invoke(build_app(), ["bench", "vision", "--dataset", "elpv", "--images-per-asset", "2",
                                         "--per-class", "8", *option])
    assert r.exit_code != 0 and message in str(r.exception)
