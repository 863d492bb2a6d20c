"""``assetgrade review suggest|requests|withdraw``: which assets to label next, and the open label requests.

``suggest`` ranks the unlabelled assets whose labels would teach the grader most; with
``--enqueue`` it stores them as label requests, which the review UI and API list until a review
of the asset closes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assetgrade.cli.audit import ACTOR, actor_name
from assetgrade.cli.choices import LabelRequestStatus
from assetgrade.cli.console import console
from assetgrade.cli.grading import MODEL_OPTION, status
from assetgrade.cli.jsonout import json_output, write_json
from assetgrade.cli.options import INT64_MAX, valid_seed
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

__all__ = ["register"]

_OPTIONS = {"k": "--k", "strategy": "--strategy", "per_class": "--per-class", "replace": "--replace"}


def suggest(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    model: Annotated[Path | None, MODEL_OPTION] = None,
    k: Annotated[int, typer.Option("--k", help="How many assets to suggest (at least 1).")] = 20,
    strategy: Annotated[str, typer.Option(help="Active-learning strategy (assetgrade.review.selection).")] = (
        "budget_switch"),
    per_class: Annotated[float | None, typer.Option(
        help="budget_switch: labels per grade below which it covers the data (typiclust), above which it follows "
        "the grader's uncertainty (default 10; a finite number >= 0).")] = None,
    seed: Annotated[int, typer.Option(callback=valid_seed(), help="Random seed, 0..2**32-1.")] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the suggestions as JSON here"
                                                  " ('-': stdout, the table then on stderr).",
                                                  callback=json_output())] = None,
    enqueue: Annotated[bool, typer.Option(
        "--enqueue", help="Store the suggestions as label requests (listed in the review UI and API until reviewed).")
    ] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="With --enqueue: withdraw open requests of earlier rounds that this round does not repeat.")
    ] = False,
    actor: Annotated[str | None, ACTOR] = None,
) -> None:
    """Which unlabelled assets to label next, from the trained grader's probabilities and evidence.

    Read-only unless ``--enqueue`` is given.
    """
    from rich.table import Table

    from assetgrade.decision.costs import cost_unit
    from assetgrade.errors import ValidationError
    from assetgrade.review.suggest import label_round

    if replace and not enqueue:
        raise ValidationError("--replace applies with --enqueue only", where="--replace")
    with open_workspace(workspace, store) as ws, status("suggest") as step:
        try:
            rnd = label_round(ws, model=model, k=k, strategy=strategy, per_class=per_class, seed=seed,
                              enqueue=enqueue, replace=replace, requested_by=actor_name(actor), progress=step)
        except ValidationError as exc:  # name the command-line option, not the parameter
            if exc.where not in _OPTIONS:
                raise
            raise ValidationError(exc.reason, where=_OPTIONS[exc.where]) from exc
    if json_path is not None:
        write_json(rnd.as_dict(), json_path)
    rows, report, n_labeled = rnd.suggestions, rnd.enqueued, rnd.labelled
    if not rows:
        stored = "; no label requests stored or withdrawn" if report is not None else ""
        console.print(f"nothing to suggest: {rnd.assets - n_labeled} unlabelled of {rnd.assets} assets{stored}")
        return
    table = Table(title=f"Label next ({strategy}, {n_labeled} of {rnd.assets} assets labelled; "
                  f"chosen by {rows[0].chosen_by})")
    # one grader decided every row, so they share its currency (that of the costs it was trained with)
    for col in ("#", "asset", "grader says", "confidence", "margin", f"expected cost ({cost_unit(rows[0].currency)})"):
        table.add_column(col, justify="right" if col not in ("asset", "grader says") else "left")
    for r in rows:
        table.add_row(str(r.rank), r.asset_id, r.predicted_grade, f"{r.confidence:.2f}", f"{r.margin:.2f}",
                      f"{r.expected_cost:,.0f}")
    console.print(table)
    if report is None:
        console.print("Label them in the review UI (/ui/assets/ASSET_ID) or with POST /api/v1/assets/ASSET_ID/reviews;"
                      " --enqueue stores them as label requests.")
        return
    console.print(f"label requests (round {report.batch_id}): {len(report.added)} added, {len(report.refreshed)} "
                  f"moved into this round, {len(report.withdrawn)} earlier ones withdrawn; listed at /ui/requests and "
                  "GET /api/v1/review/requests until reviewed")
    if report.withdrawn:
        console.print(f"withdrawn (earlier rounds, not repeated): {', '.join(report.withdrawn)}")
    for aid, why in report.skipped.items():
        console.print(f"skipped {aid}: {why}", style="yellow")


def requests(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    status_: Annotated[LabelRequestStatus, typer.Option("--status", help="Requests in this state.")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=INT64_MAX, help="At most this many rows.")] = 50,
    offset: Annotated[int, typer.Option(min=0, max=INT64_MAX, help="Skip this many rows first.")] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the rows as JSON here"
                                                  " ('-': stdout, the table then on stderr).",
                                                  callback=json_output())] = None,
) -> None:
    """The label requests (open ones by default: newest round first, then the strategy's rank)."""
    from rich.table import Table

    from assetgrade.rest.schemas import LabelRequestOut
    from assetgrade.store.requests import list_label_requests

    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        rows, total = list_label_requests(s, status=status_, limit=limit, offset=offset)
        out = [LabelRequestOut.model_validate(r).model_dump(mode="json") for r in rows]  # as GET /review/requests
    if json_path is not None:
        write_json({"status": status_, "total": total, "offset": offset, "requests": out}, json_path)
    table = Table(title=f"Label requests: {status_} ({total})")
    for col in ("asset", "round", "#", "chosen by", "grader says", "requested"):
        table.add_column(col, justify="right" if col == "#" else "left")
    for r in out:
        table.add_row(str(r["asset_id"]), str(r["batch_id"]), str(r["rank"]), str(r["chosen_by"]),
                      str(r["predicted_grade"] or ""), str(r["requested_at"])[:19])
    console.print(table)


def withdraw(
    asset_ids: Annotated[list[str] | None, typer.Argument(help="Assets whose open request to withdraw.")] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    all_: Annotated[bool, typer.Option("--all", help="Withdraw every open request.")] = False,
    actor: Annotated[str | None, ACTOR] = None,
) -> None:
    """Withdraw open label requests (named assets, or ``--all``).

    Named assets without an open request are exit 3 naming them, as ``DELETE
    /api/v1/review/requests/{asset_id}`` answers 404; the others are withdrawn.
    """
    from assetgrade.errors import NotFoundError, ValidationError
    from assetgrade.store.requests import withdraw_label_requests

    if bool(asset_ids) == all_:
        raise ValidationError("name the assets or pass --all (not both)", where="review withdraw")
    with open_workspace(workspace, store) as ws, ws.session() as s:
        done = withdraw_label_requests(s, None if all_ else asset_ids, actor=actor_name(actor))
    missing = sorted(set(asset_ids or []) - set(done))
    console.print(f"withdrew {len(done)} open label request(s)")
    if missing:
        raise NotFoundError(f"no open label request for: {', '.join(missing)} (review requests lists the open ones)")


def register(app: typer.Typer) -> None:
    """Add the ``review`` command group."""
    group = typer.Typer(help="Human review helpers: which assets to label next (active learning), label requests.")
    group.command("suggest")(suggest)
    group.command("requests")(requests)
    group.command("withdraw")(withdraw)
    app.add_typer(group, name="review")
