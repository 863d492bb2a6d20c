"""assetgrade.decision: misgrading costs, the accept/review policy and risk-coverage curves."""

from assetgrade.decision.costs import CostConfig, cost_matrix, expected_costs
from assetgrade.decision.policy import Decision, DecisionPolicy, ThresholdChoice, select_threshold
from assetgrade.decision.risk import RiskCoverage, accept_rate_at, plot_risk_coverage, risk_coverage

__all__ = [
    "CostConfig",
    "Decision",
    "DecisionPolicy",
    "RiskCoverage",
    "ThresholdChoice",
    "accept_rate_at",
    "cost_matrix",
    "expected_costs",
    "plot_risk_coverage",
    "risk_coverage",
    "select_threshold",
]
