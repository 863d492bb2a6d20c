"""``assetgrade review suggest``'s table names the currency of its expected cost column, as ``grade``'s does.

298b66c named it in ``grade``'s table ("exp. cost (EUR)") and bfa3f94 in ``suggest --json``; the suggest table
still headed bare amounts "expected cost". It now reads "expected cost (CHF)", or "(cost units)" when the costs
the grader was trained with name no currency.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app


@pytest.mark.parametrize(("costs", "unit"), [("costs:\n  currency: CHF\n", "CHF"), ("", "cost units")])
def test_the_suggest_table_names_the_currency_of_its_expected_costs(
    tmp_path: Path, costs: str, unit: str, text_workspace_copy: Callable[..., Path]
) -> None:
    # a text grader trained by ``assetgrade train`` with ``costs`` appended to the config, four assets unlabelled
    path = text_workspace_copy(tmp_path / "ws", costs, unlabelled=4)
    res = CliRunner().invoke(build_app(), ["review", "suggest", "-w", str(path), "--k", "3"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert f"expected cost ({unit})" in res.output, res.output
