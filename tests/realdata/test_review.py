"""Real data: a reduced NEU label-noise run finds planted flips, with floors well below the targets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assetgrade.bench.label_noise import LabelNoiseConfig, run_label_noise_bench

pytestmark = pytest.mark.realdata


def test_reduced_label_noise_run_on_neu(shared_data: Path) -> None:
    if not (shared_data / "neu-det" / "images").is_dir():
        pytest.skip("neu-det not in the shared data")
    os.environ.setdefault("MALLOC_MMAP_MAX_", "0")
    cfg = LabelNoiseConfig(
        data_dir=shared_data / "neu-det", per_class=40, noise=0.1, seed=0, pca_dim=32, progress=False
    )
    res = run_label_noise_bench(cfg).to_dict()
    m = res["metrics"]
    assert res["n_items"] == 240 and res["n_flipped"] == 24
    assert m["precision"] >= 0.6 and m["recall"] >= 0.6  # targets on the full set: >= 0.8 each (measured ~1.0 / 0.97)
    assert m["auroc"] >= 0.85
