"""Expected misgrading cost names its currency: ``costs: currency:`` (3 capital letters, ISO 4217), else "cost units".

The cost settings had no currency, so ``assetgrade grade`` and ``explain``, the HTML report and the web UI
showed bare numbers. The setting is checked where the rest of ``costs:`` is (a bad one is named by file, line,
column and key), carried on the cost model, and shown beside every expected cost those places print.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.text_assets import CHF, seed_text_assets
from typer.testing import CliRunner

from assetgrade.cli.app import build_app
from assetgrade.decision import CostConfig
from assetgrade.decision.costs import cost_unit, format_cost
from assetgrade.errors import ValidationError
from assetgrade.grading.assemble import explain_text
from assetgrade.grading.report import render_report
from assetgrade.result import GradeResult
from assetgrade.workspace import Workspace


def _result() -> GradeResult:
    return GradeResult(asset_id="pump-7", probabilities={"A": 0.1, "B": 0.2, "C": 0.6, "D": 0.1}, grade="C",
                       conformal_set=("B", "C"), coverage=0.9, expected_cost=1234.4, decision="review",
                       reasons=("the 2-grade prediction set {B, C} is larger than 1",),
                       expected_costs={"A": 900.0, "B": 450.5, "C": 1234.4, "D": 2000.0})


def test_currency_is_optional_and_kept() -> None:
    assert CostConfig().currency is None
    assert CostConfig.from_dict({"currency": "EUR"}).currency == "EUR"
    assert cost_unit(None) == "cost units" and cost_unit("CHF") == "CHF"
    assert format_cost(1234.4, "EUR") == "1,234 EUR" and format_cost(1234.4, None) == "1,234 cost units"


@pytest.mark.parametrize("bad", ["eur", "EURO", "E1R", "", 978, True, " EUR"])
def test_a_currency_that_is_not_three_capital_letters_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="3 capital letters") as exc:
        CostConfig.from_dict({"currency": bad})
    assert exc.value.where == "config:costs.currency" and repr(bad) in exc.value.reason, exc.value


def test_a_bad_currency_in_the_workspace_config_is_named_by_line_column_and_key(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    cfg = path / "assetgrade.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text + "costs:\n  dispute_cost: 100\n  currency: eur\n", encoding="utf-8")
    line = text.count("\n") + 1 + 2
    with Workspace.open(path) as ws, pytest.raises(ValidationError) as exc:
        ws.costs()
    assert exc.value.where == f"{cfg}:line {line}:column 3:costs.currency", exc.value.where
    assert "3 capital letters" in exc.value.reason and "'eur'" in exc.value.reason


def test_explain_text_names_the_currency() -> None:
    eur = explain_text(_result(), currency="EUR")
    assert "expected misgrading cost: 1,234 EUR (A 900, B 450, C 1,234, D 2,000)" in eur
    assert "expected misgrading cost: 1,234 cost units (" in explain_text(_result())


def test_the_html_report_names_the_currency() -> None:
    html = render_report(_result(), currency="EUR")
    assert "expected misgrading cost <b>1,234</b> EUR" in html and "<th>expected cost (EUR)</th>" in html
    bare = render_report(_result())
    assert "expected misgrading cost <b>1,234</b> cost units" in bare and "<th>expected cost (cost units)</th>" in bare


def test_grade_and_explain_show_the_currency_the_grader_was_trained_with(tmp_path: Path) -> None:
    """A real text Grader trained by ``assetgrade train`` on a workspace whose costs say CHF."""
    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        seed_text_assets(ws)
    cfg = path / "assetgrade.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + CHF, encoding="utf-8")
    run = CliRunner().invoke
    app = build_app()
    res = run(app, ["train", "-w", str(path), "--extractors", "text", "--folds", "2"])
    assert res.exit_code == 0, res.output
    assert "review threshold: " in res.output and " CHF" in res.output
    res = run(app, ["grade", "asset-00", "-w", str(path), "--no-record"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "exp. cost (CHF)" in res.output, res.output
    html = tmp_path / "explain.html"
    res = run(app, ["explain", "asset-00", "-w", str(path), "--html", str(html)])
    assert res.exit_code == 0, res.output
    assert "expected misgrading cost: " in res.output and " CHF (" in res.output, res.output
    assert "<th>expected cost (CHF)</th>" in html.read_text(encoding="utf-8")
