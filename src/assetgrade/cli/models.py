"""``assetgrade models list|show|register|evaluate|promote|rollback|triggers`` and ``assetgrade retrain``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from assetgrade.cli.audit import ACTOR, actor_name
from assetgrade.cli.choices import ModelStatus
from assetgrade.cli.console import console, err_console, styled
from assetgrade.cli.jsonout import json_text
from assetgrade.cli.options import at_least, input_folder
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

if TYPE_CHECKING:
    from assetgrade.lifecycle.evaluate import Comparison, GoldenEvaluation

__all__ = ["register"]


GOLDEN = typer.Option("--golden", help="Golden set to evaluate on.")
METRICS = ("n", "accuracy", "qwk", "ece", "expected_cost", "realised_cost", "review_rate")


def _fmt(v: Any) -> str:  # NaN (a QWK on a golden set of one grade) is no figure, as None
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else (
        f"{v:.4g}" if isinstance(v, float) else str(v))


def _list(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    status: Annotated[ModelStatus | None, typer.Option("--status", help="Only versions with this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Registered model versions with status, lineage and golden accuracy."""
    from assetgrade.errors import ValidationError
    from assetgrade.lifecycle.registry import ModelRegistry

    with open_workspace(workspace, store) as ws:
        try:
            models = ModelRegistry(ws).list(status)
        except ValidationError as exc:  # name the option
            raise ValidationError(exc.reason, where="--status") from exc
    if as_json:
        typer.echo(json_text([m.to_dict() for m in models]))
        return
    table = Table("version", "status", "created", "parent", "ontology", "code", "golden accuracy")
    for m in models:
        acc = ", ".join(f"{g}: {_fmt(e.get('overall', {}).get('accuracy'))}" for g, e in (m.golden or {}).items())
        style = "bold green" if m.is_champion else ("dim" if m.status == "retired" else "")
        table.add_row(m.version, m.status, str(m.created_at)[:19], m.parent_version or "-", m.ontology_version or "-",
                      m.code_version, acc or "-", style=style)
    console.print(table)


def _show(
    version: Annotated[str, typer.Argument(help="Model version (or 'champion').")],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """One version: lineage, metrics, golden evaluations, history of audit events."""
    from assetgrade.errors import NotFoundError
    from assetgrade.lifecycle.registry import ModelRegistry
    from assetgrade.store.audit import list_events

    with open_workspace(workspace, store) as ws:
        reg = ModelRegistry(ws)
        if version == "champion":
            champ = reg.champion()
            if champ is None:
                raise NotFoundError("no champion model yet (assetgrade models promote VERSION)")
            version = champ.version
        info = reg.get(version)
        with ws.session(readonly=True) as s:
            history = [{"seq": e.seq, "ts": str(e.ts), "actor": e.actor, "action": e.action, "payload": e.payload}
                       for e in list_events(s, entity="model", entity_id=version, limit=1000)]
    doc = {**info.to_dict(), "history": history}
    if as_json:
        typer.echo(json_text(doc))
        return
    for k in ("version", "model_version", "status", "created_at", "created_by", "parent_version", "previous_champion",
              "manifest_hash", "ontology_version", "code_version", "git_commit", "bundle_dir", "bundle_sha256",
              "loader", "lineage", "notes"):
        console.print(styled("bold", k, f": {doc[k]}"))
    for g, ev in (info.golden or {}).items():
        _print_eval(f"golden set {g}", ev.get("overall", {}))
    for e in history:
        console.print(f"  #{e['seq']} {str(e['ts'])[:19]} {e['actor']}: {e['action']}")


def _print_eval(title: str, *rows: dict[str, Any], names: tuple[str, ...] = ()) -> None:
    table = Table("", *METRICS, title=title, title_justify="left")
    for i, r in enumerate(rows):
        table.add_row(names[i] if names else "", *(_fmt(r.get(m)) for m in METRICS))
    console.print(table)


def _print_comparison(before: GoldenEvaluation | None, after: GoldenEvaluation) -> None:
    if before is None:
        _print_eval(f"golden set {after.golden}", after.overall, names=(str(after.model_version),))
        return
    _print_eval(f"golden set {after.golden}: champion vs challenger", before.overall, after.overall,
                names=(str(before.model_version), str(after.model_version)))


def _print_paired(cmp: Comparison | None) -> None:
    """Each delta (challenger - champion) with its paired interval, the gate, where point and paired rules differ."""
    if cmp is None:
        return
    if cmp.intervals:
        level = f"{(cmp.confidence or 0.0) * 100:g}%"
        table = Table("metric", "challenger - champion", f"{level} paired interval", "McNemar p",
                      title=f"gate {cmp.gate}: paired bootstrap over the golden assets ({cmp.n_resamples} resamples)",
                      title_justify="left")
        for key, d in cmp.deltas.items():
            lo, hi = cmp.intervals.get(key, (None, None))
            shown = "-" if lo is None or hi is None else (  # NaN: undefined on too many resamples (notes say)
                "undefined" if math.isnan(lo) or math.isnan(hi) else f"[{lo:+.4f}, {hi:+.4f}]")
            table.add_row(key, f"{d:+.4f}", Text(shown),
                          _fmt(cmp.p_values.get(key)))
        console.print(table)
    for note in cmp.notes:
        console.print(Text(note, style="dim"))
    for why in cmp.disagreements:
        console.print(styled("yellow", "point and paired rules disagree:", f" {why}"))


def _print_grading_model(record: dict[str, Any] | None) -> None:
    """Say what ``models/grader`` (the model grade, batch, serve and review rounds load) now holds."""
    if not record:
        return
    if not record.get("installed"):
        console.print(f"{record['dir']} unchanged: {record.get('why', '')}", style="dim")
        return
    console.print(f"{record['dir']} now holds {record['version']} ({record.get('model_version') or '-'}):"
                  " grade, explain, batch, serve and review rounds use it")
    if record.get("replaced_kept_at"):
        console.print(f"the replaced grader was no registered version; kept at {record['replaced_kept_at']}",
                      style="yellow")


def _register(
    bundle: Annotated[Path, typer.Argument(help="A saved model folder (e.g. from Grader.save).",
                                           callback=input_folder("bundle folder (a saved model folder, e.g. from"
                                                                 " Grader.save)"))],
    version: Annotated[str | None, typer.Option("--version", help="Version name (default: the model's own).")] = None,
    loader: Annotated[str, typer.Option("--loader", help="'grader' or module:callable loading the folder.")] = "grader",
    parent: Annotated[str | None, typer.Option("--parent", help="Parent version.")] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Free text recorded with the version.")] = None,
    actor: Annotated[str | None, ACTOR] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Register a saved model folder as a candidate (copied to <workspace>/models/<version>/)."""
    from assetgrade.errors import ValidationError
    from assetgrade.lifecycle.bundles import resolve_loader
    from assetgrade.lifecycle.registry import ModelRegistry

    try:  # refused now, not when the model is first loaded
        resolve_loader(loader)
    except ValidationError as exc:
        raise ValidationError(exc.reason, where="--loader") from exc
    info_json = bundle / "bundle.json"
    meta: Any = {}
    if info_json.exists():
        try:
            meta = json.loads(info_json.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValidationError(f"unreadable or not JSON: {exc}", where=str(info_json)) from exc
        if not isinstance(meta, dict):
            raise ValidationError(f"holds a JSON {type(meta).__name__}, not an object", where=str(info_json))
    with open_workspace(workspace, store) as ws:
        info = ModelRegistry(ws).register(
            bundle, version=version or meta.get("model_version"), loader=loader,
            manifest_hash=meta.get("manifest_hash"), ontology_version=meta.get("ontology_version"),
            metrics=meta.get("metrics"), parent_version=parent, notes=notes, actor=actor_name(actor))
    console.print(styled("green", "registered",
                         f" {info.version} (candidate), bundle sha256 {info.bundle_sha256[:16]}"))


def _evaluate(
    version: Annotated[str, typer.Argument(help="Model version.")],
    golden: Annotated[str, GOLDEN] = "default",
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Evaluate a version on a golden set (verified first), overall and per subgroup."""
    from assetgrade.lifecycle.registry import ModelRegistry

    with open_workspace(workspace, store) as ws:
        reg = ModelRegistry(ws)
        ev = reg.evaluate(version, golden, reuse=False)
        overlap = reg.trained_on_golden(version, golden)
    if overlap:
        err_console.print(styled("yellow", "warning:", f" {version} was trained on {len(overlap)} of the "
                                 f"{int(ev.overall.get('n') or 0)} assets of golden set {golden} (e.g. "
                                 f"{', '.join(overlap[:5])}): these figures are in-sample, not an independent check"))
    if as_json:
        typer.echo(json_text({**ev.to_dict(), "trained_on_golden": len(overlap)}))
        return
    _print_eval(f"{version} on golden set {golden}", ev.overall, names=("overall",))
    for key, groups in ev.subgroups.items():
        _print_eval(f"by {key}", *groups.values(), names=tuple(groups))


def _promote(
    version: Annotated[str, typer.Argument(help="Challenger version.")],
    golden: Annotated[str, GOLDEN] = "default",
    force: Annotated[bool, typer.Option("--force", help="Promote even if worse on the golden set.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required with --force).")] = None,
    actor: Annotated[str | None, ACTOR] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Make a version the champion after champion/challenger evaluation on the golden set (exit 4 when refused).

    A Grader champion's bundle is installed as models/grader, the model grade, batch, serve and review rounds load.
    """
    from assetgrade.lifecycle.registry import ModelRegistry

    with open_workspace(workspace, store) as ws:
        res = ModelRegistry(ws).promote(version, golden=golden, force=force, reason=reason, actor=actor_name(actor))
    if as_json:
        typer.echo(json_text(res.to_dict()))
        return
    _print_comparison(res.champion, res.challenger)
    _print_paired(res.comparison)
    if res.forced:
        why = list(res.comparison.regressions if res.comparison else [])
        if res.trained_on_golden:
            why.append(f"trained on {res.trained_on_golden} golden assets")
        console.print(styled("yellow", "forced", f" despite: {'; '.join(why)}"))
    console.print(styled("green", f"{version} is the champion",
                         f" (replacing {res.previous})" if res.previous else ""))
    _print_grading_model(res.grading_model)


def _rollback(
    to: Annotated[str | None, typer.Option("--to", help="Version to restore (default: the one replaced).")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded in the audit trail).")] = None,
    actor: Annotated[str | None, ACTOR] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Retire the champion and restore the previous one (its Grader bundle becomes models/grader again)."""
    from assetgrade.lifecycle.registry import ModelRegistry
    from assetgrade.store.audit import list_events

    with open_workspace(workspace, store) as ws:
        reg = ModelRegistry(ws)
        old = reg.champion()
        info = reg.rollback(to=to, reason=reason, actor=actor_name(actor))
        with ws.session(readonly=True) as s:
            events = list_events(s, action="model.rollback", entity="model", entity_id=info.version, limit=1000)
    retired = old.version if old else "-"
    console.print(styled("green", "rolled back", f": {info.version} is the champion again (retired {retired})"))
    _print_grading_model((events[-1].payload or {}).get("grading_model") if events else None)


def _triggers(
    golden: Annotated[str, GOLDEN] = "default",
    drift: Annotated[bool, typer.Option("--drift/--no-drift", help="Include per-station telemetry drift.")] = True,
    reference_batches: Annotated[int, typer.Option("--reference-batches", min=1, help=(
        "With --drift: each station's first batches that make its reference."))] = 2,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Retraining triggers (station drift, override rate, new reviewed labels); exit 1 when one fires."""
    from assetgrade.lifecycle.registry import ModelRegistry
    from assetgrade.lifecycle.sections import drift_policy, retrain_policy
    from assetgrade.lifecycle.telemetry import station_drift
    from assetgrade.lifecycle.triggers import check_triggers

    with open_workspace(workspace, store) as ws:
        pol = retrain_policy(ws.config)
        dpol = drift_policy(ws.config)
        champ = ModelRegistry(ws).champion()
        with ws.session(readonly=True) as s:
            stations = station_drift(s, reference_batches=reference_batches, policy=dpol) if drift else []
            rep = check_triggers(s, champion=champ, drift=stations, policy=pol, golden=golden)
    if as_json:
        typer.echo(json_text(rep.to_dict()))
    else:
        table = Table("trigger", "fired", "value", "threshold", "why", title=f"model {rep.model_version or '-'}")
        for t in rep.triggers:
            table.add_row(t.name, Text("yes", style="red") if t.fired else "no", _fmt(t.value), _fmt(t.threshold),
                          t.message)
        console.print(table)
    if rep.fired:
        raise typer.Exit(1)


def _retrain(
    golden: Annotated[str, GOLDEN] = "default",
    version: Annotated[str | None, typer.Option("--version", help="Name of the new version.")] = None,
    promote: Annotated[bool, typer.Option("--promote", help="Promote if not worse on the golden set.")] = False,
    min_reviewed: Annotated[int, typer.Option("--min-reviewed", help="Refuse with fewer reviewed assets (>= 0).",
                                              callback=at_least(0))] = 0,
    actor: Annotated[str | None, ACTOR] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Retrain on the reviewed labels (golden assets held out), register with lineage, report before/after."""
    from assetgrade.lifecycle.retrain import retrain

    with open_workspace(workspace, store) as ws:
        res = retrain(ws, golden=golden, version=version, promote=promote, actor=actor_name(actor),
                      min_reviewed=min_reviewed, progress=lambda m: err_console.print(m, style="dim"))
    if as_json:
        typer.echo(json_text(res.to_dict()))
        return
    console.print(styled("green", "registered", f" {res.model.version} (parent {res.parent or '-'}): "
                         f"{res.n_train} assets, {res.n_reviewed} with reviewed labels, "
                         f"{res.n_golden_excluded} golden assets held out"))
    if res.golden is None:
        console.print(styled("yellow", "no golden set:", " no before/after comparison, nothing held out "
                             "(freeze one with assetgrade golden freeze)"))
    if res.after is not None:
        _print_comparison(res.before, res.after)
    _print_paired(res.comparison)
    if res.comparison is not None:
        console.print("not worse than the champion" if res.comparison.ok
                      else styled("yellow", "worse than the champion:", " " + "; ".join(res.comparison.regressions)))
    if res.promoted:
        console.print(f"{res.model.version} is the champion", style="green")
        _print_grading_model(res.grading_model)
    elif res.promotion_error:
        console.print(styled("yellow", "not promoted:", f" {res.promotion_error}"))


def register(app: typer.Typer) -> None:
    """Add ``models`` and ``retrain`` to the CLI."""
    models = typer.Typer(help="Model registry: versions, lineage, champion/challenger, rollback.",
                         no_args_is_help=True)
    models.command("list")(_list)
    models.command("show")(_show)
    models.command("register")(_register)
    models.command("evaluate")(_evaluate)
    models.command("promote")(_promote)
    models.command("rollback")(_rollback)
    models.command("triggers")(_triggers)
    app.add_typer(models, name="models")
    app.command("retrain")(_retrain)
