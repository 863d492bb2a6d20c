"""``assetgrade ingest manifest|folder|voc|coco|yolo|series|work-orders``: import data with progress and a report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assetgrade.cli.choices import LabelAs, NumericTime, Origin
from assetgrade.cli.console import console, err_console, live_display, styled, tell_interrupted
from assetgrade.cli.options import check_input, input_file, input_folder
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

if TYPE_CHECKING:
    from assetgrade.ingest.items import ItemSpec
    from assetgrade.ingest.report import IngestNotice, IngestReport, RowError
    from assetgrade.workspace import Workspace

__all__ = ["interrupted_line", "print_report", "register", "run_ingest"]


ORIGIN = typer.Option("--origin", help="Origin of the data.")
SOURCE = typer.Option("--source", help="Source name recorded in provenance (default: the file or folder).")
ASSET_TYPE = typer.Option("--asset-type", help="Asset type for new assets.")
ASSET_PREFIX = typer.Option("--asset-prefix", help="Prefix added to asset ids.")
CLASS_MAP = typer.Option("--class-map", help="Map class names to ontology terms: name=term (repeatable).")
GROUP = typer.Option("--group-size", min=1, max=100_000,  # the range of the workspace's ingest_group_size
                     help="Rows per transaction (default: the workspace setting).")
ENCODING = typer.Option("--encoding", help="Text encoding of the input (default: UTF-8).")
SUPERSEDE = typer.Option("--supersede", help="A file (or row) whose source is stored for its asset with other"
                         " content replaces it: the stored item is withdrawn (kept in the history) and the new"
                         " content stored. Without it such a row is refused.")


def run_ingest(
    ws: Workspace, kind: str, source: str, items: Iterable[ItemSpec | RowError | IngestNotice], *, total: int | None,
    group_size: int | None = None, quiet: bool = False, supersede: bool = False, check_export: bool = False,
) -> IngestReport:
    """Run an ingest with a rich progress bar; returns the report (written to the workspace's reports/).

    The bar is drawn on a terminal only (:func:`~assetgrade.cli.console.live_display`) and stays
    when the run ends, unless it failed before a row was counted: the empty bar is then erased,
    so the error is the last thing shown.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assetgrade.ingest.writer import Ingestor

    with Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(),
                  console=err_console, disable=quiet or not live_display(), transient=False) as progress:
        task = progress.add_task(f"ingest {kind}", total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        ingestor = Ingestor(ws, kind=kind, source=source, group_size=group_size, on_progress=advance,
                            supersede=supersede, check_export=check_export)
        try:
            return ingestor.run(items)
        except KeyboardInterrupt:
            if not quiet:
                progress.stop()
                tell_interrupted(interrupted_line(ingestor.report))
            raise
        except Exception:
            if not progress.tasks[0].completed:  # the one task; a bar with nothing on it says nothing: erase it
                progress.live.transient = True
            raise


def interrupted_line(report: IngestReport) -> str:
    """What an interrupted ingest committed, that running it again goes on, and where its report is.

    >>> from assetgrade.ingest.report import IngestReport
    >>> r = IngestReport(batch_id="b", kind="manifest", source="m.csv", added={"assets": 2, "evidence": 5})
    >>> r.report_path = "reports/ingest-b.json"
    >>> interrupted_line(r)  # doctest: +NORMALIZE_WHITESPACE
    'ingest manifest interrupted; committed before it: 2 assets, 5 evidence, 0 already stored, 0 rows rejected.
    Run the same command again to go on (rows already stored are skipped). report: reports/ingest-b.json'
    """
    done = ", ".join(f"{v:,} {k}" for k, v in report.added.items() if v)
    done = f"{done}, " if done else "nothing added, "
    return (f"ingest {report.kind} interrupted; committed before it: {done}{report.skipped_existing:,} already "
            f"stored, {len(report.errors):,} rows rejected. Run the same command again to go on (rows already "
            f"stored are skipped). report: {report.report_path or 'not written'}")


def print_report(report: IngestReport, out: Console, *, max_errors: int = 20) -> None:
    """A summary table and the first bad rows."""
    table = Table(title=f"ingest {report.kind} ({report.status}, {report.wall_s:.1f} s)", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for k, v in report.added.items():
        table.add_row(f"added {k}", f"{v:,}")
    table.add_row("skipped (already stored)", f"{report.skipped_existing:,}")
    if report.superseded:
        table.add_row("superseded (stored item withdrawn)", f"{len(report.superseded):,}")
    table.add_row("rejected rows", f"{len(report.errors):,}")
    out.print(table)
    if report.errors:
        et = Table("file", "row", "field", "reason", title="rejected rows", title_justify="left")
        for e in report.errors[:max_errors]:
            et.add_row(e.file, "-" if e.row is None else str(e.row), e.field or "-", e.reason)
        out.print(et)
        if len(report.errors) > max_errors:
            out.print(f"... and {len(report.errors) - max_errors} more")
    for x in report.superseded[:max_errors]:
        out.print(f"superseded {x}", highlight=False)
    if len(report.superseded) > max_errors:
        out.print(f"... and {len(report.superseded) - max_errors} more superseded (see the report)")
    for n in report.notices:
        out.print(styled("yellow", "!", f" {n}"), highlight=False)
    out.print(f"report: {report.report_path}")


def _finish(report: IngestReport) -> None:
    from assetgrade.errors import IngestError

    print_report(report, console)
    if report.errors:  # exit code 2 through the app's error mapping; the good rows have landed
        raise IngestError(f"{len(report.errors)} row(s) rejected, the others were ingested; see {report.report_path}",
                          where=report.source)


def _input_files(what: str) -> Callable[[typer.CallbackParam, Any], Any]:
    """:func:`~assetgrade.cli.options.input_file` for an argument taking several files: each is checked."""

    def check(param: typer.CallbackParam, value: Sequence[Path] | None) -> list[Path] | None:
        where = (param.name or "files").upper()  # FILES, as the others name PATH and ROOT
        return None if value is None else [check_input(Path(v), "file", where, what) for v in value]

    return check


def _classes(items: list[str] | None) -> dict[str, str]:
    from assetgrade.ingest.fields import parse_mapping

    return parse_mapping(items, where="--class-map")


def _go(workspace: Path | None, store: str | None, kind: str, source: str, total: int | None,
        make: Callable[[], Iterable[ItemSpec | RowError | IngestNotice]], group_size: int | None,
        supersede: bool = False, *, check_export: bool = False) -> None:
    with open_workspace(workspace, store) as ws:
        report = run_ingest(ws, kind, source, make(), total=total, group_size=group_size, supersede=supersede,
                            check_export=check_export)
    _finish(report)


def _manifest(
    path: Annotated[Path, typer.Argument(help="Manifest: .csv, .tsv, .json or .jsonl.",
                                         callback=input_file("manifest"))],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    encoding: Annotated[str | None, ENCODING] = None,
    group_size: Annotated[int | None, GROUP] = None,
    supersede: Annotated[bool, SUPERSEDE] = False,
) -> None:
    """Ingest a manifest: one row per evidence item (asset_id, kind, path or text, labels, provenance)."""
    from assetgrade.ingest.manifest import count_rows, manifest_items

    _go(workspace, store, "manifest", str(path), count_rows(path),
        lambda: manifest_items(path, encoding=encoding), group_size, supersede)


def _folder(
    root: Annotated[Path, typer.Argument(help="Folder with one sub-folder of images per class.",
                                         callback=input_folder("folder of class folders"))],
    label_as: Annotated[LabelAs, typer.Option("--label-as", help="The class is a defect, a grade, or none.")] = (
        "defect"),
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    asset_type: Annotated[str | None, ASSET_TYPE] = None,
    asset_prefix: Annotated[str, ASSET_PREFIX] = "",
    class_map: Annotated[list[str] | None, CLASS_MAP] = None,
    origin: Annotated[Origin, ORIGIN] = "real",
    source: Annotated[str | None, SOURCE] = None,
    group_size: Annotated[int | None, GROUP] = None,
    supersede: Annotated[bool, SUPERSEDE] = False,
) -> None:
    """Ingest a folder-per-class image tree (one asset per image)."""
    from assetgrade.ingest.folders import IMAGE_SUFFIXES, folder_items

    total = sum(1 for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if root.is_dir() else None
    _go(workspace, store, "folder", str(root), total,
        lambda: folder_items(root, label_as=label_as, asset_type=asset_type, asset_prefix=asset_prefix,
                             origin=origin, source=source, classes=_classes(class_map)), group_size, supersede)


def _voc(
    root: Annotated[Path, typer.Argument(help="VOC folder with annotations/ (or Annotations/) and images/.",
                                         callback=input_folder("VOC folder"))],
    images: Annotated[Path | None, typer.Option("--images", help="Image folder (default: ROOT/images).",
                                                callback=input_folder("folder of images"))] = None,
    annotations: Annotated[Path | None, typer.Option("--annotations", help="XML folder.",
                                                     callback=input_folder("folder of VOC XML files"))] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    asset_type: Annotated[str | None, ASSET_TYPE] = None,
    asset_prefix: Annotated[str, ASSET_PREFIX] = "",
    class_map: Annotated[list[str] | None, CLASS_MAP] = None,
    origin: Annotated[Origin, ORIGIN] = "real",
    source: Annotated[str | None, SOURCE] = None,
    group_size: Annotated[int | None, GROUP] = None,
    supersede: Annotated[bool, SUPERSEDE] = False,
) -> None:
    """Ingest Pascal VOC annotations: one image per XML file, each box a defect label."""
    from assetgrade.ingest.detection import voc_items

    ann = annotations or next((root / n for n in ("annotations", "Annotations") if (root / n).is_dir()), None)
    total = sum(1 for _ in ann.glob("*.xml")) if ann is not None else None
    _go(workspace, store, "voc", str(root), total,
        lambda: voc_items(root, images=images, annotations=annotations, asset_type=asset_type,
                          asset_prefix=asset_prefix, classes=_classes(class_map), origin=origin, source=source),
        group_size, supersede)


def _coco(
    annotation_file: Annotated[Path, typer.Argument(help="COCO annotations JSON.",
                                                    callback=input_file("COCO annotations JSON"))],
    images: Annotated[Path | None, typer.Option("--images", help="Image folder (default: the JSON's folder).",
                                                callback=input_folder("folder of images"))] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    asset_type: Annotated[str | None, ASSET_TYPE] = None,
    asset_prefix: Annotated[str, ASSET_PREFIX] = "",
    class_map: Annotated[list[str] | None, CLASS_MAP] = None,
    origin: Annotated[Origin, ORIGIN] = "real",
    source: Annotated[str | None, SOURCE] = None,
    group_size: Annotated[int | None, GROUP] = None,
    supersede: Annotated[bool, SUPERSEDE] = False,
) -> None:
    """Ingest COCO detection annotations."""
    from assetgrade.ingest.detection import coco_items

    _go(workspace, store, "coco", str(annotation_file), None,
        lambda: coco_items(annotation_file, images=images, asset_type=asset_type, asset_prefix=asset_prefix,
                           classes=_classes(class_map), origin=origin, source=source), group_size, supersede)


def _yolo(
    root: Annotated[Path, typer.Argument(help="YOLO folder with images/ and labels/.",
                                         callback=input_folder("YOLO folder"))],
    classes_file: Annotated[Path, typer.Option("--classes", help="classes.txt or data.yaml with names.",
                                               callback=input_file("class-name file"))],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    asset_type: Annotated[str | None, ASSET_TYPE] = None,
    asset_prefix: Annotated[str, ASSET_PREFIX] = "",
    class_map: Annotated[list[str] | None, CLASS_MAP] = None,
    origin: Annotated[Origin, ORIGIN] = "real",
    source: Annotated[str | None, SOURCE] = None,
    group_size: Annotated[int | None, GROUP] = None,
    supersede: Annotated[bool, SUPERSEDE] = False,
) -> None:
    """Ingest YOLO detection labels."""
    from assetgrade.ingest.detection import yolo_items

    _go(workspace, store, "yolo", str(root), None,
        lambda: yolo_items(root, classes_file=classes_file, asset_type=asset_type, asset_prefix=asset_prefix,
                           classes=_classes(class_map), origin=origin, source=source), group_size, supersede)


def _series(
    files: Annotated[list[Path], typer.Argument(help="Series files (.csv or .parquet).",
                                                callback=_input_files("series file"))],
    asset: Annotated[str | None, typer.Option("--asset", help="Asset id (default: the file stem).")] = None,
    asset_col: Annotated[str | None, typer.Option("--asset-col", help="Column splitting a file by asset.")] = None,
    time_col: Annotated[str | None, typer.Option("--time-col", help="Time column (default: auto).")] = None,
    units: Annotated[list[str] | None, typer.Option("--units", help="channel=unit (repeatable).")] = None,
    repair: Annotated[bool, typer.Option("--repair", help="Sort, de-duplicate and interpolate NaNs.")] = False,
    max_gap: Annotated[int | None, typer.Option("--max-gap", help="Longest NaN run --repair fills.")] = None,
    numeric_time: Annotated[NumericTime, typer.Option(
        "--numeric-time", help="auto: a numeric time column whose values fit s/ms/us/ns since 1970 in"
        " 2000-2100 is Unix time; number: always plain numbers (cycles, time since power-on).")] = "auto",
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    asset_type: Annotated[str | None, ASSET_TYPE] = None,
    encoding: Annotated[str | None, ENCODING] = None,
    origin: Annotated[Origin, ORIGIN] = "real",
    source: Annotated[str | None, SOURCE] = None,
    supersede: Annotated[bool, SUPERSEDE] = False,
) -> None:
    """Ingest sensor series, validated and stored as Parquet."""
    from assetgrade.errors import ValidationError
    from assetgrade.ingest.fields import parse_mapping
    from assetgrade.ingest.series import SeriesOptions, series_items

    if asset is not None and asset_col is not None:  # --asset was ignored without a word
        raise ValidationError("give --asset or --asset-col, not both: with --asset-col each row's asset is read "
                              "from that column", where="--asset")
    opts = SeriesOptions(time_col=time_col, units=parse_mapping(units, where="--units"), repair=repair,
                         max_gap=max_gap, asset_col=asset_col, encoding=encoding, numeric_time=numeric_time)
    _go(workspace, store, "series", ", ".join(map(str, files)), None if asset_col else len(files),
        lambda: series_items(files, opts, asset_id=asset, asset_type=asset_type, origin=origin, source=source), None,
        supersede)


def _work_orders(
    path: Annotated[Path, typer.Argument(help="Work-order CSV.", callback=input_file("work-order CSV"))],
    text_col: Annotated[str, typer.Option("--text-col", help="Column of the note text.")] = "OriginalShorttext",
    date_col: Annotated[str | None, typer.Option("--date-col", help="Column of the date; \"\" when the file has"
                                                 " none.")] = "BscStartDate",
    cost_col: Annotated[str | None, typer.Option("--cost-col", help="Column of the cost; \"\" when the file has"
                                                 " none.")] = "Cost",
    asset_col: Annotated[str, typer.Option("--asset-col", help="Column of the asset id.")] = "Asset",
    date_format: Annotated[str | None, typer.Option("--date-format", help="strptime format (default ISO).")] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    asset_type: Annotated[str | None, ASSET_TYPE] = None,
    asset_prefix: Annotated[str, ASSET_PREFIX] = "",
    encoding: Annotated[str | None, ENCODING] = None,
    origin: Annotated[Origin, ORIGIN] = "real",
    source: Annotated[str | None, SOURCE] = None,
    group_size: Annotated[int | None, GROUP] = None,
    supersede: Annotated[bool, typer.Option(
        "--supersede", help="A row that is a stored entry (the same asset, date, text and cost) with other values in"
        " other columns replaces it: the stored entry is withdrawn (kept in the history) and the row stored. Without"
        " it such a row is skipped, and one notice names it.")] = False,
) -> None:
    """Ingest work orders: one log entry (text, date, cost) per row."""
    from assetgrade.ingest.manifest import count_rows
    from assetgrade.ingest.workorders import WorkOrderColumns, work_order_items

    cols = WorkOrderColumns(text=text_col, date=date_col or None, cost=cost_col or None, asset=asset_col,
                            date_format=date_format)
    _go(workspace, store, "work-orders", str(path), count_rows(path),
        lambda: work_order_items(path, cols, encoding=encoding, asset_prefix=asset_prefix, asset_type=asset_type,
                                 origin=origin, source=source), group_size, supersede, check_export=True)


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command group."""
    ingest = typer.Typer(help="Import evidence and labels into the workspace (idempotent).", no_args_is_help=True)
    ingest.command("manifest")(_manifest)
    ingest.command("folder")(_folder)
    ingest.command("voc")(_voc)
    ingest.command("coco")(_coco)
    ingest.command("yolo")(_yolo)
    ingest.command("series")(_series)
    ingest.command("work-orders")(_work_orders)
    app.add_typer(ingest, name="ingest")
