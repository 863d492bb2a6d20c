"""Shared fixtures: seeded generators, temporary workspaces, and the real-data folder (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assetgrade.datasets.paths import shared_data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests are deterministic."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data folder; the test is skipped with the reason when it is absent."""
    root = shared_data_dir()
    if root is None:
        pytest.skip("real data not found: set ASSETGRADE_DATA or put the shared data at ../shared/data")
    return root
