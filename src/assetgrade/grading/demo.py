"""The end-to-end demo: real data the install provides → workspace → ingest → train → grade → reports.

Assets come from the linked benchmark's shipped source (ELPV images from the ``elpv-dataset``
package; C-MAPSS FD001 and MaintIE excerpts shipped in ``assetgrade/datasets/samples``), written
as files plus a CSV manifest and ingested through the ordinary manifest path. The sensors'
remaining-life model is trained first, as a user would with ``assetgrade sensors fit-rul``, on a
fleet history the package ships: the 100 FD001 *test* engines with their true remaining life,
none of which is a demo asset. The Grader's settings are written to the workspace config (so
``assetgrade train`` there uses the same settings, though it teaches every extractor the asset
grade), it is trained on the labelled assets (each extractor on its own modality's real label,
read from the benchmark's ``labels.csv``), every asset is graded and recorded, and HTML reports
are written.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["open_demo_workspace", "run_demo"]

_LEVEL_COLUMNS = {"vision": "image_level", "sensors": "sensor_level", "text": "log_level"}
FLEET_RUL_DIR = "models/fleet-rul"
"""Where the demo saves its fleet RUL model, relative to the workspace (as ``sensors.rul_model`` names it)."""


def _own_labels(labels_csv: Path, grades: tuple[str, ...]) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {m: {} for m in _LEVEL_COLUMNS}
    with labels_csv.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for m, col in _LEVEL_COLUMNS.items():
                out[m][row["asset_id"]] = grades[int(row[col])]
    return out


def write_sample_fleet(folder: Path) -> Path:
    """The shipped fleet as ``fit-rul`` input: a series CSV per engine in ``folder``, and the end_rul CSV (returned)."""
    from assetgrade.datasets.linked import sample_fleet

    histories, end_rul = sample_fleet()
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,end_rul"]
    for i, (hist, rul) in enumerate(zip(histories, end_rul, strict=True), start=1):
        name = f"FD001-test-{i:03d}.csv"
        frame = hist.copy()
        frame.index = frame.index.astype(int)
        frame.to_csv(folder / name)
        rows.append(f"{name},{rul:g}")
    csv_path = folder.parent / f"{folder.name}-end-rul.csv"
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return csv_path


def open_demo_workspace(path: Path, progress: Callable[[str], None] | None = None) -> Workspace:
    """The demo's workspace: created, or reopened with its store migrated to this version's schema.

    The demo owns this folder, so a store left by an older version is upgraded in place (what
    ``assetgrade db upgrade`` does) instead of stopping the demo; a user's own workspace is
    never upgraded without asking.
    """
    from assetgrade.config import CONFIG_NAME
    from assetgrade.store.engine import current_revision, head_revision
    from assetgrade.workspace import Workspace

    path = Path(path)
    if not (path / CONFIG_NAME).exists():
        return Workspace.init(path)
    ws = Workspace.open(path, check_schema=False)
    before = current_revision(ws.engine)
    if before != head_revision():
        try:
            reached = ws.upgrade()
        except Exception:
            ws.close()
            raise
        if progress is not None:
            progress(f"demo workspace store upgraded from revision {before or 'none'} to {reached}")
    return ws


def run_demo(
    workspace: Path,
    *,
    n_assets: int = 150,
    seed: int = 0,
    folds: int = 3,
    n_reports: int = 3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the demo into ``workspace`` (created, or reused: ingest is idempotent); returns a summary."""
    from assetgrade.config import CONFIG_NAME, WorkspaceConfig, save_config
    from assetgrade.datasets.linked import FLEET_RUL_CAP, build_linked, write_linked
    from assetgrade.grader import Grader, record_grades
    from assetgrade.grading.evaluate import evaluation_plots
    from assetgrade.grading.fleet_rul import fit_fleet_rul, read_fleet_histories, save_fleet_rul
    from assetgrade.grading.report import write_report
    from assetgrade.ingest import Ingestor, manifest_items
    from assetgrade.store.loading import load_records

    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    workspace = Path(workspace)
    settings: dict[str, Any] = {"folds": folds, "seed": seed, "extractor_settings": {
        "vision": {"coreset_size": 500}, "sensors": {"rul_model": FLEET_RUL_DIR}}}
    grader = Grader(**settings)  # bad folds or seed refused here, before any work and before the config is written
    ws = open_demo_workspace(workspace, say)
    with ws:
        say(f"building {n_assets} linked assets from ELPV + C-MAPSS + MaintIE samples")
        bench = build_linked(n_assets=n_assets, seed=seed, source="sample")
        manifest = write_linked(bench, ws.path / "import" / "linked")
        say("ingesting the manifest")
        report = Ingestor(ws, kind="manifest", source="assetgrade demo (linked sample)").run(manifest_items(manifest))
        timings["build_and_ingest_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        say("fleet remaining-life model on the 100 C-MAPSS FD001 test engines (none is a demo asset)")
        fleet_dir = ws.path / "import" / "fleet"
        fleet = read_fleet_histories(fleet_dir, end_rul_csv=write_sample_fleet(fleet_dir))
        # LightGBM on two threads: the same predictions as on one for this fleet (test_fleet_rul.py), and faster
        rul_model = fit_fleet_rul(fleet, cap=FLEET_RUL_CAP, seed=seed, progress=say, n_jobs=min(2, os.cpu_count() or 1))
        save_fleet_rul(rul_model, ws.path / FLEET_RUL_DIR, histories=fleet)
        timings["fleet_rul_s"] = time.perf_counter() - t
        t = time.perf_counter()
        config = WorkspaceConfig.model_validate({**ws.config.model_dump(mode="json"), "grader": settings})
        save_config(config, ws.path / CONFIG_NAME)
        ws.config = config
        own = _own_labels(manifest.parent / "labels.csv", tuple(ws.ontology().grades.names))
        grader.fit(ws, modality_labels=own, groups=None, progress=say)
        model_dir = grader.save(ws.grader_dir)
        # later rounds and grades in this workspace reuse the rows
        grader.use_evidence_store(ws.evidence_cache_path, max_bytes=ws.evidence_cache_max_bytes)
        timings["train_s"] = time.perf_counter() - t
        t = time.perf_counter()
        say("grading every asset")
        records = load_records(ws)
        results = grader.grade_many(records)
        record_grades(ws, results, model_version=grader.version_, actor="demo", grader=grader, records=records)
        timings["grade_s"] = time.perf_counter() - t
        t = time.perf_counter()
        say("writing reports")
        by_id = {r.asset_id: r for r in records}
        picks: list[str] = []
        for pred in (lambda r: r.decision == "accept", lambda r: bool(r.contradictions),
                     lambda r: r.grade == grader.grades_[-1], lambda r: bool(r.quality_flags)):
            hit = next((r.asset_id for r in results if pred(r) and r.asset_id not in picks), None)
            if hit is not None and len(picks) < n_reports:
                picks.append(hit)
        for r in results:
            if len(picks) >= n_reports:
                break
            if r.asset_id not in picks:
                picks.append(r.asset_id)
        res_by_id = {r.asset_id: r for r in results}
        reports = [write_report(ws.reports_dir / f"grade-{a}.html", res_by_id[a], by_id[a], grader) for a in picks]
        plots = evaluation_plots(grader, ws.reports_dir)
        timings["reports_s"] = time.perf_counter() - t
    m = grader.metrics_
    summary: dict[str, Any] = {
        "workspace": str(ws.path),
        "assets": len(records),
        "ingest": {"added": report.added, "skipped_existing": report.skipped_existing, "errors": len(report.errors)},
        "model_version": grader.version_,
        "model_dir": str(model_dir),
        "grade_mix": dict(sorted(Counter(r.grade for r in results).items())),
        "decisions": dict(Counter(r.decision for r in results)),
        "oof": {k: m.get(k) for k in ("n", "accuracy", "qwk", "ece", "coverage", "mean_set_size", "expected_cost",
                                       "accept_rate_at_error", "auto_accept_rate", "accepted_error")},
        "oof_per_modality": {mod: {k: v.get(k) for k in ("accuracy", "qwk", "ece", "expected_cost",
                                                         "extractor_accuracy_on_own_label")}
                             for mod, v in m.get("per_modality", {}).items()},
        "fleet_rul": {"model_dir": str(ws.path / FLEET_RUL_DIR), "histories": len(fleet.frames),
                      "skipped": len(fleet.errors), "cap": FLEET_RUL_CAP},
        "calibration": grader.calibration_,
        "review_threshold": grader.policy_.threshold(),
        "reports": [str(p) for p in reports],
        "plots": {k: str(v) for k, v in plots.items()},
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "wall_s": round(time.perf_counter() - t0, 1),
        "notes": grader.notes_,
        "index": str(ws.reports_dir / "index.html"),
    }
    (ws.reports_dir / "demo-summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    _write_index(ws.reports_dir / "index.html", summary, coverage=grader.coverage)
    return summary


def _write_index(path: Path, summary: dict[str, Any], *, coverage: float) -> Path:
    """One page linking the demo's reports and showing its figures and plots (relative links: the folder moves)."""
    import jinja2

    from assetgrade.grading.visible import exact, visible

    # every text shown as the report shows it (control characters, bidi controls); a link's file name as it is,
    # percent-encoded (the template's urlencode) so a '#' or '?' in an asset id's report name stays part of the path
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                             autoescape=True, finalize=visible)
    env.filters["exact"] = exact
    page = env.get_template("demo_index.html").render(
        s=summary, coverage=coverage, reports=[Path(p).name for p in summary["reports"]],
        plots={k: Path(v).name for k, v in summary["plots"].items()})
    path.write_text(page, encoding="utf-8")
    return path
