"""Dependencies point one way: no module imports from a layer above its own (docs/architecture.md).

Every import counts, at module level, inside a function or under ``TYPE_CHECKING``: a lazy
import is still a dependency. Packages in one layer may import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# lowest first; a module may import from its own layer and the ones before it
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("foundation", frozenset({"errors", "jsonsafe", "seeds", "strict_yaml", "config", "version", "blas"})),
    ("ontology", frozenset({"ontology"})),
    ("store", frozenset({"store"})),
    ("modalities", frozenset({"modalities"})),
    ("synth", frozenset({"synth"})),
    ("fusion", frozenset({"fusion"})),
    ("decision", frozenset({"decision"})),
    ("workspace", frozenset({"workspace"})),
    ("ingest", frozenset({"ingest"})),
    ("datasets", frozenset({"datasets"})),
    ("grader", frozenset({"result", "grading", "grader", "grader_settings", "grader_factory", "config_check",
                          "training_check"})),
    ("review", frozenset({"review"})),
    ("audit", frozenset({"audit"})),
    ("lifecycle and batch", frozenset({"lifecycle", "batch"})),
    ("bench", frozenset({"bench"})),
    ("rest and web", frozenset({"rest", "web"})),
    ("loadtest", frozenset({"loadtest"})),
    ("cli", frozenset({"cli"})),
)
LEVEL = {part: i for i, (_, parts) in enumerate(LAYERS) for part in parts}


def _module_name(path: Path, src: Path) -> tuple[str, str]:
    """(module, package it resolves relative imports against)."""
    parts = path.relative_to(src).with_suffix("").parts
    if parts[-1] == "__init__":
        name = ".".join(parts[:-1])
        return name, name
    name = ".".join(parts)
    return name, name.rsplit(".", 1)[0]


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    if target == "assetgrade":  # `from assetgrade import x`: x may be a subpackage
        return [f"assetgrade.{a.name}" if a.name != "*" else "assetgrade" for a in node.names]
    return [target]


def _part(module: str) -> str | None:
    """The top-level part of the package a module belongs to (``store`` for ``assetgrade.store.blobs``)."""
    pieces = module.split(".")
    if pieces[0] != "assetgrade":
        return None
    return pieces[1] if len(pieces) > 1 else ""


def check_layers(src: Path, level: dict[str, int]) -> tuple[list[str], list[str]]:
    """(upward imports, parts with no layer) under ``src/assetgrade``."""
    upward: list[str] = []
    unplaced: set[str] = set()
    for path in sorted((src / "assetgrade").rglob("*.py")):
        module, package = _module_name(path, src)
        here = _part(module)
        if here == "":  # the package's own __init__: the public API, which may name anything
            continue
        assert here is not None
        if here not in level:
            unplaced.add(here)
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(node, package):
                there = _part(target)
                if there is None or there == here:
                    continue
                if there == "" or there not in level or level[there] > level[here]:
                    upward.append(f"{path.relative_to(src)}:{node.lineno} ({here}) imports {target} "
                                  f"({there if there in level else 'the package root'})")
    return upward, sorted(unplaced)


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward, unplaced = check_layers(SRC, LEVEL)
    assert not unplaced, f"place these packages in a layer (LAYERS here and docs/architecture.md): {unplaced}"
    assert not upward, "imports that point up the layers:\n" + "\n".join(upward)


def test_every_layer_names_a_real_package_or_module() -> None:
    present = {p.stem if p.suffix == ".py" else p.name for p in (SRC / "assetgrade").iterdir()
               if p.name != "__init__.py" and (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert set(LEVEL) == present


@pytest.mark.parametrize(
    ("where", "source", "flagged"),
    [
        ("store/loading.py", "from assetgrade.workspace import Workspace\n", True),  # store below workspace
        ("store/loading.py", "if TYPE_CHECKING:\n    from assetgrade.workspace import Workspace\n", True),
        ("store/loading.py", "def f():\n    from ..workspace import Workspace\n", True),  # lazy and relative
        ("grading/bundle.py", "from assetgrade import __version__\n", True),  # the public API root
        ("grading/bundle.py", "from assetgrade import fusion\n", False),  # a subpackage below
        ("workspace.py", "from assetgrade.store.blobs import BlobStore\n", False),
        ("web/views.py", "from assetgrade.rest.auth import Principal\n", False),  # same layer
    ],
)
def test_the_check_flags_an_upward_import(tmp_path: Path, where: str, source: str, flagged: bool) -> None:
    root = tmp_path / "assetgrade"
    for folder in ("store", "grading", "web"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("from assetgrade.cli import main\n")  # the root itself is exempt
    (root / where).write_text(source)
    upward, unplaced = check_layers(tmp_path, LEVEL)
    assert unplaced == []
    assert bool(upward) is flagged, upward
