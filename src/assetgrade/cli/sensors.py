"""``assetgrade sensors fit-rul``: train a fleet's remaining-life model from a folder of histories and save it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assetgrade.cli.console import err_console, styled

__all__ = ["register"]



def fit_rul(
    histories: Path = typer.Argument(..., help="Folder of series files (.csv, .tsv, .parquet), one unit each."),
    out: Path = typer.Option(..., "--out", help="Folder to write the model to (rul_model.pkl + bundle.json)."),
    end_rul: Path | None = typer.Option(
        None, "--end-rul", help="CSV with columns file,end_rul: life left after each file's last row "
        "(files not listed ran to failure)."
    ),
    cap: float = typer.Option(125.0, help="Cap of the RUL target, in the series' time steps; set it above your "
                              "grades' highest RUL band edge."),
    coverage: float = typer.Option(0.9, help="Nominal coverage of the RUL interval."),
    time_col: str | None = typer.Option(None, "--time-col", help="Time column (default: guessed, as in ingest)."),
    repair: bool = typer.Option(False, "--repair", help="Sort, de-duplicate and interpolate short gaps (as ingest)."),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train the RUL model the Grader's sensors extractor re-uses (``extractor_settings.sensors.rul_model: OUT``)."""
    from assetgrade.cli.grading import status
    from assetgrade.errors import ValidationError
    from assetgrade.grading.fleet_rul import fit_fleet_rul, read_fleet_histories, save_fleet_rul
    from assetgrade.modalities.sensors.health import MIN_HISTORIES

    fleet = read_fleet_histories(histories, end_rul_csv=end_rul, time_col=time_col, repair=repair)
    for err in fleet.errors:
        err_console.print(styled("yellow", "skipped", f" {err}"))
    if len(fleet.frames) < MIN_HISTORIES:
        raise ValidationError(f"{len(fleet.frames)} usable histories in {histories} ({len(fleet.errors)} file(s), "
                              f"row(s) or channel(s) left out, listed above); need at least {MIN_HISTORIES}",
                              where="histories")
    with status("fit-rul") as step:
        model = fit_fleet_rul(fleet, cap=cap, coverage=coverage, seed=seed, progress=step)
    save_fleet_rul(model, out, histories=fleet)
    summary = {
        "out": str(out), "histories": len(fleet.frames), "skipped": len(fleet.errors),
        "stopped_before_failure": sum(1 for e in fleet.end_rul if e > 0), "channels": list(model.channels_),
        "dropped_channels": [*fleet.dropped_channels, *model.dropped_channels_],
        "regimes": int(model.normalizer_.n_regimes_), "cap": cap, "coverage": coverage,
        "fingerprint": model.fingerprint_,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(f"RUL model on {summary['histories']} histories ({summary['stopped_before_failure']} stopped "
                   f"before failure, {summary['skipped']} skipped), {len(model.channels_)} channels, "
                   f"{summary['regimes']} regime(s) -> {out}")


def register(app: typer.Typer) -> None:
    """Add the ``sensors`` command group."""
    group = typer.Typer(help="Sensor models trained outside the Grader (a fleet's remaining-life model).")
    group.command("fit-rul")(fit_rul)
    app.add_typer(group, name="sensors")
