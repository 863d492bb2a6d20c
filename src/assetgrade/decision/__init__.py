"""assetgrade.decision: misgrading costs, the accept/review policy and risk-coverage curves."""

from assetgrade.decision.costs import CostConfig, bayes_grades, cost_matrix, default_prices, expected_costs
from assetgrade.decision.metrics import grade_metrics, quadratic_weighted_kappa
from assetgrade.decision.policy import Decision, DecisionPolicy, ThresholdChoice, select_threshold
from assetgrade.decision.risk import RiskCoverage, accept_rate_at, plot_risk_coverage, risk_coverage

__all__ = [
    "CostConfig",
    "Decision",
    "DecisionPolicy",
    "RiskCoverage",
    "ThresholdChoice",
    "accept_rate_at",
    "bayes_grades",
    "cost_matrix",
    "default_prices",
    "expected_costs",
    "grade_metrics",
    "plot_risk_coverage",
    "quadratic_weighted_kappa",
    "risk_coverage",
    "select_threshold",
]
