"""Workspace settings: the validated ``assetgrade.yaml`` (store URL, blob root, policy and free sections)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from assetgrade.errors import ValidationError

__all__ = ["CONFIG_NAME", "PolicySettings", "WorkspaceConfig", "load_config", "save_config"]

CONFIG_NAME = "assetgrade.yaml"


class PolicySettings(BaseModel):
    """Decision policy defaults a workspace starts with (the decision layer may refine them).

    Examples
    --------
    >>> PolicySettings().coverage
    0.9
    """

    model_config = ConfigDict(extra="allow")

    coverage: float = Field(0.9, gt=0.0, lt=1.0, description="target coverage of conformal grade sets")
    review_if_set_size_over: int = Field(1, ge=1, description="send to review when the set is larger")
    max_expected_cost: float | None = Field(None, ge=0.0, description="send to review above this cost")


class WorkspaceConfig(BaseModel):
    """The contents of ``assetgrade.yaml``.

    ``store_url`` (None: the workspace's ``assetgrade.db`` SQLite file) and ``blob_root``
    (None: the workspace's ``blobs/`` folder; any fsspec URL works) select the storage.
    Other modules add their own sections (``costs:``, ``audit:``...): unknown top-level keys are
    kept as they are and reachable through :meth:`section`.

    Examples
    --------
    >>> cfg = WorkspaceConfig.model_validate({"costs": {"matrix": [[0]]}})
    >>> cfg.section("costs")
    {'matrix': [[0]]}
    >>> cfg.store_url is None
    True
    """

    model_config = ConfigDict(extra="allow")

    version: int = Field(1, ge=1, le=1, description="config format version")
    store_url: str | None = None
    blob_root: str | None = None
    ontology: str | None = Field(None, description="ontology YAML (relative to the workspace); None: default")
    verify_blobs_on_read: bool = False
    ingest_group_size: int = Field(200, ge=1, le=100_000)
    max_image_pixels: int = Field(64_000_000, ge=1)
    policy: PolicySettings = Field(default_factory=PolicySettings)

    def section(self, name: str) -> dict[str, Any]:
        """A free-form section added by another module (empty dict when absent)."""
        extra = self.model_extra or {}
        value = extra.get(name, {})
        if not isinstance(value, dict):
            raise ValidationError(f"section {name!r} must be a mapping, got {type(value).__name__}",
                                  where=CONFIG_NAME)
        return value


def load_config(path: Path) -> WorkspaceConfig:
    """Read and validate a config file; errors name the file and the bad key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"cannot read config: {exc}", where=str(path)) from exc
    except yaml.YAMLError as exc:
        raise ValidationError(f"not valid YAML: {exc}", where=str(path)) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError("the config must be a mapping of keys to values", where=str(path))
    try:
        return WorkspaceConfig.model_validate(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"{first['msg']} (got {first.get('input')!r})", where=f"{path}:{key}") from exc


def save_config(config: WorkspaceConfig, path: Path) -> None:
    """Write ``config`` as YAML (atomically: temp file then rename)."""
    data = config.model_dump(mode="json", exclude_none=False)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text("# assetgrade workspace settings\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
