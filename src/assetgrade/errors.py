"""The error tree: one base class and a few subclasses; edges (CLI, REST) map them to exit and HTTP codes."""

from __future__ import annotations

__all__ = [
    "AssetgradeError",
    "ConflictError",
    "IngestError",
    "MissingExtraError",
    "NotFoundError",
    "OntologyError",
    "PermissionDeniedError",
    "StoreError",
    "ValidationError",
    "unexpected",
]


class AssetgradeError(Exception):
    """Base class of every error assetgrade raises on purpose."""


class ValidationError(AssetgradeError, ValueError):
    """Bad input; ``where`` names the file, row and field, ``reason`` says what is wrong.

    Examples
    --------
    >>> str(ValidationError("must be a number", where="manifest.csv:row 3:field cost"))
    'manifest.csv:row 3:field cost: must be a number'
    """

    def __init__(self, reason: str, *, where: str | None = None) -> None:
        self.reason = reason
        self.where = where
        super().__init__(f"{where}: {reason}" if where else reason)


class OntologyError(ValidationError):
    """An ontology file or term is invalid or unknown."""


class IngestError(ValidationError):
    """One ingest row or file could not be taken in."""


class NotFoundError(AssetgradeError, LookupError):
    """A named asset, evidence item, model or file does not exist."""


class ConflictError(AssetgradeError):
    """A write lost a race (stale version) or contradicts what is stored (same id, other content)."""


class StoreError(AssetgradeError):
    """The store or blob store failed (disk full, connection lost, schema too old)."""


class PermissionDeniedError(AssetgradeError):
    """The caller's token or role does not allow the action."""


class MissingExtraError(AssetgradeError, ImportError):
    """An optional extra is needed; the message names the ``pip install`` to run."""

    def __init__(self, feature: str, extra: str) -> None:
        self.feature = feature
        self.extra = extra
        super().__init__(f"{feature} needs the optional extra: pip install 'assetgrade[{extra}]'")


def unexpected(exc: BaseException, outcome: str) -> str:
    """One line for a failure that is not one of assetgrade's own errors (a bug, or input no check foresaw):
    the exception's type, the file and line that raised it, its message and ``outcome`` (e.g. "not graded"),
    so a batch can report the item and go on with the rest."""
    import traceback
    from pathlib import Path

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return (f"unexpected {type(exc).__name__}{where}: {exc} ({outcome}; this is likely a bug in assetgrade or in "
            "an extractor: please report it with this asset's evidence)")
