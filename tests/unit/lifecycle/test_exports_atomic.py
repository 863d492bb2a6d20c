"""``write_documents`` is all or nothing: a failed export leaves an earlier one whole and no temporary file."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from assetgrade.errors import StoreError
from assetgrade.lifecycle import exports
from assetgrade.lifecycle.exports import write_documents
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.workspace import Workspace

from .conftest import TableModel, seed_assets


@pytest.fixture
def exported(ws: Workspace, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    seed_assets(ws, 4)
    reg = ModelRegistry(ws)
    reg.register(TableModel({"pump": "A", "valve": "C"}), version="v1", loader="table")
    reg.register(TableModel({"pump": "B", "valve": "C"}), version="v2", loader="table")
    out = tmp_path / "out"
    write_documents(ws, "v1", out)
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def _version(out: Path) -> str:
    return str(json.loads((out / "model_documentation.json").read_text())["model"]["version"])


def test_a_document_that_cannot_be_rendered_leaves_the_earlier_export(
        ws: Workspace, exported: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = exported
    real = exports.render_html

    def render(doc: dict[str, Any]) -> str:
        if doc["document"] == "datasheet":
            raise ValueError("template error")
        return real(doc)

    monkeypatch.setattr(exports, "render_html", render)
    with pytest.raises(ValueError, match="template error"):
        write_documents(ws, "v2", out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before and _version(out) == "v1"


def test_a_full_disk_leaves_the_earlier_export_and_no_temporary_file(
        ws: Workspace, exported: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = exported
    real = Path.write_text

    def write_text(self: Path, data: str, *a: Any, **k: Any) -> int:
        if "datasheet.html" in self.name:  # the last of the four files
            real(self, data[:10], *a, **k)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data, *a, **k)

    monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(StoreError, match=f"cannot write documents to {out}.*No space left"):
        write_documents(ws, "v2", out)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before and _version(out) == "v1"
    assert sorted(p.name for p in write_documents(ws, "v2", out)) == sorted(before)  # then it works, replacing
    assert _version(out) == "v2" and sorted(p.name for p in out.iterdir()) == sorted(before)
