"""Every public name of assetgrade.fusion, assetgrade.decision and the linked data set module imports."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "assetgrade.fusion",
        "assetgrade.fusion.calibration",
        "assetgrade.fusion.conformal",
        "assetgrade.fusion.combine",
        "assetgrade.fusion.contradictions",
        "assetgrade.fusion.latent",
        "assetgrade.fusion.latent_plot",
        "assetgrade.fusion.monotone",
        "assetgrade.fusion.ece",
        "assetgrade.fusion.reliability",
        "assetgrade.fusion.inputs",
        "assetgrade.decision",
        "assetgrade.decision.costs",
        "assetgrade.decision.policy",
        "assetgrade.decision.risk",
        "assetgrade.decision.metrics",
        "assetgrade.datasets.linked",
    ],
)
def test_all_names_exist(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__, module
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, f"{module}: {missing}"
