"""``assetgrade train | grade | explain | evaluate``: train the Grader on a workspace, grade, explain, evaluate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from assetgrade.cli.console import console, err_console, live_display, styled
from assetgrade.cli.jsonout import json_output, json_text, to_stdout, write_json
from assetgrade.cli.options import output_file, output_folder
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

if TYPE_CHECKING:
    from assetgrade.grader import Grader
    from assetgrade.result import GradeResult
    from assetgrade.store.records import AssetRecord
    from assetgrade.workspace import Workspace

__all__ = ["default_model_path", "register", "status"]

T = TypeVar("T")
U = TypeVar("U")

MODEL_OPTION = typer.Option("--model", help="Saved grader folder (default: WORKSPACE/models/grader).",
                            show_default=False)
EXTRACTORS_OPTION = typer.Option("--extractors", help="Comma-separated extractor names.")


def default_model_path(ws: Workspace) -> Path:
    """Where ``assetgrade train`` saves the grader of a workspace."""
    return ws.grader_dir


@contextmanager
def status(label: str) -> Iterator[Callable[[str], None]]:
    """A transient spinner with elapsed time on stderr (a terminal only); yields a callback that updates its text."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not live_display()) as bar:
        task = bar.add_task(label)
        yield lambda msg: bar.update(task, description=f"{label}: {msg}")


def _make_grader(ws: Workspace, folds: int | None, seed: int | None, coverage: float | None,
                 extractors: str | None) -> Grader:
    """A Grader from the workspace's ``grader:`` (and ``policy:``) settings, with the CLI options given on top."""
    from assetgrade.grader_factory import workspace_grader
    from assetgrade.grader_settings import shadowed_policy

    chosen = None if extractors is None else [e.strip() for e in extractors.split(",") if e.strip()]
    for line in shadowed_policy(ws.config, ignore=() if coverage is None else ("coverage",)):
        console.print(styled("yellow", "note:", f" {line}"), highlight=False)
    # a setting the file gives is named at its line, extractors and RUL model included, before any training
    return workspace_grader(ws.config, ws.path, folds=folds, seed=seed, coverage=coverage, extractors=chosen)


def _load(ws: Workspace, model: Path | None) -> Grader:
    """The grader in ``model``, else the workspace's; a workspace without one says what to label first or to train.

    The message is :func:`~assetgrade.review.suggest.no_grader_error`'s, as ``review suggest`` and the REST
    service's 404 say it; another folder (``--model``) or a damaged grader (``bundle.json`` there) keeps its own.
    """
    from assetgrade.errors import NotFoundError
    from assetgrade.grader import Grader
    from assetgrade.grading.bundle import INFO_NAME
    from assetgrade.review.suggest import no_grader_error

    try:
        grader = Grader.load(model or default_model_path(ws), evidence_store=ws.evidence_cache_path,
                             evidence_store_max_bytes=ws.evidence_cache_max_bytes)
    except NotFoundError as exc:
        if model is not None or (default_model_path(ws) / INFO_NAME).exists():
            raise
        raise no_grader_error(ws, exc) from exc
    grader.check_scale(ws.ontology())
    return grader


def _grade_all(grader: Grader, ws: Workspace, ids: list[str], errors: list[tuple[str, str]] | None, *,
               changed_only: bool = False, batch: int = 64) -> tuple[list[AssetRecord], list[GradeResult], int]:
    """(records graded, their results, assets skipped as unchanged), in chunks under a progress bar.

    An asset that cannot be loaded or graded (one of assetgrade's errors, or an unexpected exception from an
    extractor) is appended to ``errors`` with what went wrong, and the others are still graded; with
    ``errors`` None (one asset asked for by id) the failure is raised."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assetgrade.grading.recording import graded_unchanged
    from assetgrade.store.loading import load_records

    records: list[AssetRecord] = []
    results: list[GradeResult] = []
    skipped = 0
    with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not live_display()) as bar:
        task = bar.add_task("grading", total=len(ids))
        for i in range(0, len(ids), batch):
            chunk = _isolated(lambda part: load_records(ws, part), ids[i:i + batch], lambda a: a, errors,
                              "not graded")
            if changed_only:
                same = graded_unchanged(ws, chunk, grader.version_)
                skipped += len(same)
                chunk = [r for r in chunk if r.asset_id not in same]
            pairs = _isolated(lambda part: list(zip(part, grader.grade_many(part), strict=True)), chunk,
                              lambda r: r.asset_id, errors, "not graded")
            records += [r for r, _ in pairs]
            results += [g for _, g in pairs]
            bar.advance(task, min(batch, len(ids) - i))
    return records, results, skipped


def _isolated(run: Callable[[list[T]], list[U]], items: list[T], name: Callable[[T], str],
              errors: list[tuple[str, str]] | None, outcome: str) -> list[U]:
    """``run(items)``; if it fails, ``run`` on each item alone, and each that still fails goes to ``errors``
    (its name and what went wrong). With ``errors`` None a failure is raised as it is."""
    from assetgrade.errors import AssetgradeError, unexpected

    if errors is None or not items:
        return run(items) if items else []
    if len(items) > 1:
        try:
            return run(items)
        except MemoryError:
            raise
        except Exception:  # the bad item(s) are found and reported below by running each alone
            pass
    out: list[U] = []
    for item in items:
        try:
            out += run([item])
        except AssetgradeError as exc:
            errors.append((name(item), f"{exc} ({outcome})"))
        except MemoryError:
            raise
        except Exception as exc:
            errors.append((name(item), unexpected(exc, outcome)))
    return out


def register(app: typer.Typer) -> None:
    """Add the grading commands to the app."""

    @app.command("train")
    def train(
        workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
        store: Annotated[str | None, STORE_OPTION] = None,
        folds: Annotated[int | None, typer.Option(help="Grouped folds (default: config, else 5).")] = None,
        seed: Annotated[int | None, typer.Option(help="Seed (default: config, else 0).")] = None,
        coverage: Annotated[float | None, typer.Option(help="Conformal coverage (default: config, else 0.9).")] = None,
        extractors: Annotated[str | None, EXTRACTORS_OPTION] = None,
        out: Annotated[Path | None, typer.Option(help="Save to this folder (default: models/grader).",
                                                 callback=output_folder())] = None,
    ) -> None:
        """Train the Grader on the workspace's labelled assets and save it (out-of-fold figures printed)."""
        from assetgrade.decision.costs import format_cost
        from assetgrade.grading.evaluate import metrics_table, own_label_line

        with open_workspace(workspace, store) as ws:
            grader = _make_grader(ws, folds, seed, coverage, extractors)
            with status("training") as step:
                grader.fit(ws, progress=step)
            path = grader.save(out or default_model_path(ws))
            table_png = grader.plot_fusion_table(ws.reports_dir / "fusion_table.png")
        console.print(metrics_table(grader.metrics_, title=f"{grader.version_}: out-of-fold on {grader.n_train_}"))
        if (line := own_label_line(grader.metrics_.get("per_modality", {}))) is not None:
            console.print(line)
        for note in grader.notes_:
            console.print(styled("yellow", "note:", f" {note}"))
        fusion = grader.fusion_info()
        temps = ", ".join(f"{m} {t:g}" for m, t in fusion.get("temperatures", {}).items())
        shape = ""
        if fusion["model"] == "latent":
            n_inv = fusion["monotone_violations"]
            shape = ("; monotone" if fusion["monotone"]
                     else f"; {n_inv} inversion{'s' if n_inv != 1 else ''} among common readings")
        console.print(f"fusion: {fusion['model']}" + (f" (temperatures: {temps}{shape})" if temps else ""))
        if table_png is not None:
            console.print(f"fusion table {table_png}")
        console.print(styled("green", "saved", f" {path} (calibration: {grader.calibration_}, "
                             f"review threshold: {format_cost(grader.policy_.threshold(), grader.currency_)}, "
                             f"{grader.metrics_['review_threshold_source']}; review when the grade set holds "
                             f"more than {grader.policy_.max_set_size}"
                             + (" or lacks the chosen grade" if getattr(grader.policy_, "review_outside_set", True)
                                else "") + ")"))

    @app.command("grade")
    def grade(
        asset_id: Annotated[str | None, typer.Argument(help="Asset to grade (or --all).")] = None,
        all_assets: Annotated[bool, typer.Option("--all", help="Grade every asset.")] = False,
        workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
        store: Annotated[str | None, STORE_OPTION] = None,
        model: Annotated[Path | None, MODEL_OPTION] = None,
        record: Annotated[bool, typer.Option(help="Store predictions + audit events.")] = True,
        changed: Annotated[bool, typer.Option(
            "--changed", help="Skip assets this model already graded on the same evidence.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON results.")] = False,
    ) -> None:
        """Grade one asset or all of them; results are stored as predictions with audit events."""
        from rich.table import Table

        from assetgrade.decision.costs import cost_unit
        from assetgrade.errors import ValidationError
        from assetgrade.grader import record_grades
        from assetgrade.store.repository import list_assets

        if (asset_id is None) == (not all_assets):
            raise ValidationError("give an ASSET_ID or --all (not both)", where="assetgrade grade")
        with open_workspace(workspace, store) as ws:
            grader = _load(ws, model)
            if all_assets:
                with ws.session(readonly=True) as s:
                    ids = [a.id for a in list_assets(s, limit=None)]
            else:
                ids = [str(asset_id)]
            errors: list[tuple[str, str]] | None = [] if all_assets else None
            records, results, skipped = _grade_all(grader, ws, ids, errors, changed_only=changed)
            if record and results:
                record_grades(ws, results, model_version=grader.version_, grader=grader, records=records)
        for aid, err in (errors or [])[:20]:
            err_console.print(f"  {aid}: {err}", markup=False, highlight=False)
        if errors and len(errors) > 20:
            err_console.print(f"  ... and {len(errors) - 20} more", highlight=False)
        if as_json:
            typer.echo(json_text([r.to_dict() for r in results]))
            if errors:
                raise typer.Exit(1)  # a bad asset is a failed run; the others were graded and stored
            return
        table = Table(title=f"{len(results)} graded with {grader.version_}")
        for col in ("asset", "grade", "P", "set", f"exp. cost ({cost_unit(grader.currency_)})", "decision",
                    "first reason"):
            table.add_column(col)
        for r in results[:200]:
            table.add_row(r.asset_id, r.grade, f"{r.confidence:.2f}", "{" + ",".join(r.conformal_set) + "}",
                          f"{r.expected_cost:,.0f}", r.decision, (r.reasons[0] if r.reasons else "")[:70])
        if results:
            console.print(table)
        n_acc = sum(r.decision == "accept" for r in results)
        console.print(f"accept {n_acc}, review {len(results) - n_acc}" + ("" if record else " (not recorded)")
                      + (f"; {skipped} unchanged since this model graded them, skipped" if changed else "")
                      + (f"; {len(errors)} not graded (listed above)" if errors else ""))
        if errors:
            raise typer.Exit(1)

    @app.command("explain")
    def explain(
        asset_id: Annotated[str, typer.Argument(help="Asset to explain.")],
        workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
        store: Annotated[str | None, STORE_OPTION] = None,
        model: Annotated[Path | None, MODEL_OPTION] = None,
        html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML report.",
                                                  callback=output_file())] = None,
    ) -> None:
        """Grade an asset and explain the grade (text; --html for the report with images and plots)."""
        from assetgrade.errors import ValidationError
        from assetgrade.grading.report import write_report
        from assetgrade.store.loading import load_records

        with open_workspace(workspace, store) as ws:
            grader = _load(ws, model)
            rec = load_records(ws, [asset_id])[0]
            result = grader.grade_many([rec])[0]
            typer.echo(grader.explain(result))
            if html is not None:
                try:
                    write_report(html, result, rec, grader)
                except ValidationError as exc:  # a place the early check could not see (e.g. /proc as root)
                    raise ValidationError(exc.reason, where="--html") from exc
                console.print(styled("green", "report", f" {html}"))

    @app.command("evaluate")
    def evaluate(
        workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
        store: Annotated[str | None, STORE_OPTION] = None,
        folds: Annotated[int | None, typer.Option(help="Grouped folds (default: config, else 5).")] = None,
        seed: Annotated[int | None, typer.Option(help="Seed (default: config, else 0).")] = None,
        coverage: Annotated[float | None, typer.Option(help="Conformal coverage (default: config, else 0.9).")] = None,
        extractors: Annotated[str | None, EXTRACTORS_OPTION] = None,
        json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here ('-': stdout,"
                                                       " the tables then on stderr).",
                                                       callback=json_output())] = None,
        plots: Annotated[Path | None, typer.Option(help="Folder for PNG plots (default: reports/).",
                                                   callback=output_folder())] = None,
    ) -> None:
        """Grouped cross-validation on the labelled assets: accuracy, QWK, ECE, coverage, cost, plots."""
        from assetgrade.grading.evaluate import evaluation_plots, metrics_table, own_label_line

        with open_workspace(workspace, store) as ws:
            grader = _make_grader(ws, folds, seed, coverage, extractors)
            with status("cross-validating") as step:
                grader.fit(ws, progress=step)
            paths = evaluation_plots(grader, plots or ws.reports_dir)
        title = f"{grader.folds}-fold grouped CV on {grader.n_train_} assets"
        console.print(metrics_table(grader.metrics_, title=title))
        if (line := own_label_line(grader.metrics_.get("per_modality", {}))) is not None:
            console.print(line)
        for note in grader.notes_:  # e.g. an extractor left out, and why
            console.print(styled("yellow", "note:", f" {note}"))
        for name, p in paths.items():
            console.print(f"{name}: {p}")
        if json_path is not None:
            body = {"model_version": grader.version_, "folds": grader.folds, "seed": grader.seed,
                    "metrics": grader.metrics_, "plots": {k: str(v) for k, v in paths.items()}, "notes": grader.notes_}
            write_json(body, json_path)
            if not to_stdout(json_path):
                console.print(styled("green", "json", f" {json_path}"))
