"""Fine-tuning the last block on cached activations: shapes, time budget, and (slow) learning a separable task."""

from __future__ import annotations

import numpy as np
import pytest

from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.finetune import FineTuner


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 2
    x = rng.normal(0, 0.2, (n, 3, 64, 64)).astype(np.float32)
    x[y == 1, :, 24:40, :] += 1.5  # a bright horizontal band marks class 1
    return x, y


def test_finetune_shapes_and_budget(backbone64: Backbone, rng: np.random.Generator) -> None:
    x, y = _data(rng, 8)
    ft = FineTuner(backbone64, n_classes=2, n_blocks=1, epochs=1, threads=1)
    acts = ft.trunk_activations(x)
    assert acts.shape[:2] == (8, 192)
    p = ft.fit(acts, y).predict_proba(acts, tta=True)
    assert p.shape == (8, 2) and np.allclose(p.sum(axis=1), 1.0) and ft.epochs_run_ == 1
    quick = FineTuner(backbone64, n_classes=2, n_blocks=1, epochs=1000, time_budget_s=0.0, threads=1).fit(acts, y)
    assert quick.stopped_by_budget_ and quick.epochs_run_ == 0


@pytest.mark.slow
def test_finetune_learns_a_separable_task(backbone64: Backbone, rng: np.random.Generator) -> None:
    x, y = _data(rng, 48)
    ft = FineTuner(backbone64, n_classes=2, n_blocks=1, epochs=8, lr=3e-3, time_budget_s=60.0, threads=1)
    acts = ft.trunk_activations(x)
    p = ft.fit(acts, y).predict_proba(acts)
    assert np.mean(p.argmax(axis=1) == y) >= 0.9
