"""``assetgrade bench scale``: the projection's arithmetic, and a real run over the batch fixture's workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetgrade.bench.scale import _fusion_of, project, run_scale_bench


def test_projection_takes_the_tighter_bound() -> None:
    compute = project(0.05, 0.002, 10)  # 10 workers / 0.05 s = 200/s; writes 500/s
    assert compute["assets_per_s"] == 200.0 and compute["bound_by"] == "compute"
    writes = project(0.05, 0.002, 100)  # 2,000/s of compute, 500/s of writes
    assert writes["assets_per_s"] == 500.0 and writes["bound_by"] == "store writes"
    assert writes["assets_per_day_millions"] == pytest.approx(500 * 86400 / 1e6, abs=0.01)


def test_fusion_of_reads_the_bundle(tmp_path: Path) -> None:
    (tmp_path / "bundle.json").write_text(json.dumps({"fusion": {"model": "latent"}}), encoding="utf-8")
    assert _fusion_of(tmp_path) == "latent"
    assert _fusion_of(tmp_path / "missing") is None
    (tmp_path / "bundle.json").write_text("{not json", encoding="utf-8")
    assert _fusion_of(tmp_path) is None


def test_scale_run_on_a_trained_workspace(trained: tuple[Path, Path]) -> None:
    template, model = trained
    res = run_scale_bench(workspace=template, model=model, with_ray=False, shard_size=6, extractors=("text",))
    m, extra = res.metrics, res.extra
    assert m["local1_assets_per_s"] > 0 and m["local2_assets_per_s"] > 0
    assert m["per_asset_compute_s"] > 0 and m["per_asset_write_s"] > 0
    assert m["ray2_assets_per_s"] is None and "Ray run skipped" in extra["notes"][0]
    assert extra["fusion"] == json.loads((model / "bundle.json").read_text(encoding="utf-8"))["fusion"]["model"]
    # at most 6 assets a shard, by id hash: 6 shards of the 24 (batch/assignment.py)
    assert [(r["assets"], r["shards"], r["errors"]) for r in extra["runs"]] == [(24, 6, 0), (24, 6, 0)]
