"""Every public name of the text modules imports."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "assetgrade.modalities.text",
    "assetgrade.modalities.text.candidates",
    "assetgrade.modalities.text.embed",
    "assetgrade.modalities.text.entities",
    "assetgrade.modalities.text.extractor",
    "assetgrade.modalities.text.linking",
    "assetgrade.modalities.text.negation",
    "assetgrade.modalities.text.normalize",
    "assetgrade.modalities.text.summary",
    "assetgrade.datasets.maintnorm",
    "assetgrade.datasets.maintie",
    "assetgrade.datasets.work_orders",
    "assetgrade.bench.text",
    "assetgrade.cli.bench_text",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    mod = importlib.import_module(name)
    assert mod.__doc__
    for public in mod.__all__:
        assert hasattr(mod, public), f"{name}.{public}"
