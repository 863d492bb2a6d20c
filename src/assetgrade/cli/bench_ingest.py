"""``assetgrade bench ingest``: wall time of a first ingest and a re-ingest of NEU-DET (1,800 images + VOC boxes);
``assetgrade bench series-ingest``: peak memory and speed of the series reader on a synthetic CSV."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer

from assetgrade.cli.jsonout import json_output
from assetgrade.cli.options import at_least, positive, valid_seed

__all__ = ["register"]


def _bench(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="NEU-DET folder (default: shared data).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the JSON result here ('-': stdout only).",
                                                  callback=json_output(printed_anyway=True))] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace-dir", help="Where to create the scratch workspace."
                                                   " (default: a temporary folder, deleted after)")] = None,
) -> None:
    """Ingest NEU-DET into a fresh workspace twice; the second run must add nothing."""
    import shutil
    import time

    from assetgrade.bench.report import BenchResult, write_result
    from assetgrade.datasets.image_folder import IMAGE_SUFFIXES
    from assetgrade.datasets.paths import dataset_dir
    from assetgrade.errors import ValidationError
    from assetgrade.ingest.detection import voc_items
    from assetgrade.ingest.writer import Ingestor
    from assetgrade.store.audit import verify_chain
    from assetgrade.workspace import Workspace

    if workspace is not None and not workspace.is_dir():
        raise ValidationError(f"{workspace} is not an existing folder; create it or leave --workspace-dir out "
                              "(a temporary folder)", where="--workspace-dir")
    root = dataset_dir("neu-det", data_dir)
    if not root.is_dir():
        raise ValidationError(f"{root} is not a folder (NEU-DET: images/ and annotations/)", where="--data-dir")
    if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in root.rglob("*")):
        raise ValidationError(f"{root} holds no image; nothing to ingest", where="--data-dir")
    scratch = Path(tempfile.mkdtemp(prefix="assetgrade-bench-", dir=workspace))
    t_all = time.perf_counter()
    try:
        t0 = time.perf_counter()
        ws = Workspace.init(scratch / "ws")
        init_s = time.perf_counter() - t0

        def once() -> tuple[float, dict[str, int], int, int]:
            t = time.perf_counter()
            rep = Ingestor(ws, kind="voc", source=str(root)).run(voc_items(root, asset_type="steel_surface"))
            return time.perf_counter() - t, dict(rep.added), rep.skipped_existing, len(rep.errors)

        first_s, first_added, _, first_errors = once()
        second_s, second_added, second_skipped, second_errors = once()
        with ws.session(readonly=True) as s:
            chain = verify_chain(s)
        ws.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not first_added.get("evidence"):
        raise ValidationError(f"no image of {root} was ingested ({first_errors} errors): not a NEU-DET copy "
                              "(VOC annotations/ beside images/)", where="--data-dir")
    metrics = {
        "images": first_added["evidence"],
        "boxes": first_added.get("labels", 0),
        "first_ingest_s": round(first_s, 3),
        "images_per_s": round(first_added["evidence"] / first_s, 1) if first_s > 0 else None,
        "reingest_s": round(second_s, 3),
        "reingest_added": sum(second_added.values()),
        "reingest_skipped": second_skipped,
        "errors": first_errors + second_errors,
        "init_s": round(init_s, 3),
        "audit_chain_ok": chain.ok,
        "target_first_ingest_s": 60.0,
        "meets_target": first_s < 60.0 and sum(second_added.values()) == 0,
    }
    result = BenchResult(benchmark="ingest", dataset="neu-det", split="all", seed=0, metrics=metrics,
                         wall_s=time.perf_counter() - t_all, extra={"store": "sqlite", "blobs": "local folder"})
    typer.echo(write_result(result, json_path))


SeriesLayout = Literal["iso", "numeric", "short"]  # assetgrade.bench.series_ingest.LAYOUTS


def _bench_series(
    size_mib: Annotated[float, typer.Option(
        "--size-mib", callback=positive(), help="Size of the synthetic CSV in MiB (> 0; whole 10,000-row blocks).")],
    layout: Annotated[SeriesLayout, typer.Option(
        help="iso: ISO timestamps and six 4-decimal channels; numeric: a rising numeric time and the same "
             "channels; short: a rising integer time and six channels of 4-character cells.")] = "iso",
    bad_cell_row: Annotated[int | None, typer.Option(
        "--bad-cell-row", callback=at_least(0),
        help="0-based data row whose channel 'd' holds 'ERR' (file line = row + 2); the error is reported.")] = None,
    seed: Annotated[int, typer.Option(callback=valid_seed(), help="Seed of the synthetic values.")] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the JSON result here ('-': stdout only).",
                                                  callback=json_output(printed_anyway=True))] = None,
) -> None:
    """Write a seeded series CSV into a temporary folder, read it with the series reader in a fresh Python process and
    report peak RSS growth over the baseline, wall time, rows and MiB/s (the file is deleted after)."""
    import time

    from assetgrade.bench.report import BenchResult, write_result
    from assetgrade.bench.series_ingest import measure_series_read

    t_all = time.perf_counter()
    metrics = measure_series_read(size_mib, layout, seed=seed, bad_cell_row=bad_cell_row)
    result = BenchResult(benchmark="series-ingest", dataset=f"synthetic series CSV ({layout})", split="all",
                         seed=seed, metrics=metrics, wall_s=time.perf_counter() - t_all,
                         extra={"size_mib": size_mib, "layout": layout, "bad_cell_row": bad_cell_row,
                                "reader": "assetgrade.ingest.series_items, in a fresh Python process"})
    typer.echo(write_result(result, json_path))


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and ``series-ingest`` to the ``bench`` sub-app."""
    app.command("ingest")(_bench)
    app.command("series-ingest")(_bench_series)
