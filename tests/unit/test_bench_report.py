"""The benchmark report's machine block says what the figures were measured on."""

from __future__ import annotations

import json
import os
import sys

import pytest

from assetgrade.bench.report import BenchResult, machine_info, write_result


def test_machine_block_has_load_average_and_cpus() -> None:
    info = machine_info()
    assert info["cpus"] == os.cpu_count()
    if hasattr(os, "getloadavg"):
        load = info["load_avg"]
        assert len(load) == 3 and all(v >= 0 for v in load)


def test_torch_threads_only_when_torch_was_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeTorch:
        @staticmethod
        def get_num_threads() -> int:
            return 3

    monkeypatch.setitem(sys.modules, "torch", FakeTorch)
    assert machine_info()["torch_threads"] == 3
    monkeypatch.delitem(sys.modules, "torch")
    assert "torch_threads" not in machine_info()


def test_machine_block_names_the_allocator_and_openmp_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setenv("MALLOC_MMAP_MAX_", "0")
    monkeypatch.setenv("GOMP_SPINCOUNT", "10000")
    info = machine_info()
    assert (info["omp_wait_policy"], info["malloc_mmap_max"], info["gomp_spincount"]) == ("PASSIVE", "0", "10000")
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert machine_info()["omp_wait_policy"] is None  # unset: said, not left out


def test_report_is_strict_json_with_machine_last(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = BenchResult("x", "d", "test", 0, {"acc": float("nan")}, 1.23456)
    text = write_result(result, tmp_path / "r.json")
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["metrics"]["acc"] is None and data["wall_s"] == 1.235
    assert list(data)[-1] == "machine"
    assert json.loads((tmp_path / "r.json").read_text()) == data


def test_report_names_the_code_and_library_versions() -> None:
    from importlib import metadata

    from assetgrade.version import LIBRARIES, __version__, git_commit

    data = BenchResult("x", "d", "test", 0, {}, 1.0).to_dict()
    commit = git_commit()
    assert data["code_version"] == (f"{__version__}+g{commit[:12]}" if commit else __version__)
    assert list(data["libraries"]) == list(LIBRARIES)
    assert data["libraries"]["numpy"] == metadata.version("numpy")
