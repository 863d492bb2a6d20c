"""``assetgrade bench scale`` (batch grading throughput, scaling, projection) and ``assetgrade bench service``."""

from __future__ import annotations

from pathlib import Path

import typer

from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import SEED_MAX, at_least, interval, positive, valid_seed

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``scale``, ``service`` and ``ui`` to the ``bench`` sub-app."""

    @app.command("scale")
    def bench_scale(
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
        n_assets: int = typer.Option(120, "--assets", callback=at_least(1),
                                     help="linked-sample assets to build and grade"),
        shard_size: int = typer.Option(10, callback=at_least(1), help="assets per shard"),
        extractors: str = typer.Option("sensors,text", help="extractors of the Grader trained for the run"),
        ray: bool = typer.Option(True, "--ray/--no-ray", help="include the 2-worker local Ray run"),
        workspace: Path | None = typer.Option(None, help="grade this workspace's copy instead of building one"),
        model: Path | None = typer.Option(None, help="with --workspace: the saved grader (default: its models/grader)"),
        seed: int = typer.Option(0, callback=valid_seed(), help=f"random seed, in [0, {SEED_MAX}]"),
    ) -> None:
        """Grading throughput on 1 and 2 local workers and Ray (2 workers); efficiency; 10/100-worker projection."""
        from assetgrade.bench.report import write_result
        from assetgrade.bench.scale import check_scale_inputs, run_scale_bench

        check_scale_inputs(shard_size=shard_size, workspace=workspace, model=model)

        res = run_scale_bench(n_assets=n_assets, shard_size=shard_size, seed=seed, with_ray=ray,
                              extractors=tuple(e.strip() for e in extractors.split(",") if e.strip()),
                              workspace=workspace, model=model)
        typer.echo(write_result(res, json_path))

    @app.command("service")
    def bench_service(
        store: str | None = typer.Option(None, "--store", help="store URL (default: SQLite in a fresh workspace)"),
        duration: float = typer.Option(20.0, "--duration", callback=positive(),
                                       help="seconds of load (after a short warm-up)"),
        max_requests: int = typer.Option(50_000, callback=at_least(1), help="stop after this many requests"),
        readers: int = typer.Option(16, callback=at_least(0), help="concurrent readers"),
        reviewers: int = typer.Option(12, callback=at_least(0),
                                      help="concurrent reviewers (read an asset, post a review)"),
        stations: int = typer.Option(4, callback=at_least(0),
                                     help="concurrent stations (telemetry batches and images)"),
        n_assets: int = typer.Option(300, "--assets", callback=at_least(1),
                                     help="assets seeded with a prediction each"),
        workspace: Path | None = typer.Option(None, help="create the workspace here (default: a temp folder)"),
        server_workers: int = typer.Option(2, callback=at_least(1),
                                           help="service worker processes (`assetgrade serve --workers`)"),
        server_threads: int = typer.Option(2, callback=at_least(1),
                                           help="handler threads per service worker (`serve --threads`)"),
        read_rate: float = typer.Option(0.0, callback=interval(0.0),
                                        help="open loop: reader requests per second (Poisson arrivals)"),
        review_rate: float = typer.Option(0.0, callback=interval(0.0),
                                          help="open loop: review cycles (GET asset + POST review) per second"),
        station_rate: float = typer.Option(0.0, callback=interval(0.0),
                                           help="open loop: station posts per second (every 4th an image)"),
        seed: int = typer.Option(0, callback=valid_seed(),
                                 help=f"seed of the arrival times (open loop) and request mixes, in [0, {SEED_MAX}]"),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
    ) -> None:
        """Load a real uvicorn server on 127.0.0.1: throughput, p50/p95/p99, errors, and nothing lost."""
        from assetgrade.bench.report import write_result
        from assetgrade.errors import ValidationError
        from assetgrade.loadtest.bench import run_service_bench
        from assetgrade.loadtest.load import LoadConfig

        if readers + reviewers + stations == 0 and read_rate == review_rate == station_rate == 0:
            raise ValidationError("no load: give at least one reader, reviewer or station (closed loop) or a "
                                  "--read-rate/--review-rate/--station-rate (open loop)", where="--readers")
        cfg = LoadConfig(readers=readers, reviewers=reviewers, stations=stations, duration_s=duration,
                         max_requests=max_requests, read_rate=read_rate, review_rate=review_rate,
                         station_rate=station_rate, seed=seed)
        res = run_service_bench(store_url=store, workspace=workspace, n_assets=n_assets, cfg=cfg,
                                server_workers=server_workers, server_threads=server_threads)
        typer.echo(write_result(res, json_path))

    @app.command("grade-api")
    def bench_grade_api(
        workspace: Path = typer.Option(Path("demo-workspace"), "--workspace", "-w",
                                       help="a workspace with a trained grader (default: the one `make demo` builds); "
                                       "a copy is graded, never the workspace itself"),
        n_assets: int = typer.Option(30, "--assets", callback=at_least(1), help="assets to grade, first by id"),
        threads: int = typer.Option(4, callback=at_least(1), help="handler threads of the service (`serve --threads`)"),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
    ) -> None:
        """Time POST /api/v1/assets/{id}/grade on a copy of the workspace: cold, then again from the evidence store."""
        from assetgrade.bench.report import write_result
        from assetgrade.loadtest.grade_bench import run_grade_api_bench

        typer.echo(write_result(run_grade_api_bench(workspace, n_assets=n_assets, threads=threads), json_path))

    @app.command("ui")
    def bench_ui(
        workspace: Path = typer.Option(Path("demo-workspace"), "--workspace", "-w",
                                       help="a graded workspace (default: the one `make demo` builds)"),
        n_assets: int = typer.Option(50, "--assets", callback=at_least(1),
                                     help="asset pages to time (queued assets first)"),
        threads: int = typer.Option(4, callback=at_least(1), help="handler threads of the service (`serve --threads`)"),
        json_path: Path | None = typer.Option(None, "--json", help="also write the JSON result here ('-': stdout only)",
                                               callback=json_output(printed_anyway=True)),
    ) -> None:
        """Time the review UI's asset page (document, handler, and with its images) on a graded workspace."""
        from assetgrade.bench.report import write_result
        from assetgrade.loadtest.ui_bench import run_ui_bench

        typer.echo(write_result(run_ui_bench(workspace, n_assets=n_assets, threads=threads), json_path))
