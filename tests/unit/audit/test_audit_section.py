"""The config's ``audit:`` section read by :func:`~assetgrade.lifecycle.sections.audit_section`: every problem named
at its own key (a bad check setting was named at the check, its message repeating the setting's name), and the
audit switches (``real_only``, ``ordinal``, ``count_augmented``) take what the config's other yes/no settings take
(``YesNo``: true/false or the words yes/no), in the file and on ``--set`` (they took true/false only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from typer.testing import CliRunner

from assetgrade.audit.params import Flag, Interval, SettingConstraint, validate_settings
from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.config import ConfigError, YesNo
from assetgrade.errors import ValidationError
from assetgrade.workspace import Workspace

from .test_audit_hostile_cli import make_ws


def _with_audit(ws: Path, tail: str) -> int:
    """Append ``tail`` to the workspace's config; the 1-based line ``tail`` starts on."""
    cfg = ws / "assetgrade.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text + tail, encoding="utf-8")
    return text.count("\n") + 1


def _empty_ws(tmp_path: Path, tail: str) -> tuple[Path, int]:
    Workspace.init(tmp_path / "ws").close()
    return tmp_path / "ws", _with_audit(tmp_path / "ws", tail)


def _section(ws: Path) -> Any:
    from assetgrade.lifecycle.sections import audit_section

    with Workspace.open(ws) as w:
        return audit_section(w.config)


# (a) one reader of the section, used by `assetgrade audit`

def test_audit_section_reads_the_checks_and_their_settings(tmp_path: Path) -> None:
    ws, _ = _empty_ws(tmp_path, "audit:\n  checks: [imbalance, duplicates]\n  settings:\n"
                                "    duplicates: {min_cosine: 0.9}\n    imbalance: {real_only: false}\n")
    got = _section(ws)
    assert got.checks == ("imbalance", "duplicates")
    assert got.settings == {"duplicates": {"min_cosine": 0.9}, "imbalance": {"real_only": False}}


def test_audit_section_without_a_section_sets_nothing(tmp_path: Path) -> None:
    ws, _ = _empty_ws(tmp_path, "")
    got = _section(ws)
    assert (got.checks, got.settings) == (None, {})


def test_audit_section_raises_every_problem_of_the_section_at_its_line(tmp_path: Path) -> None:
    ws, line = _empty_ws(tmp_path, "audit:\n  checks: [duplicats]\n  settings:\n    imbalance:\n"
                                   "      min_ratio: 2\n      real_only: 1\n")
    cfg = ws / "assetgrade.yaml"
    with pytest.raises(ConfigError) as exc:
        _section(ws)
    assert [p.key for p in exc.value.problems] == [("audit", "checks"),
                                                   ("audit", "settings", "imbalance", "min_ratio"),
                                                   ("audit", "settings", "imbalance", "real_only")]
    assert exc.value.where == f"{cfg}:line {line + 1}:column 3:audit.checks"
    said = str(exc.value)
    assert f"{cfg}:line {line + 4}:column 7:audit.settings.imbalance.min_ratio: 2 is not allowed" in said, said
    assert f"{cfg}:line {line + 5}:column 7:audit.settings.imbalance.real_only: 1 is not allowed" in said, said


# (b) a bad check setting is named at its own key, its message stated once

BAD_SETTINGS = [  # (the check's settings, the bad setting's line below `audit:`, its key, the whole reason)
    ("    duplicates:\n      min_cosine: 2\n", 3, "duplicates.min_cosine",
     "2 is not allowed; expected a number in [-1, 1]"),
    ("    imbalance:\n      min_ratio: 0.2\n      real_only: 1\n", 4, "imbalance.real_only",
     "1 is not allowed; expected true or false (or yes / no)"),
    ("    coverage:\n      by: label\n", 3, "coverage.by", "'label' is not allowed; expected a non-empty list of "
                                                          "column names"),
    ("    imbalance:\n      min_ration: 0.2\n", 3, "imbalance.min_ration",
     "unknown key; known: ['min_ratio', 'real_only']"),
]


@pytest.mark.parametrize(("settings", "down", "key", "reason"), BAD_SETTINGS)
def test_a_bad_check_setting_is_named_at_its_own_key(tmp_path: Path, settings: str, down: int, key: str,
                                                     reason: str) -> None:
    ws, line = _empty_ws(tmp_path, f"audit:\n  settings:\n{settings}")
    where = f"{ws / 'assetgrade.yaml'}:line {line + down}:column 7:audit.settings.{key}"
    res = CliRunner().invoke(build_app(), ["audit", "-w", str(ws)])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert exit_code_for(res.exception) == 2 and res.exception.where == where, res.exception.where
    setting = key.rpartition(".")[2]
    assert setting not in res.exception.reason, res.exception.reason  # the key says which setting, once
    assert res.exception.reason == reason
    res = CliRunner().invoke(build_app(), ["config", "check", "-w", str(ws)])  # config check names it the same way
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{where}: {reason}" in said, said


def test_config_check_names_each_bad_setting_of_a_check(tmp_path: Path) -> None:
    ws, line = _empty_ws(tmp_path, "audit:\n  settings:\n    duplicates:\n      min_cosine: 2\n"
                                   "      phash_max_distance: 65\n")
    res = CliRunner().invoke(build_app(), ["config", "check", "-w", str(ws)])
    said = " ".join(res.output.split())
    cfg = ws / "assetgrade.yaml"
    assert res.exit_code == 2, said
    assert f"{cfg}:line {line + 3}:column 7:audit.settings.duplicates.min_cosine: 2 is not allowed" in said, said
    assert (f"{cfg}:line {line + 4}:column 7:audit.settings.duplicates.phash_max_distance: 65 is not allowed"
            in said), said


# (c) the audit switches take what YesNo takes

SWITCH_VALUES: list[Any] = [True, False, "yes", "no", "YES", "No", "on", "off", "true", "false", 1, 0, None, "y"]


def _yes_no(value: Any) -> bool | None:
    """What the config's yes/no settings read ``value`` as; None: refused."""
    try:
        return TypeAdapter(YesNo).validate_python(value)
    except PydanticValidationError:
        return None


@pytest.mark.parametrize("value", SWITCH_VALUES)
@pytest.mark.parametrize(("check", "switch"), [("imbalance", "real_only"), ("label_noise", "ordinal"),
                                               ("synthetic_share", "count_augmented")])
def test_an_audit_switch_in_the_config_takes_what_yes_no_takes(tmp_path: Path, check: str, switch: str,
                                                               value: Any) -> None:
    ws, line = _empty_ws(tmp_path, f"audit:\n  settings:\n    {check}:\n      {switch}: {json.dumps(value)}\n")
    expected = _yes_no(value)
    if expected is None:
        with pytest.raises(ConfigError) as exc:
            _section(ws)
        assert exc.value.where == f"{ws / 'assetgrade.yaml'}:line {line + 3}:column 7:audit.settings.{check}.{switch}"
        assert exc.value.reason == f"{value!r} is not allowed; expected true or false (or yes / no)"
    else:
        assert _section(ws).settings[check][switch] is expected


def test_the_yes_no_words_set_a_switch_in_the_file(tmp_path: Path) -> None:
    ws = make_ws(tmp_path / "ws", n=8, synthetic=[0, 2, 4])
    _with_audit(ws, "audit:\n  checks: [imbalance]\n  settings:\n    imbalance:\n      real_only: no\n")
    res = CliRunner().invoke(build_app(), ["audit", "-w", str(ws), "--json", "-"])
    assert res.exception is None or isinstance(res.exception, SystemExit), (res.exception, res.output)
    report = json.loads(res.stdout[res.stdout.index("{"):res.stdout.rindex("}") + 1])
    info = report["checks"]["imbalance"]["info"]
    assert info["real_only"] is False and info["counts"] == {"A": 4, "C": 4}, info  # synthetic pumps counted


@pytest.mark.parametrize(("written", "read"), [("no", False), ("yes", True), ("false", False), ("NO", False)])
def test_the_yes_no_words_set_a_switch_on_the_command_line(tmp_path: Path, written: str, read: bool) -> None:
    ws = make_ws(tmp_path / "ws", n=8, synthetic=[0, 2, 4])
    res = CliRunner().invoke(build_app(), ["audit", "-w", str(ws), "--checks", "imbalance", "--json", "-",
                                           "--set", f"imbalance.real_only={written}"])
    assert res.exception is None or isinstance(res.exception, SystemExit), (res.exception, res.output)
    report = json.loads(res.stdout[res.stdout.index("{"):res.stdout.rindex("}") + 1])
    info = report["checks"]["imbalance"]["info"]
    assert info["real_only"] is read
    assert info["counts"] == ({"A": 4, "C": 4} if not read else {"A": 1, "C": 4}), info


@pytest.mark.parametrize("written", ["1", "on", "maybe", "2.0"])
def test_a_switch_on_the_command_line_that_is_not_yes_or_no_is_refused(tmp_path: Path, written: str) -> None:
    ws, _ = _empty_ws(tmp_path, "")
    res = CliRunner().invoke(build_app(), ["audit", "-w", str(ws), "--set", f"imbalance.real_only={written}"])
    assert isinstance(res.exception, ValidationError), (res.exception, res.output)
    assert res.exception.where in ("imbalance.real_only", "--set"), res.exception.where
    assert "assetgrade.yaml" not in str(res.exception)


class _NeedsLevel:
    """A plug-in check that cannot be built without a setting, with a switch of its own."""

    name = "needs_level"
    _constraints: ClassVar[dict[str, SettingConstraint]] = {"level": Interval(0, 9, integer=True), "loud": Flag()}

    def __init__(self, *, level: int, loud: bool = False) -> None:
        validate_settings(self.name, self._constraints, level=level, loud=loud)
        self.level, self.loud = level, loud


def test_a_plug_in_check_that_needs_a_setting_is_read_and_judged_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from assetgrade.audit.base import _REGISTRY
    from assetgrade.config import WorkspaceConfig
    from assetgrade.lifecycle.sections import audit_section

    monkeypatch.setitem(_REGISTRY, "needs_level", _NeedsLevel)

    def read(settings: dict[str, Any]) -> Any:
        return audit_section(WorkspaceConfig.model_validate({"audit": {"settings": {"needs_level": settings}}}))

    assert read({"level": 3, "loud": "yes"}).settings == {"needs_level": {"level": 3, "loud": True}}
    with pytest.raises(ConfigError) as exc:
        read({"loud": "on", "level": 12, "lvel": 1})
    assert [(p.key[-1], p.reason) for p in exc.value.problems] == [
        ("loud", "'on' is not allowed; expected true or false (or yes / no)"),
        ("level", "12 is not allowed; expected an integer in [0, 9]"),
        ("lvel", "unknown key; known: ['level', 'loud']"),
    ]  # not also that level is missing, once it was refused
    with pytest.raises(ConfigError) as exc:
        read({"loud": True})
    ((key, reason),) = [(p.key, p.reason) for p in exc.value.problems]
    assert key == ("audit", "settings", "needs_level") and "missing 1 required keyword-only argument: 'level'" in reason
