"""The review benchmarks' protocol on small synthetic features (the real-data runs live in tests/realdata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetgrade.bench.active import ActiveConfig, labels_to_reach, run_active_bench
from assetgrade.bench.label_noise import LabelNoiseConfig, detection_metrics, flip_labels, run_label_noise_bench
from assetgrade.bench.review_data import ReviewData
from assetgrade.errors import ValidationError


def _data(rng: np.random.Generator, k: int = 3, n: int = 240, ordinal: bool = False) -> ReviewData:
    y = np.repeat(np.arange(k), n // k)
    centers = rng.normal(0, 3.0, size=(k, 8))
    X = centers[y] + rng.normal(0, 1, size=(len(y), 8))
    return ReviewData(name="synthetic", X=X, y=y, classes=tuple("ABCD"[:k]), ordinal=ordinal)


def test_labels_to_reach() -> None:
    assert labels_to_reach([3, 8, 13], [0.5, 0.9, 0.95], 0.9) == 8
    assert labels_to_reach([3, 8], [0.5, 0.6], 0.9) is None


def test_flip_labels_flips_exactly_and_never_to_itself(rng: np.random.Generator) -> None:
    y = np.repeat(np.arange(4), 50)
    noisy, flipped = flip_labels(y, 4, 0.1, rng)
    assert flipped.sum() == 20 and (noisy[flipped] != y[flipped]).all() and (noisy[~flipped] == y[~flipped]).all()
    assert len(set((noisy[flipped] - y[flipped]).tolist())) > 1  # different distances occur
    with pytest.raises(ValidationError, match="noise"):
        flip_labels(y, 4, 1.5, rng)


def test_detection_metrics_by_hand() -> None:
    truth = np.array([1, 1, 0, 0, 0], bool)
    flags = np.array([1, 0, 1, 0, 0], bool)
    m = detection_metrics(flags, truth, np.array([0.9, 0.8, 0.7, 0.1, 0.2]))
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["auroc"] == 1.0 and m["precision_at_n_noisy"] == 1.0


def test_active_bench_on_synthetic(rng: np.random.Generator, tmp_path: Path) -> None:
    cfg = ActiveConfig(dataset="synthetic", batch=4, repeats=1, strategies=("random", "margin", "uncertain_coreset"),
                       out_dir=tmp_path, progress=False)  # fmt: skip
    res = run_active_bench(cfg, data=_data(rng)).to_dict()
    m = res["metrics"]
    assert m["full_data_accuracy"] > 0.9
    assert set(m["labels_to_95"]) == {"random", "margin", "uncertain_coreset"}
    for s, curve in res["curves"].items():
        assert curve["labels"][0] == 3 and all(
            b - a == 4 for a, b in zip(curve["labels"], curve["labels"][1:], strict=False)
        ), s
    assert m["best_strategy"] in {"margin", "uncertain_coreset"}
    assert Path(res["plots"][0]).stat().st_size > 1000


def test_active_bench_needs_random(rng: np.random.Generator) -> None:
    with pytest.raises(ValidationError, match="random"):
        run_active_bench(ActiveConfig(strategies=("margin",), progress=False), data=_data(rng))


def test_label_noise_bench_on_synthetic(rng: np.random.Generator) -> None:
    res = run_label_noise_bench(LabelNoiseConfig(dataset="synthetic", noise=0.1, C=1.0, progress=False),
                                data=_data(rng, k=4, ordinal=True)).to_dict()  # fmt: skip
    m = res["metrics"]
    assert m["precision"] >= 0.8 and m["recall"] >= 0.8
    assert res["n_flipped"] == 24 and "ordinal" in res
    assert res["ordinal"]["mean_expected_distance_flipped"] > res["ordinal"]["mean_expected_distance_clean"]
