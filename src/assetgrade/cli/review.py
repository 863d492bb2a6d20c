"""``assetgrade review suggest``: the unlabelled assets whose labels would teach the grader most, best first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assetgrade.cli.grading import MODEL_OPTION, default_model_path, status
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

__all__ = ["register"]

console = Console()


def suggest(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    model: Annotated[Path | None, MODEL_OPTION] = None,
    k: Annotated[int, typer.Option("--k", help="How many assets to suggest.")] = 20,
    strategy: Annotated[str, typer.Option(help="Active-learning strategy (assetgrade.review.selection).")] = (
        "budget_switch"),
    per_class: Annotated[float | None, typer.Option(
        help="budget_switch: labels per grade below which it covers the data (typiclust), above which it follows "
        "the grader's uncertainty (default 10).")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the suggestions as JSON here.")] = None,
) -> None:
    """Which unlabelled assets to label next, from the trained grader's probabilities and evidence (read-only)."""
    from rich.table import Table

    from assetgrade.errors import ValidationError
    from assetgrade.grader import Grader
    from assetgrade.review.suggest import suggest_labels
    from assetgrade.store.loading import load_records

    params: dict[str, float] = {}
    if per_class is not None:
        if strategy != "budget_switch":
            raise ValidationError("--per-class applies to --strategy budget_switch only", where="--per-class")
        params["per_class"] = per_class
    with open_workspace(workspace, store) as ws:
        grader = Grader.load(model or default_model_path(ws))
        records = load_records(ws)
        with status("suggest") as step:
            rows = suggest_labels(grader, records, k=k, strategy=strategy, seed=seed, params=params, progress=step)
    n_labeled = sum(r.grade is not None for r in records)
    body = {"strategy": strategy, "seed": seed, "labelled": n_labeled, "assets": len(records),
            "model_version": grader.version_, "suggestions": [r.as_dict() for r in rows]}
    if json_path is not None:
        json_path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    if not rows:
        console.print(f"nothing to suggest: {len(records) - n_labeled} unlabelled of {len(records)} assets")
        return
    table = Table(title=f"Label next ({strategy}, {n_labeled} of {len(records)} assets labelled; "
                  f"chosen by {rows[0].chosen_by})")
    for col in ("#", "asset", "grader says", "confidence", "margin", "expected cost"):
        table.add_column(col, justify="right" if col not in ("asset", "grader says") else "left")
    for r in rows:
        table.add_row(str(r.rank), r.asset_id, r.predicted_grade, f"{r.confidence:.2f}", f"{r.margin:.2f}",
                      f"{r.expected_cost:,.0f}")
    console.print(table)
    console.print("Label them in the review UI (/ui/assets/ASSET_ID) or with POST /api/v1/assets/ASSET_ID/reviews.")


def register(app: typer.Typer) -> None:
    """Add the ``review`` command group."""
    group = typer.Typer(help="Human review helpers: which assets to label next (active learning).")
    group.command("suggest")(suggest)
    app.add_typer(group, name="review")
