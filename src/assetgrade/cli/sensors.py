"""``assetgrade sensors fit-rul``: train a fleet's remaining-life model from a folder of histories and save it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assetgrade.cli.choices import NumericTime
from assetgrade.cli.console import err_console, styled
from assetgrade.cli.jsonout import json_text
from assetgrade.cli.options import SEED_MAX, input_file, input_folder, interval, positive, valid_seed
from assetgrade.errors import ValidationError

__all__ = ["register"]


def _option(param: typer.CallbackParam) -> str:
    return str(max(param.opts or ["option"], key=len))


def _out_folder(param: typer.CallbackParam, value: Path) -> Path:
    """``--out`` must name a folder that can be created, or an existing one not holding another kind of bundle."""
    from assetgrade.grading.bundle import INFO_NAME
    from assetgrade.grading.fleet_rul import RUL_BUNDLE_KIND

    where = _option(param)
    up = Path(value)
    while not up.exists() and up != up.parent:
        up = up.parent
    if up.exists() and not up.is_dir():
        what = "is" if up == Path(value) else f"is inside {up}, which is"
        raise ValidationError(f"{value} {what} a file; name a new folder or one holding a saved RUL model",
                              where=where)
    info = Path(value) / INFO_NAME
    if info.is_file():
        try:
            kind = json.loads(info.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
        if kind != RUL_BUNDLE_KIND:
            raise ValidationError(f"{value} holds a saved {kind or 'unreadable'!r} bundle, not a RUL model; "
                                  "name a new folder (it would be overwritten)", where=where)
    return value


def _histories_folder(param: typer.CallbackParam, value: Path) -> Path:
    """``HISTORIES`` must be a folder holding at least one series file, else bad input (exit 2) naming the folder
    and what was looked for, before any work (:func:`~assetgrade.grading.fleet_rul.series_files`)."""
    from assetgrade.grading.fleet_rul import series_files

    series_files(Path(input_folder("folder of series files")(param, value)), where="HISTORIES")
    return value


def fit_rul(
    histories: Path = typer.Argument(..., help="Folder of series files (.csv, .tsv, .parquet), one unit each.",
                                     callback=_histories_folder),
    out: Path = typer.Option(..., "--out", callback=_out_folder,
                             help="Folder to write the model to (rul_model.pkl + bundle.json)."),
    end_rul: Path | None = typer.Option(
        None, "--end-rul", help="CSV with columns file,end_rul: life left after each file's last row "
        "(files not listed ran to failure).", callback=input_file("CSV file")
    ),
    cap: float = typer.Option(125.0, callback=positive(),
                              help="Cap of the RUL target (> 0), in the series' time steps; set it above your "
                              "grades' highest RUL band edge."),
    coverage: float = typer.Option(0.9, callback=interval(0.0, 1.0, low_open=True, high_open=True),
                                   help="Nominal coverage of the RUL interval, in (0, 1)."),
    time_col: str | None = typer.Option(None, "--time-col", help="Time column (default: guessed, as in ingest)."),
    repair: bool = typer.Option(False, "--repair", help="Sort, de-duplicate and interpolate short gaps (as ingest)."),
    numeric_time: NumericTime = typer.Option("auto", "--numeric-time", help="How a numeric time column is read"
                                             " (as ingest series; give the same as for the assets' series)."),
    seed: int = typer.Option(0, callback=valid_seed(), help=f"Random seed, in [0, {SEED_MAX}]."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train the RUL model the Grader's sensors extractor re-uses (``extractor_settings.sensors.rul_model: OUT``)."""
    from assetgrade.cli.grading import status
    from assetgrade.grading.fleet_rul import fit_fleet_rul, read_fleet_histories, save_fleet_rul
    from assetgrade.modalities.sensors.health import MIN_HISTORIES

    fleet = read_fleet_histories(histories, end_rul_csv=end_rul, time_col=time_col, repair=repair,
                                 numeric_time=numeric_time)
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
        "row_step": None if model.row_time_ is None else model.row_time_.describe(),
    }
    if as_json:
        typer.echo(json_text(summary))
    else:
        typer.echo(f"RUL model on {summary['histories']} histories ({summary['stopped_before_failure']} stopped "
                   f"before failure, {summary['skipped']} skipped), {len(model.channels_)} channels, "
                   f"{summary['regimes']} regime(s) -> {out}")
        if model.row_time_ is not None:
            typer.echo(f"one row every {summary['row_step']}: remaining life is counted in such rows, and a series "
                       "sampled more than 1.5 times faster or slower gets none (flagged)")


def register(app: typer.Typer) -> None:
    """Add the ``sensors`` command group."""
    group = typer.Typer(help="Sensor models trained outside the Grader (a fleet's remaining-life model).")
    group.command("fit-rul")(fit_rul)
    app.add_typer(group, name="sensors")
