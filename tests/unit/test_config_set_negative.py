"""``assetgrade config set KEY -3``: a negative number is a value, not an unknown option ``-3`` (which needed
``--`` before it); a misspelt option is still refused, never written as a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.config import load_config
from assetgrade.errors import ValidationError
from assetgrade.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    Workspace.init(tmp_path / "ws").close()
    return tmp_path / "ws"


@pytest.mark.parametrize(("value", "read"), [("-3", -3), ("-2.5", -2.5), ("-1e3", -1000.0), ("-.5", -0.5),
                                             ("-.inf", float("-inf")), ("-0", 0)])
def test_a_negative_number_is_a_value(ws: Path, value: str, read: float) -> None:
    for args in (["config", "set", "team.offset", value, "-w", str(ws)],      # options after the value
                 ["config", "set", "-w", str(ws), "team.offset", value]):     # or before it
        res = CliRunner().invoke(build_app(), args)
        assert res.exit_code == 0, res.output
        assert load_config(ws / "assetgrade.yaml").section("team") == {"offset": read}


def test_with_string_a_negative_number_stays_text(ws: Path) -> None:
    res = CliRunner().invoke(build_app(), ["config", "set", "team.code", "-3", "--string", "-w", str(ws)])
    assert res.exit_code == 0, res.output
    assert load_config(ws / "assetgrade.yaml").section("team") == {"code": "-3"}
    res = CliRunner().invoke(build_app(), ["config", "set", "--string", "-w", str(ws), "team.code", "--", "-x-"])
    assert res.exit_code == 0, res.output
    assert load_config(ws / "assetgrade.yaml").section("team") == {"code": "-x-"}


@pytest.mark.parametrize("args", [["team.x", "--strnig"], ["team.x", "-q"], ["--strnig", "team.x"]])
def test_a_misspelt_option_is_refused_not_written(ws: Path, args: list[str]) -> None:
    before = (ws / "assetgrade.yaml").read_text(encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["config", "set", *args, "-w", str(ws)])
    if isinstance(res.exception, ValidationError):  # our message, or Click's "No such option" (usage error, 2)
        code, said = exit_code_for(res.exception), str(res.exception)
    else:
        code, said = res.exit_code, res.output
    token = next(a for a in args if a.startswith("-"))
    assert code == 2 and token in said and "option" in said, said
    assert (ws / "assetgrade.yaml").read_text(encoding="utf-8") == before


def test_help_still_works(ws: Path) -> None:
    res = CliRunner().invoke(build_app(), ["config", "set", "--help"])
    assert res.exit_code == 0 and "--string" in res.output and "negative" in res.output, res.output
    res = CliRunner().invoke(build_app(), ["config", "set", "team.x", "3", "--help"])
    assert res.exit_code == 0 and "--string" in res.output
    assert "team" not in load_config(ws / "assetgrade.yaml").model_extra  # type: ignore[operator]
