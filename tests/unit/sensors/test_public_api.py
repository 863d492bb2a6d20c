"""Every public name of the sensors package imports and is what ``__all__`` says."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "assetgrade.modalities.sensors",
    "assetgrade.modalities.sensors.events",
    "assetgrade.modalities.sensors.extractor",
    "assetgrade.modalities.sensors.features",
    "assetgrade.modalities.sensors.grade_model",
    "assetgrade.modalities.sensors.grading",
    "assetgrade.modalities.sensors.health",
    "assetgrade.modalities.sensors.rul_evidence",
    "assetgrade.modalities.sensors.validate",
    "assetgrade.datasets.cmapss",
    "assetgrade.bench.sensors",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    mod = importlib.import_module(name)
    assert mod.__doc__
    assert mod.__all__
    for attr in mod.__all__:
        assert hasattr(mod, attr), f"{name}.{attr}"


def test_bench_sensors_registered_on_cli() -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app

    out = CliRunner().invoke(build_app(), ["bench", "sensors", "--help"])
    assert out.exit_code == 0
    assert "--subset" in out.output and "--coverage" in out.output


def test_bench_metrics() -> None:
    from assetgrade.bench.sensors import nasa_score, rmse

    assert rmse([3.0], [0.0]) == 3.0
    # late by 10 costs e - 1; early by 13 costs e - 1 as well (asymmetric scales)
    assert nasa_score([10.0], [0.0]) == pytest.approx(nasa_score([0.0], [13.0]))
    assert nasa_score([10.0], [0.0]) > nasa_score([0.0], [10.0])
