"""Fine-tuning the last block on cached activations: shapes, time budget, dihedral views, inner validation,
side features, and (slow) learning a separable task."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from assetgrade.errors import ValidationError
from assetgrade.modalities.vision.backbone import Backbone
from assetgrade.modalities.vision.finetune import DIHEDRAL_VIEWS, FineTuner, dihedral


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


def test_dihedral_views_are_the_eight_symmetries() -> None:
    t = torch.arange(9.0).reshape(1, 1, 3, 3)
    views = [dihedral(t, v) for v in range(DIHEDRAL_VIEWS)]
    assert torch.equal(views[0], t)
    assert torch.equal(views[4], torch.flip(t, dims=(-1,)))
    assert len({tuple(v.flatten().tolist()) for v in views}) == 8
    assert torch.equal(dihedral(dihedral(t, 1), 3), t)


def test_inner_validation_split_and_temperature(backbone64: Backbone, rng: np.random.Generator) -> None:
    x, y = _data(rng, 40)
    ft = FineTuner(backbone64, n_classes=2, n_blocks=1, epochs=2, val_fraction=0.2, ordinal_weight=1.0, threads=1)
    ft.fit(ft.trunk_activations(x), y)
    tr, va = ft.train_index_, ft.val_index_
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == 40
    assert np.bincount(y[va]).tolist() == [4, 4]  # stratified 20 %
    assert 1 <= ft.best_epoch_ <= 2 and len(ft.val_history_) == 2 and ft.temperature_ > 0


def test_side_features_are_checked(backbone64: Backbone, rng: np.random.Generator) -> None:
    x, y = _data(rng, 8)
    ft = FineTuner(backbone64, n_classes=2, n_blocks=1, epochs=1, side_dim=2, val_fraction=0.0, threads=1)
    acts = ft.trunk_activations(x)
    side = np.eye(2, dtype=np.float32)[y]
    assert ft.fit(acts, y, side=side).predict_proba(acts, side=side).shape == (8, 2)
    with pytest.raises(ValidationError, match="width"):
        ft.predict_proba(acts, side=np.ones((8, 3), np.float32))
    with pytest.raises(ValidationError, match="required"):
        ft.predict_proba(acts)
    with pytest.raises(ValidationError, match="val_fraction"):
        FineTuner(backbone64, n_classes=2, val_fraction=0.6)


@pytest.mark.slow
def test_finetune_learns_a_separable_task(backbone64: Backbone, rng: np.random.Generator) -> None:
    x, y = _data(rng, 48)
    ft = FineTuner(backbone64, n_classes=2, n_blocks=1, epochs=8, lr=3e-3, time_budget_s=60.0, threads=1)
    acts = ft.trunk_activations(x)
    p = ft.fit(acts, y).predict_proba(acts)
    assert np.mean(p.argmax(axis=1) == y) >= 0.9
