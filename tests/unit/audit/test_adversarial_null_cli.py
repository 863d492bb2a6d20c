"""``assetgrade bench adversarial-null`` refuses bad settings before it reads any data."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for


@pytest.mark.parametrize("args, needle", [(["--n-fake", "1"], "--n-fake"), (["--n-sets", "0"], "--n-sets"),
                                          (["--alpha", "1"], "--alpha"), (["--n-real", "1"], "--n-real")])
def test_bad_settings_are_refused_naming_the_option(args: list[str], needle: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(build_app(), ["bench", "adversarial-null", *args, "--data-dir", str(tmp_path / "none")])
    assert r.exception is not None and exit_code_for(r.exception) == 2  # type: ignore[arg-type]
    assert needle in str(r.exception)
