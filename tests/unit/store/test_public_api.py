"""Every name in the store, ingest, workspace and config ``__all__`` lists exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "assetgrade.config", "assetgrade.workspace", "assetgrade.store", "assetgrade.store.audit",
    "assetgrade.store.blobs", "assetgrade.store.engine", "assetgrade.store.loading", "assetgrade.store.repository",
    "assetgrade.store.requests", "assetgrade.store.results", "assetgrade.store.schema", "assetgrade.store.spool",
    "assetgrade.ingest",
    "assetgrade.ingest.detection",
    "assetgrade.ingest.fields", "assetgrade.ingest.folders", "assetgrade.ingest.images", "assetgrade.ingest.inputs",
    "assetgrade.ingest.items", "assetgrade.ingest.manifest", "assetgrade.ingest.report", "assetgrade.ingest.series",
    "assetgrade.ingest.series_options", "assetgrade.ingest.series_validation",
    "assetgrade.ingest.terms", "assetgrade.ingest.workorders", "assetgrade.ingest.writer",
    "assetgrade.cli.workspace", "assetgrade.cli.ingest", "assetgrade.cli.bench_ingest",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    mod = importlib.import_module(name)
    assert mod.__all__, name
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert missing == []
