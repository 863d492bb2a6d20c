"""``assetgrade bench sensors``: remaining useful life on a C-MAPSS sub-set, one JSON object and a PNG."""

from __future__ import annotations

from pathlib import Path

import typer

from assetgrade.cli.choices import SensorsDataset
from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import SEED_MAX, at_least, interval, output_file, plot_beside, positive, valid_seed

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the sensors benchmark to the ``bench`` sub-app."""

    @app.command("sensors")
    def bench_sensors(
        dataset: SensorsDataset = typer.Option("cmapss", help="data set", case_sensitive=False),
        subset: str = typer.Option("FD001", help="C-MAPSS sub-set: FD001, FD002, ... (original file names)"),
        data_dir: Path | None = typer.Option(
            None, help="folder with train_FDxxx.txt[.gz], test_FDxxx.txt[.gz], RUL_FDxxx.txt[.gz]"
        ),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        png: Path | None = typer.Option(None, help="PNG of predicted vs true RUL (default: beside --json, else none)",
                                        callback=output_file()),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
        coverage: float = typer.Option(0.9, callback=interval(0.0, 1.0, low_open=True, high_open=True),
                                       help="nominal coverage of the RUL interval, in (0, 1)"),
        n_estimators: int = typer.Option(300, callback=at_least(1),
                                         help="LightGBM trees per model (point, lower, upper)"),
        learning_rate: float = typer.Option(0.06, callback=positive(), help="LightGBM learning rate (> 0)"),
        jobs: int = typer.Option(1, callback=at_least(1),
                                 help="LightGBM threads (1 is fastest on a busy shared machine)"),
    ) -> None:
        """Train RUL on the training units, score the last cycle of every test unit (capped 125)."""
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from assetgrade.bench.report import write_result
        from assetgrade.bench.sensors import run_sensors_benchmark

        png = plot_beside(json_path, png)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task(f"C-MAPSS {subset}: loading")

            def step(msg: str) -> None:
                bar.update(task, description=f"C-MAPSS {subset}: {msg}")

            result = run_sensors_benchmark(
                dataset=dataset,
                subset=subset,
                data_dir=data_dir,
                seed=seed,
                coverage=coverage,
                n_estimators=n_estimators,
                learning_rate=learning_rate,
                n_jobs=jobs,
                png=png,
                progress=step,
            )
        typer.echo(write_result(result, json_path))
