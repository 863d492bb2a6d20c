"""Stand-in models for tests of the model registry."""

from __future__ import annotations

from pathlib import Path


class FixedModel:
    """A model that saves as one JSON file: enough for the registry (register a loader under a kind name)."""

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "fixed.json").write_text("{}")
