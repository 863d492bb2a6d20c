"""Fixtures for the audit tests: a small mixed real/synthetic AuditData with images, embeddings and probabilities."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from assetgrade.audit.data import AuditData


def make_data(
    rng: np.random.Generator, *, n: int = 60, shortcut: bool = False, classes: tuple[str, ...] = ("a", "b", "c")
) -> AuditData:
    """``n`` items, a quarter synthetic; ``shortcut``: synthetic images brighter, embeddings shifted."""
    labels = np.array([classes[i % len(classes)] for i in range(n)])
    origin = np.where(np.arange(n) % 4 == 0, "synthetic", "real")
    emb = rng.normal(size=(n, 8))
    emb[:, 1] += 2.0 * (labels == classes[0]) - 2.0 * (labels == classes[-1])
    syn = origin == "synthetic"
    if shortcut:
        emb[syn, 0] += 3.0
    base = rng.integers(60, 180, size=(n, 32, 32))
    images = [np.clip(base[i] + (60 if (shortcut and syn[i]) else 0), 0, 255).astype(np.uint8) for i in range(n)]

    def loader(i: int) -> Image.Image:
        return Image.fromarray(images[i]).convert("RGB")

    probs = rng.dirichlet(np.ones(len(classes)), size=n)
    table = pd.DataFrame({
        "item_id": [f"it{i}" for i in range(n)],
        "asset_id": [f"as{i}" for i in range(n)],
        "label": labels,
        "split": np.where(np.arange(n) % 5 == 0, "test", "train"),
        "origin": origin,
        "asset_type": np.where(np.arange(n) % 2 == 0, "pump", "valve"),
        "capture_condition": "daylight",
    })
    return AuditData(table, embeddings=emb, image_loader=loader, pred_probs=probs, classes=classes)


@pytest.fixture
def data_factory() -> Callable[..., AuditData]:
    """Build AuditData (see ``make_data``)."""
    return make_data
