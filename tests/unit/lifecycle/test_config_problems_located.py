"""Every command that reports a problem of ``assetgrade.yaml`` names the file, the line and column of the key, and
the key: ``train`` and ``retrain`` (the ``grader:`` section, ``costs:``), ``Workspace.costs``, ``audit drift`` and
``models triggers`` (``drift:``, ``lifecycle:``), and ``config check`` as before. Only ``config check`` did, and it
found the key by matching the message text; the validators now give the key path and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.config import ConfigProblem
from assetgrade.errors import ValidationError
from assetgrade.lifecycle.sections import check_workspace_config
from assetgrade.workspace import Workspace

from .conftest import seed_assets


def _ws(tmp_path: Path, tail: str, *, assets: bool = False) -> tuple[Path, int]:
    """A workspace whose config ends with ``tail``; the 1-based line ``tail`` starts on."""
    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        if assets:
            seed_assets(ws, 12)
    cfg = path / "assetgrade.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text + tail, encoding="utf-8")
    return path, text.count("\n") + 1


def _error(args: list[str]) -> ValidationError:
    res = CliRunner().invoke(build_app(), args)
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert exit_code_for(res.exception) == 2
    return res.exception


GRADER = [  # (section text, line offset of the key, column, key, reason)
    ("grader:\n  seed: x\n", 1, 3, "grader.seed", "seed='x' must be a whole number"),
    ("grader:\n  folds: 3\n  fols: 3\n", 2, 3, "grader.fols", "unexpected keyword argument 'fols'"),
    ("grader:\n  fuser:\n    C: 0\n", 2, 5, "grader.fuser.C", "C=0 must be a finite number > 0"),
    ("grader:\n  extractors: [visoin]\n", 1, 3, "grader.extractors", "unknown extractor 'visoin'"),
]


@pytest.mark.parametrize(("tail", "down", "column", "key", "says"), GRADER)
def test_train_names_the_line_of_a_bad_grader_setting(tmp_path: Path, tail: str, down: int, column: int,
                                                      key: str, says: str) -> None:
    ws, line = _ws(tmp_path, tail)
    exc = _error(["train", "-w", str(ws)])
    assert exc.where == f"{ws / 'assetgrade.yaml'}:line {line + down}:column {column}:{key}", exc.where
    assert says in exc.reason, exc.reason


def test_a_cli_option_the_grader_refuses_is_not_blamed_on_the_file(tmp_path: Path) -> None:
    ws, _ = _ws(tmp_path, "grader:\n  folds: 3\n")
    exc = _error(["train", "-w", str(ws), "--folds", "1"])
    assert "assetgrade.yaml" not in str(exc) and "folds=1" in str(exc), str(exc)


def test_retrain_names_the_line_of_a_bad_grader_setting(tmp_path: Path) -> None:
    ws, line = _ws(tmp_path, "grader:\n  folds: 3\n  seed: -1\n", assets=True)
    exc = _error(["retrain", "-w", str(ws)])
    assert exc.where == f"{ws / 'assetgrade.yaml'}:line {line + 2}:column 3:grader.seed", exc.where


COSTS = "costs:\n  grades: [A, B, C]\n  price:\n    A: 100\n    B: 200\n    C: 10\n"


def test_workspace_costs_and_retrain_name_the_line_of_a_bad_cost(tmp_path: Path) -> None:
    ws, line = _ws(tmp_path, "costs:\n  dispute_cost: 1\n  review_cst: 5\n", assets=True)
    where = f"{ws / 'assetgrade.yaml'}:line {line + 2}:column 3:costs.review_cst"
    with Workspace.open(ws) as w, pytest.raises(ValidationError) as exc:
        w.costs()
    assert exc.value.where == where and "unknown key" in exc.value.reason, exc.value
    assert _error(["retrain", "-w", str(ws)]).where == where


def test_a_section_that_is_not_a_mapping_is_named_where_it_is_written(tmp_path: Path) -> None:
    ws, line = _ws(tmp_path, "costs: [1, 2]\n")
    with Workspace.open(ws) as w, pytest.raises(ValidationError) as exc:
        w.costs()
    assert exc.value.where == f"{ws / 'assetgrade.yaml'}:line {line}:column 1:costs", exc.value.where


@pytest.mark.parametrize("command", [["audit", "drift"], ["models", "triggers"]])
def test_commands_reading_the_lifecycle_sections_name_the_line(tmp_path: Path, command: list[str]) -> None:
    ws, line = _ws(tmp_path, "drift:\n  alpha: 0.01\n  windw: 3\n")
    exc = _error([*command, "-w", str(ws)])
    assert exc.where == f"{ws / 'assetgrade.yaml'}:line {line + 2}:column 3:drift.windw", exc.where
    assert exc.reason.startswith("unknown key; known: ["), exc.reason


def test_the_checks_give_the_key_path_and_the_reason(tmp_path: Path) -> None:
    ws, _ = _ws(tmp_path, "grader:\n  fuser: {C: 0}\ndrift:\n  windw: 3\npolcy: {}\n")
    with Workspace.open(ws) as w:
        problems = check_workspace_config(w.config, ws)
    assert ConfigProblem(("grader", "fuser", "C"), "C=0 must be a finite number > 0") in problems, problems
    assert any(p.key == ("drift", "windw") and p.reason.startswith("unknown key") for p in problems), problems
    assert any(p.key == ("polcy",) and "a misspelling of 'policy'" in p.reason for p in problems), problems


def test_train_leaving_an_extractor_out_keeps_its_settings_unblamed(tmp_path: Path) -> None:
    from assetgrade.grader_factory import workspace_grader

    ws, _ = _ws(tmp_path, "grader:\n  extractor_settings:\n    vision: {coreset_size: 300}\n")
    with Workspace.open(ws) as w:
        assert workspace_grader(w.config, ws, extractors=["text"]).extractors == ("text",)
