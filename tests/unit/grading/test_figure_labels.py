"""Labels of the figures shown to users say the settings in force: the error bound and the set coverage."""

from __future__ import annotations

from rich.console import Console

from assetgrade.grading.evaluate import metrics_table
from assetgrade.grading.report import render_report
from assetgrade.result import GradeResult


def _headers(metrics: dict[str, object]) -> list[str]:
    return [str(c.header) for c in metrics_table(metrics).columns]


def test_metrics_table_names_the_graders_error_bound() -> None:
    # accept_rate_at_error is measured at the grader's max_error; the header said 2% whatever it was
    heads = _headers({"accuracy": 0.8, "accept_rate_at_error": 0.3, "max_error": 0.05})
    assert "accept@≤5% err" in heads
    assert not any("2%" in h for h in heads)
    assert "accept@≤1.5% err" in _headers({"accept_rate_at_error": 0.3, "max_error": 0.015})
    assert "accept@≤2% err" in _headers({"accept_rate_at_error": 0.3, "max_error": 0.02})
    text = Console(width=400, record=True)
    text.print(metrics_table({"accept_rate_at_error": 0.25, "max_error": 0.07}))
    shown = text.export_text()
    assert "accept@≤7% err" in shown and "25.0%" in shown


def test_report_states_the_coverage_it_was_given() -> None:
    # '%d' % (0.975 * 100) printed 97, and '%d' % (0.57 * 100) printed 56 (56.99999999999999)
    for coverage, shown in ((0.975, "97.5% prediction set"), (0.57, "57% prediction set"),
                            (0.9, "90% prediction set")):
        r = GradeResult(asset_id="pump-7", probabilities={"A": 0.7, "B": 0.2, "C": 0.1, "D": 0.0}, grade="A",
                        conformal_set=("A", "B"), coverage=coverage, expected_cost=12.5, decision="review",
                        reasons=("conformal set has 2 grades",))
        assert shown in render_report(r)
