"""assetgrade: calibrated, auditable condition grades for used industrial assets.

The public API is small; each name is imported on first use so that ``import assetgrade`` (and
the CLI's start-up) stays light.

Examples
--------
>>> import assetgrade
>>> assetgrade.default_ontology().grades.names
('A', 'B', 'C', 'D')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from assetgrade.version import __version__

_EXPORTS: dict[str, str] = {
    "AssetRecord": "assetgrade.store.records",
    "AssetgradeError": "assetgrade.errors",
    "ConflictError": "assetgrade.errors",
    "EvidenceBlock": "assetgrade.modalities.base",
    "Extractor": "assetgrade.modalities.base",
    "Finding": "assetgrade.modalities.base",
    "GradeResult": "assetgrade.result",
    "Grader": "assetgrade.grader",
    "ImageRef": "assetgrade.store.records",
    "LogEntry": "assetgrade.store.records",
    "NotFoundError": "assetgrade.errors",
    "Ontology": "assetgrade.ontology",
    "SeriesRef": "assetgrade.store.records",
    "ValidationError": "assetgrade.errors",
    "Workspace": "assetgrade.workspace",
    "default_ontology": "assetgrade.ontology",
    "get_extractor": "assetgrade.modalities.base",
    "load_ontology": "assetgrade.ontology",
    "load_records": "assetgrade.store.loading",
    "record_grades": "assetgrade.grader",
}

__all__ = [
    "AssetRecord",
    "AssetgradeError",
    "ConflictError",
    "EvidenceBlock",
    "Extractor",
    "Finding",
    "GradeResult",
    "Grader",
    "ImageRef",
    "LogEntry",
    "NotFoundError",
    "Ontology",
    "SeriesRef",
    "ValidationError",
    "Workspace",
    "__version__",
    "default_ontology",
    "get_extractor",
    "load_ontology",
    "load_records",
    "record_grades",
]

if TYPE_CHECKING:
    from assetgrade.errors import AssetgradeError, ConflictError, NotFoundError, ValidationError
    from assetgrade.grader import Grader, record_grades
    from assetgrade.modalities.base import EvidenceBlock, Extractor, Finding, get_extractor
    from assetgrade.ontology import Ontology, default_ontology, load_ontology
    from assetgrade.result import GradeResult
    from assetgrade.store.loading import load_records
    from assetgrade.store.records import AssetRecord, ImageRef, LogEntry, SeriesRef
    from assetgrade.workspace import Workspace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'assetgrade' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
