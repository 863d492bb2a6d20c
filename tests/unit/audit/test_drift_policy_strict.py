"""The ``drift:`` section's settings are read strictly, as the rest of ``assetgrade.yaml`` is: ``classifier_test``
takes true/false (or the words yes/no, as ``verify_blobs_on_read`` does) and the numbers take numbers. pydantic's
own bool turned the text "false" into false and 1 into true, and its numbers read ``window: true`` as a window
of 1 and a quoted "0.05" as alpha; ``config check`` said the settings were valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.audit.drift import DriftPolicy
from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import ValidationError
from assetgrade.workspace import Workspace

REFUSED = [  # (the setting as written, its key, what the message says)
    ("classifier_test: 'false'", "classifier_test", "true or false (or yes / no)"),
    ("classifier_test: 1", "classifier_test", "true or false (or yes / no)"),
    ("classifier_test: on", "classifier_test", "true or false (or yes / no)"),
    ("window: true", "window", "valid integer"),
    ("alpha: '0.05'", "alpha", "valid number"),
    ("calibration_splits: 20.0", "calibration_splits", "valid integer"),
]


def _ws(tmp_path: Path, setting: str) -> tuple[Path, int]:
    """A workspace whose config ends with a ``drift:`` section holding ``setting``; the setting's line."""
    Workspace.init(tmp_path / "ws").close()
    cfg = tmp_path / "ws" / "assetgrade.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(f"{text}drift:\n  {setting}\n", encoding="utf-8")
    return tmp_path / "ws", text.count("\n") + 2


@pytest.mark.parametrize(("setting", "key", "says"), REFUSED)
def test_config_check_refuses_a_lax_drift_value_at_its_line(tmp_path: Path, setting: str, key: str,
                                                           says: str) -> None:
    ws, line = _ws(tmp_path, setting)
    res = CliRunner().invoke(build_app(), ["config", "check", "-w", str(ws)])
    said = " ".join(res.output.split())
    assert res.exit_code == 2, said
    assert f"{ws / 'assetgrade.yaml'}:line {line}:column 3:drift.{key}: Input should be" in said, said
    assert says in said, said


@pytest.mark.parametrize(("setting", "key", "says"), REFUSED[:2])
def test_audit_drift_names_the_line_of_a_lax_yes_no(tmp_path: Path, setting: str, key: str, says: str) -> None:
    ws, line = _ws(tmp_path, setting)
    res = CliRunner().invoke(build_app(), ["audit", "drift", "-w", str(ws)])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert exit_code_for(res.exception) == 2
    assert res.exception.where == f"{ws / 'assetgrade.yaml'}:line {line}:column 3:drift.{key}", res.exception.where
    assert says in res.exception.reason, res.exception.reason


@pytest.mark.parametrize(("written", "read"), [("false", False), ("no", False), ("yes", True), ("True", True)])
def test_true_false_and_yes_no_still_set_the_classifier_test(tmp_path: Path, written: str, read: bool) -> None:
    from assetgrade.lifecycle.sections import drift_policy

    ws, _ = _ws(tmp_path, f"classifier_test: {written}")
    with Workspace.open(ws) as w:
        assert drift_policy(w.config).classifier_test is read


def test_numbers_set_in_code_are_still_taken() -> None:
    pol = DriftPolicy(alpha=1 / 20, n_permutations=100, psi_threshold=1, window=4, classifier_test=False)
    assert (pol.psi_threshold, pol.window, pol.classifier_test) == (1.0, 4, False)
