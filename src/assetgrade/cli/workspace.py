"""``assetgrade init | stats | assets list|show|withdraw|reinstate | db upgrade`` and the workspace-opening helper."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from assetgrade.cli.console import console, err_console, styled
from assetgrade.cli.jsonout import json_text
from assetgrade.cli.options import INT64_MAX, interval

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["STORE_OPTION", "WORKSPACE_ENV", "WORKSPACE_OPTION", "open_workspace", "register", "workspace_path"]

WORKSPACE_ENV = "ASSETGRADE_WORKSPACE"

WORKSPACE_OPTION = typer.Option(
    "--workspace", "-w", help="Workspace folder (default: $ASSETGRADE_WORKSPACE or the current folder).",
    show_default=False,
)
STORE_OPTION = typer.Option("--store", help="Store URL overriding the config and $ASSETGRADE_STORE.",
                            show_default=False)


def workspace_path(path: Path | None = None) -> Path:
    """The workspace folder: ``--workspace``, else ``$ASSETGRADE_WORKSPACE``, else the current folder."""
    return path or (Path(os.environ[WORKSPACE_ENV]) if os.environ.get(WORKSPACE_ENV) else Path.cwd())


def open_workspace(path: Path | None = None, store: str | None = None) -> Workspace:
    """Open the workspace named by ``--workspace``, else ``$ASSETGRADE_WORKSPACE``, else the current folder."""
    from assetgrade.workspace import Workspace

    return Workspace.open(workspace_path(path), store_url=store)


def _init(
    path: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    store: Annotated[str | None, typer.Option("--store", help="Store URL (default: SQLite in the folder).")] = None,
    blob_root: Annotated[str | None, typer.Option("--blob-root", help="Blob store URL (default: PATH/blobs).")] = None,
) -> None:
    """Create a workspace: config, migrated database, blob folder."""
    from assetgrade.workspace import Workspace

    ws = Workspace.init(path, store_url=store, blob_root=blob_root)
    console.print(styled("green", "workspace created", f" at {ws.path} (store: {ws.engine.url.render_as_string()},"
                         f" blobs: {ws.blobs.url})"))
    ws.close()


def _stats(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Counts per asset type, grade, defect class, modality and origin."""
    from assetgrade.store.loading import stats

    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        result = stats(s)
        onto = ws.ontology()
    # labels stored under an earlier ontology: counted as stored, and named so nobody mistakes them for the scale
    off_grades = sorted(set(result["grade"]) - set(onto.grades.names))
    off_defects = sorted(set(result["defect"]) - set(onto.defects))
    if off_grades:
        err_console.print(styled("yellow", f"grades not on the ontology's scale {', '.join(onto.grades.names)}: ",
                                 ", ".join(f"{g} ({result['grade'][g]} assets)" for g in off_grades)))
    if off_defects:
        err_console.print(styled("yellow", "defect labels not in the ontology: ",
                                 ", ".join(f"{d} ({result['defect'][d]})" for d in off_defects)))
    if as_json:
        typer.echo(json_text(result))
        return
    print_stats(result, console)


def print_stats(result: dict[str, dict[str, int]], out: Console) -> None:
    """Render a ``stats`` result as rich tables."""
    for name, counts in result.items():
        table = Table(title=name.replace("_", " "), title_justify="left")
        table.add_column(name if name != "totals" else "what")
        table.add_column("count", justify="right")
        for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(k, f"{v:,}")
        if not counts:
            table.add_row("(none)", "0")
        out.print(table)


def _assets_list(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    asset_type: Annotated[str | None, typer.Option("--type", help="Only assets of this type.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=INT64_MAX, help="At most this many rows.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, max=INT64_MAX, help="Skip this many rows first.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List assets with their evidence counts and current grade."""
    from assetgrade.store.loading import load_records
    from assetgrade.store.repository import list_assets

    with open_workspace(workspace, store) as ws:
        with ws.session(readonly=True) as s:
            ids = [a.id for a in list_assets(s, asset_type=asset_type, limit=limit, offset=offset)]
        records = load_records(ws, ids)
    rows = [{"asset_id": r.asset_id, "asset_type": r.asset_type, "images": len(r.images), "logs": len(r.logs),
             "series": len(r.series), "grade": r.grade} for r in records]
    if as_json:
        typer.echo(json_text(rows))
        return
    table = Table("asset", "type", "images", "logs", "series", "grade")
    for r in rows:
        table.add_row(str(r["asset_id"]), str(r["asset_type"]), str(r["images"]), str(r["logs"]), str(r["series"]),
                      str(r["grade"] or "-"))
    console.print(table)


def _assets_show(
    asset_id: Annotated[str, typer.Argument(help="Asset id.")],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show one asset: attributes, evidence with provenance (withdrawn items marked), labels."""
    from assetgrade.store.repository import get_asset, get_provenance, list_evidence, list_labels
    from assetgrade.store.withdrawals import withdrawals_of

    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        a = get_asset(s, asset_id)
        evidence = [(e, get_provenance(s, e.id)) for e in list_evidence(s, asset_id)]
        gone = withdrawals_of(s, [e.id for e, _ in evidence])
        labels = list_labels(s, asset_id)
        doc: dict[str, Any] = {
            "asset_id": a.id, "asset_type": a.asset_type, "make": a.make, "model": a.model, "value": a.value,
            "version": a.version, "attributes": a.attributes,
            "evidence": [{"id": e.id, "kind": e.kind, "sha256": e.sha256, "media_type": e.media_type,
                          "text": e.text, "attributes": e.attributes, "origin": p.origin, "source": p.source,
                          "ingest_batch": p.ingest_batch_id, "notes": p.notes,
                          "withdrawn": gone[e.id].to_dict() if e.id in gone else None} for e, p in evidence],
            "labels": [{"kind": lb.kind, "value": lb.value, "severity": lb.severity, "box": lb.box,
                        "evidence_id": lb.evidence_id, "annotator": lb.annotator, "source": lb.source}
                       for lb in labels],
        }
    if as_json:
        typer.echo(json_text(doc))
        return
    console.print(styled("bold", a.id, f" type={a.asset_type} make={a.make or '-'} model={a.model or '-'}"
                         f" value={a.value if a.value is not None else '-'} version={a.version}"))
    for key, value in sorted((doc["attributes"] or {}).items()):
        console.print(f"  {key}: {json.dumps(value, default=str, ensure_ascii=False)}", highlight=False)
    ev_table = Table("evidence", "kind", "origin", "source", "details", title="evidence", title_justify="left")
    for e in doc["evidence"]:
        detail = (e["text"] or "")[:60] if e["kind"] in ("log", "document") else json.dumps(e["attributes"])[:60]
        w = e["withdrawn"]
        if w is not None:  # kept in the store and shown, out of what models see
            detail = f"WITHDRAWN on {w['at'][:10]} by {w['by']}: {w['reason']} | {detail}"
        ev_table.add_row(str(e["id"]), str(e["kind"]), str(e["origin"]), str(e["source"]), Text(detail))
    console.print(ev_table)
    lb_table = Table("kind", "value", "severity", "box", "annotator", "source", title="labels", title_justify="left")
    for lb in doc["labels"]:
        lb_table.add_row(str(lb["kind"]), str(lb["value"]), str(lb["severity"] or "-"), str(lb["box"] or "-"),
                         str(lb["annotator"]), str(lb["source"]))
    console.print(lb_table)


def _assets_withdraw(
    evidence_ids: Annotated[list[str], typer.Argument(help="Evidence ids to withdraw (assets show lists them).",
                                                      show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; one line, at most 1,000 characters).",
                                        show_default=False)],
    by: Annotated[str | None, typer.Option(
        "--by", help="Who withdraws (recorded; default $ASSETGRADE_ACTOR, else $USER).", show_default=False)] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Withdraw evidence a wrong ingest stored: kept and shown, no longer used to train or grade.

    All ids in one transaction: an unknown id withdraws none (exit 3). An id already withdrawn is
    reported and left unchanged.
    """
    from assetgrade.cli.audit import actor_name
    from assetgrade.store.withdrawals import withdraw_evidence

    with open_workspace(workspace, store) as ws:
        rep = withdraw_evidence(ws, evidence_ids, reason=reason, by=actor_name(by))
    if as_json:
        typer.echo(json_text(rep.to_dict()))
        return
    for w in rep.withdrawn:
        console.print(styled("green", "withdrawn ", f"{w.evidence_id}"), highlight=False)
    for w in rep.already:
        console.print(styled("yellow", "unchanged ", f"{w.evidence_id}: already {w}"), highlight=False)
    if rep.asset_versions:
        console.print("asset versions now " + ", ".join(f"{a} {v}" for a, v in sorted(rep.asset_versions.items()))
                      + "; grade them again to use what is left", highlight=False)


def _assets_reinstate(
    evidence_ids: Annotated[list[str], typer.Argument(help="Withdrawn evidence ids to use again (assets show lists"
                                                           " them).", show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; one line, at most 1,000 characters).",
                                        show_default=False)],
    by: Annotated[str | None, typer.Option(
        "--by", help="Who reinstates (recorded; default $ASSETGRADE_ACTOR, else $USER).", show_default=False)] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Undo a withdrawal: the items are used to train and grade again; the withdrawal stays in the history.

    All ids in one transaction: an unknown id reinstates none (exit 3), nor does an item whose source has
    another item in use (a newer export ingest --supersede stored: withdraw that one first). An id not
    withdrawn is reported and left unchanged.
    """
    from assetgrade.cli.audit import actor_name
    from assetgrade.store.withdrawals import reinstate_evidence

    with open_workspace(workspace, store) as ws:
        rep = reinstate_evidence(ws, evidence_ids, reason=reason, by=actor_name(by))
    if as_json:
        typer.echo(json_text(rep.to_dict()))
        return
    for r in rep.reinstated:
        console.print(styled("green", "reinstated ", f"{r.evidence_id} (was {r.ended})"), highlight=False)
    for i in rep.not_withdrawn:
        console.print(styled("yellow", "unchanged ", f"{i}: not withdrawn"), highlight=False)
    if rep.asset_versions:
        console.print("asset versions now " + ", ".join(f"{a} {v}" for a, v in sorted(rep.asset_versions.items()))
                      + "; grade them again to use what was reinstated", highlight=False)


def _db_upgrade(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Migrate the workspace's store to this version's schema."""
    from assetgrade.workspace import Workspace

    with Workspace.open(workspace_path(workspace), store_url=store, check_schema=False) as ws:
        rev = ws.upgrade()
    console.print(f"store at schema revision {rev}", style="green")


def _db_gc_blobs(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    grace_hours: Annotated[
        float, typer.Option("--grace-hours", help="Keep unreferenced blobs younger than this (a finite number >= 0).",
                            callback=interval(0.0))
    ] = 24.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Collect even when the store names no blob at all (refused otherwise: wrong database?)."
    )] = False,
) -> None:
    """Delete blobs that no evidence, label mask or prediction overlay names (orphans of crashed writes)."""
    from assetgrade.errors import StoreError
    from assetgrade.store.blob_gc import collect_blob_garbage, record_blob_gc, referenced_blobs

    with open_workspace(workspace, store) as ws:
        with ws.session(readonly=True) as s:
            refs = referenced_blobs(s)
        rep = collect_blob_garbage(ws.blobs, refs, grace_s=grace_hours * 3600.0, dry_run=dry_run, force=force)
        if not dry_run:
            with ws.session() as s:
                record_blob_gc(s, rep, actor="cli")
    if as_json:
        typer.echo(json_text(rep.to_dict()))
        if rep.failed:
            raise typer.Exit(6)
        return
    verb = "would delete" if dry_run else "deleted"
    gone = rep.orphans - rep.kept_young if dry_run else rep.deleted
    console.print(f"{rep.stored} blobs stored, {rep.referenced} referenced; {rep.orphans} orphans "
                  f"({rep.orphan_bytes / 1e6:.1f} MB): {verb} {gone}, kept {rep.kept_young} younger than "
                  f"{grace_hours:g} h; {rep.stale_tmp} interrupted temp files {'found' if dry_run else 'removed'}")
    if rep.missing:
        console.print(styled("red", f"{rep.missing} referenced blobs are missing from the store",
                             f", e.g. {', '.join(rep.missing_examples[:3])}"))
    if not rep.local and not dry_run and grace_hours == 0:
        console.print("object store, no grace period: blobs re-used by an ingest running now were not "
                      "protected", style="yellow")
    if rep.failed:
        raise StoreError(f"{rep.failed} unreferenced blobs or temp files could not be deleted (kept), e.g. "
                         + "; ".join(rep.failed_examples[:3]))


def register(app: typer.Typer) -> None:
    """Add ``init``, ``stats``, ``assets`` and ``db`` to the CLI."""
    app.command("init")(_init)
    app.command("stats")(_stats)
    assets = typer.Typer(help="Inspect assets; withdraw wrongly ingested evidence, or reinstate it.",
                         no_args_is_help=True)
    assets.command("list")(_assets_list)
    assets.command("show")(_assets_show)
    assets.command("withdraw")(_assets_withdraw)
    assets.command("reinstate")(_assets_reinstate)
    app.add_typer(assets, name="assets")
    db = typer.Typer(help="Database maintenance.", no_args_is_help=True)
    db.command("upgrade")(_db_upgrade)
    db.command("gc-blobs")(_db_gc_blobs)
    app.add_typer(db, name="db")
