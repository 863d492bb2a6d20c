"""Out-of-fold evaluation of a trained Grader: the figures as a table, and reliability / risk-coverage PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rich.table import Table

    from assetgrade.grader import Grader

__all__ = ["METRIC_COLUMNS", "evaluation_plots", "metrics_table", "own_label_line", "summary_metrics"]

METRIC_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("accuracy", "accuracy", "{:.3f}"),
    ("qwk", "QWK", "{:.3f}"),
    ("ece", "ECE", "{:.3f}"),
    ("ece_debiased_high", "ECE ≤ (90%)", "{:.3f}"),
    ("coverage", "coverage", "{:.3f}"),
    ("mean_set_size", "set size", "{:.2f}"),
    ("expected_cost", "exp. cost/asset", "{:,.0f}"),
    ("realised_cost", "real. cost/asset", "{:,.0f}"),
    ("accept_rate_at_error", "accept@≤2% err", "{:.1%}"),
    ("auto_accept_rate", "policy accept", "{:.1%}"),
    ("accepted_error", "err. accepted", "{:.1%}"),
)


def summary_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline figures only (no nested per-modality dicts)."""
    return {k: v for k, v in metrics.items() if not isinstance(v, dict)}


def metrics_table(metrics: dict[str, Any], *, title: str = "Out-of-fold figures") -> Table:
    """A rich table: the fused grader and each single modality, one row each."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("model")
    bound = metrics.get("max_error")  # accept_rate_at_error is measured at the grader's max_error, not always 2%
    for key, head, _ in METRIC_COLUMNS:
        if key == "accept_rate_at_error" and isinstance(bound, float):
            head = f"accept@≤{round(100 * bound, 6):g}% err"
        table.add_column(head, justify="right")
    rows = [("fused", metrics)] + [(f"{m} only", v) for m, v in metrics.get("per_modality", {}).items()]
    for name, m in rows:
        cells = []
        for key, _, fmt in METRIC_COLUMNS:
            v = m.get(key)
            cells.append("–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else fmt.format(v))
        table.add_row(name, *cells)
    return table


def own_label_line(per_modality: dict[str, dict[str, Any]]) -> str | None:
    """One line: each extractor's out-of-fold accuracy on the label it learned (None when none was measured).

    The "X only" rows grade the *asset* from one modality; when the grade needs several modalities
    they stay low even if the extractor reads its own modality well, which this line shows.
    """
    parts = [f"{m} {v['extractor_accuracy_on_own_label']:.1%}" for m, v in per_modality.items()
             if v.get("extractor_accuracy_on_own_label") is not None]
    if not parts:
        return None
    return ("each extractor on the label it learned (out-of-fold accuracy): " + ", ".join(parts)
            + "; an 'only' row grades the asset from that one modality")


def evaluation_plots(grader: Grader, out_dir: Path) -> dict[str, Path]:
    """Reliability diagram and risk-coverage curves (out-of-fold); the fusion table too with latent fusion."""
    from assetgrade.decision import cost_matrix, plot_risk_coverage, risk_coverage
    from assetgrade.decision.costs import cost_unit
    from assetgrade.fusion import reliability_diagram

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    oof = grader.oof_
    C = cost_matrix(grader.costs_, None)
    rel = reliability_diagram(oof["proba"], oof["y"], out_dir / "reliability.png",
                              title=f"Reliability (out-of-fold, {grader.calibration_})")
    curves = {"fused": risk_coverage(oof["proba"], oof["y"], cost=C)}
    rc = plot_risk_coverage(curves, out_dir / "risk_coverage.png", max_error=grader.max_error,
                            title="Risk-coverage (out-of-fold)", cost_unit=cost_unit(grader.currency_))
    out = {"reliability": Path(rel), "risk_coverage": Path(rc)}
    table = grader.plot_fusion_table(out_dir / "fusion_table.png")
    if table is not None:
        out["fusion_table"] = table
    return out
