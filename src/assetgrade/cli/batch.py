"""``assetgrade batch extract|grade|audit``: whole-workspace batch work on a process pool or Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assetgrade.cli.choices import Backend
from assetgrade.cli.console import console, err_console, live_display, styled
from assetgrade.cli.jsonout import json_text
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

__all__ = ["register"]

BACKEND_OPTION = typer.Option("--backend", help="local (a process pool) or ray.")
WORKERS_OPTION = typer.Option("--workers", min=1, help="Worker processes / Ray CPUs, >= 1 (default: the cores).",
                              show_default=False)
RAY_OPTION = typer.Option("--ray-address", help="A running Ray cluster (default: start a local one).",
                          show_default=False)
SHARD_OPTION = typer.Option("--shard-size", min=1,  # judged before the workspace opens and Ray's token is written
                            help="At most this many assets per shard (the unit of work and of resume; shards are"
                                 " cut by id hash, so most hold half to all of it).")
RAY_TEMP_OPTION = typer.Option("--ray-temp-dir", help="Local Ray's session folder (default: WORKSPACE/cache/ray;"
                                " Ray's socket paths need it short).", show_default=False)
MODEL_OPTION = typer.Option("--model", help="Saved grader folder (default: WORKSPACE/models/grader).",
                            show_default=False)


def _run(kind: str, workspace: Path | None, store: str | None, backend: Backend, workers: int | None,
         ray_address: str | None, shard_size: int, model: Path | None, as_json: bool,
         ray_temp_dir: Path | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assetgrade.batch.backends import make_executor
    from assetgrade.batch.jobs import run_batch
    from assetgrade.grading.bundle import INFO_NAME
    from assetgrade.review.suggest import no_grader_error

    with open_workspace(workspace, store) as ws:
        if kind != "audit" and model is None and not (ws.grader_dir / INFO_NAME).exists():
            raise no_grader_error(ws)  # what to label first while train cannot run, as grade and the service say
        executor = make_executor(backend, workers=workers, ray_address=ray_address,
                                 temp_dir=ray_temp_dir or ws.cache_dir / "ray")
        try:
            with Progress(TextColumn(f"batch {kind}"), BarColumn(), MofNCompleteColumn(), TextColumn("shards"),
                          TimeElapsedColumn(), console=err_console, transient=True, disable=not live_display()) as bar:
                task = bar.add_task(kind, total=None)
                rep = run_batch(ws, kind, executor, model_path=model, shard_size=shard_size,
                                progress=lambda done, total: bar.update(task, completed=done, total=total))
        finally:
            executor.close()
    if as_json:
        typer.echo(json_text(rep.to_dict()))
    else:
        n_bad = len({aid for aid, _ in rep.errors})
        console.print(styled("red" if rep.errors else "green", f"batch {kind}",
                             f" on {executor!r}: {rep.n_assets} assets in {rep.n_shards} shards;"
                             f" {rep.shards_done} run, {rep.shards_skipped} already done; {rep.written} written,"
                             f" {rep.skipped_existing} already stored; {n_bad} bad assets; {rep.wall_s:.1f} s"),
                      highlight=False)
        for aid, err in rep.errors[:20]:
            console.print(styled("red", f"  {aid}", f": {err}"), highlight=False)
        if len(rep.errors) > 20:
            console.print(f"  ... and {len(rep.errors) - 20} more (--json lists them all)", highlight=False)
        if rep.errors:
            console.print("  (bad assets leave their shard unmarked: rerun the same command after fixing them)",
                          highlight=False)
    if rep.errors:
        raise typer.Exit(1)  # a bad asset is a failed check


def register(app: typer.Typer) -> None:
    """Add the ``batch`` group."""
    batch = typer.Typer(help="Batch extraction, grading and audits over a whole workspace (resumable).",
                        no_args_is_help=True)

    @batch.command("extract")
    def extract(workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
                store: Annotated[str | None, STORE_OPTION] = None,
                backend: Annotated[Backend, BACKEND_OPTION] = "local",
                workers: Annotated[int | None, WORKERS_OPTION] = None,
                ray_address: Annotated[str | None, RAY_OPTION] = None,
                shard_size: Annotated[int, SHARD_OPTION] = 64,
                model: Annotated[Path | None, MODEL_OPTION] = None,
                ray_temp_dir: Annotated[Path | None, RAY_TEMP_OPTION] = None,
                as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
        """Extract every asset's evidence features with the trained grader into WORKSPACE/cache/features."""
        _run("extract", workspace, store, backend, workers, ray_address, shard_size, model, as_json, ray_temp_dir)

    @batch.command("grade")
    def grade(workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
              store: Annotated[str | None, STORE_OPTION] = None,
              backend: Annotated[Backend, BACKEND_OPTION] = "local",
              workers: Annotated[int | None, WORKERS_OPTION] = None,
              ray_address: Annotated[str | None, RAY_OPTION] = None,
              shard_size: Annotated[int, SHARD_OPTION] = 64,
              model: Annotated[Path | None, MODEL_OPTION] = None,
              ray_temp_dir: Annotated[Path | None, RAY_TEMP_OPTION] = None,
              as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
        """Grade every asset and store the predictions (one per asset, model and inputs; reruns skip)."""
        _run("grade", workspace, store, backend, workers, ray_address, shard_size, model, as_json, ray_temp_dir)

    @batch.command("audit")
    def audit(workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
              store: Annotated[str | None, STORE_OPTION] = None,
              backend: Annotated[Backend, BACKEND_OPTION] = "local",
              workers: Annotated[int | None, WORKERS_OPTION] = None,
              ray_address: Annotated[str | None, RAY_OPTION] = None,
              shard_size: Annotated[int, SHARD_OPTION] = 64,
              ray_temp_dir: Annotated[Path | None, RAY_TEMP_OPTION] = None,
              as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
        """Check every asset's blobs (present, sha256 matches) and images (decodable) shard by shard."""
        _run("audit", workspace, store, backend, workers, ray_address, shard_size, None, as_json, ray_temp_dir)

    app.add_typer(batch, name="batch")
