"""``assetgrade audit [verify|events|drift|export]`` (golden sets: ``cli/golden.py``).

``assetgrade audit`` runs the data-fidelity checks over the workspace and exits 1 when a
check's policy is violated (so it can gate a pipeline); ``audit verify`` recomputes the
audit hash chain and exits 1 naming the first bad event; ``audit export`` writes the model
documentation and the datasheet; ``audit drift`` tests edge-station telemetry per station.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from assetgrade.cli.console import console, err_console, styled
from assetgrade.cli.jsonout import json_output, json_text, to_stdout
from assetgrade.cli.options import output_file, output_folder
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

__all__ = ["MAX_SEQ", "actor_name", "parse_head", "parse_settings", "register"]



def actor_name(actor: str | None) -> str:
    """The actor recorded in audit events: ``--actor``, else ``$ASSETGRADE_ACTOR``, else ``$USER``, else ``cli``."""
    return actor or os.environ.get("ASSETGRADE_ACTOR") or os.environ.get("USER") or "cli"


ACTOR = typer.Option("--actor", help="Who is acting (recorded in the audit trail; default $ASSETGRADE_ACTOR/$USER).")


def parse_settings(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """``check.param=value`` pairs (value parsed as YAML, as the ``audit:`` section of assetgrade.yaml is) into
    per-check settings.

    >>> parse_settings(["duplicates.min_cosine=0.9", "coverage.by=[label, split]", "coverage.of=no"])
    {'duplicates': {'min_cosine': 0.9}, 'coverage': {'by': ['label', 'split'], 'of': 'no'}}
    """
    import yaml

    from assetgrade.errors import ValidationError
    from assetgrade.strict_yaml import load_unique

    out: dict[str, dict[str, Any]] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        check, dot, param = key.partition(".")
        if not sep or not dot or not check or not param:
            raise ValidationError(f"expected check.param=value, got {p!r}", where="--set")
        try:
            parsed = load_unique(value)  # YAML 1.2 scalars: 'no' stays text, as in the settings file
        except yaml.YAMLError as exc:  # an unclosed bracket or quote, a python/... tag
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValidationError(f"{p!r}: the value is not a YAML scalar or list ({first})", where="--set") from exc
        out.setdefault(check, {})[param] = parsed
    return out


_GROUP_WHERE = "assetgrade.audit.where"


def _where(ctx: typer.Context, workspace: Path | None, store: str | None) -> tuple[Path | None, str | None]:
    """The workspace and store of a subcommand: its own -w/--store, else those given to ``audit`` before it."""
    from assetgrade.errors import ValidationError

    group_ws, group_store = ctx.meta.get(_GROUP_WHERE, (None, None))
    if workspace is not None and group_ws is not None and workspace.resolve() != group_ws.resolve():
        raise ValidationError(f"-w given twice with different workspaces: {group_ws} before the subcommand,"
                              f" {workspace} after it; give one", where=f"audit {ctx.info_name}")
    if store is not None and group_store is not None and store != group_store:
        raise ValidationError("--store given twice with different URLs (before and after the subcommand);"
                              " give one", where=f"audit {ctx.info_name}")
    return (workspace if workspace is not None else group_ws), (store if store is not None else group_store)


MAX_SEQ = 2**63 - 1
"""The largest event number a store can hold (a signed 64-bit integer)."""


def parse_head(value: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as printed by ``audit verify``) into (seq, lower-case sha256 hex); a ValidationError otherwise.

    >>> parse_head("12:" + "AB" * 32)[0]
    12
    >>> parse_head("\u00b2:" + "ab" * 32)  # a superscript two is a digit to str.isdigit, not to int()
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: --expect-head: expected SEQ:HASH ...
    """
    from assetgrade.errors import ValidationError

    seq_s, sep, digest = value.strip().partition(":")
    digest = digest.lower()
    if (not sep or not re.fullmatch(r"[0-9]+", seq_s) or not 1 <= int(seq_s) <= MAX_SEQ or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)):
        raise ValidationError(f"expected SEQ:HASH (an event number 1..{MAX_SEQ}, a colon, and that event's"
                              f" 64-hex-digit sha256, as `audit verify` prints the head), got {value!r}",
                              where="--expect-head")
    return int(seq_s), digest


def _nothing_to_audit(records: Any, label_key: str | None) -> str:
    """Why an audit would look at nothing: no records, no grades, or a label key no asset has."""
    if not records:
        return "nothing to audit: the workspace has no assets"
    if label_key is None:
        return f"nothing to audit: none of the {len(records)} assets has a grade (label one, or pass --label-key)"
    seen = sorted({k for r in records for k in (r.attributes or {})})
    if label_key not in seen:
        return (f"--label-key {label_key!r}: no asset has that attribute; attributes present: "
                f"{seen[:20] or 'none'}")
    return f"nothing to audit: attribute {label_key!r} is null on all {len(records)} assets"


def _grader_probs(ws: Any, records: Any, everything: Any) -> dict[str, Any] | None:
    """The trained grader's out-of-sample distributions of ``records`` as audit-data arguments (None: not usable).

    ``everything``: the workspace's assets, where the training assets' files are looked up.
    """
    from assetgrade.grading.bundle import INFO_NAME

    if not (ws.grader_dir / INFO_NAME).exists():
        err_console.print(f"--grader: no trained grader in {ws.grader_dir}; label_noise runs without it",
                          style="yellow")
        return None
    from assetgrade.grader import Grader
    from assetgrade.grading.out_of_sample import label_noise_caveat, out_of_sample_proba

    grader = Grader.load(ws.grader_dir, evidence_store=ws.evidence_cache_path,
                         evidence_store_max_bytes=ws.evidence_cache_max_bytes)
    probs, sources = out_of_sample_proba(grader, records, training=everything)
    missing = sum(src == "none" for src in sources)
    if missing:
        err_console.print(f"label_noise: the trained grader {grader.version_} has no out-of-fold "
                          f"distribution for {missing} of the assets it learned from (retrain without a separate "
                          "calibration set); it is not used", style="yellow")
        return None
    n_oof = sum(src == "out-of-fold" for src in sources)
    n_graded = sum(src == "graded" for src in sources)
    shared = len(sources) - n_oof - n_graded
    if shared:
        err_console.print(f"label_noise: {shared} asset(s) the grader did not learn from hold an image or series "
                          "file of one it did (same sha256); its distribution for them is not out of sample, so "
                          "they are not scored", style="yellow", soft_wrap=True)
    acc = grader.metrics_.get("accuracy")
    source = (f"out-of-sample distributions of {grader.version_} ({n_oof} out-of-fold, {n_graded} graded"
              + (f", {shared} sharing a training asset's file left out" if shared else "")
              + "; its out-of-fold accuracy "
              + ("unknown" if acc is None else f"{acc:.1%}") + ")")
    err_console.print(f"label_noise reads the {source}")
    if (caveat := label_noise_caveat(acc)) is not None:
        err_console.print(f"label_noise: {caveat}", style="yellow")
    return {"pred_probs": probs, "classes": list(grader.grades_), "pred_probs_source": source}


def _audit(
    ctx: typer.Context,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    checks: Annotated[list[str] | None, typer.Option("--checks", help="Checks to run (comma-separated or repeated;"
                                                     " default: the config's audit.checks, else all).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here (default:"
                                                   " reports/audit.json; '-': stdout, the table then on stderr).",
                                                   callback=json_output())] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.",
                                                              callback=output_file())] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", help="check.param=value (repeatable), e.g."
                                                       " synthetic_share.max_share=0.05.")] = None,
    embed: Annotated[bool, typer.Option("--embed/--no-embed", help="Compute image embeddings (slower):"
                                        " sim_to_real needs them, and label_noise unless --grader; adversarial"
                                        " and duplicates use them when given, else image statistics and"
                                        " pHash.")] = False,
    label_key: Annotated[str | None, typer.Option("--label-key", help="Asset attribute to audit as the label"
                                                  " instead of the grade.")] = None,
    use_grader: Annotated[bool, typer.Option("--grader", help="label_noise reads the trained grader's"
                                             " out-of-sample grade distributions (models/grader) when the label is"
                                             " the grade; its rate is then an upper bound that grows as the grader"
                                             " errs (docs/audit.md).")] = False,
) -> None:
    """Run the data-fidelity checks on the workspace; exit 1 when a policy is violated."""
    from assetgrade.errors import ValidationError

    if ctx.invoked_subcommand is not None:
        given = [flag for flag, value, default in (
            ("--checks", checks, None), ("--json", json_path, None), ("--html", html_path, None),
            ("--set", settings, None), ("--embed", embed, False), ("--label-key", label_key, None),
            ("--grader", use_grader, False)) if value != default]
        if given:
            raise ValidationError(
                f"{', '.join(given)} belong to the data-fidelity audit (`assetgrade audit [OPTIONS]` without a"
                f" subcommand), not to `audit {ctx.invoked_subcommand}`; allowed before a subcommand: -w/--workspace,"
                " --store", where="assetgrade audit")
        ctx.meta[_GROUP_WHERE] = (workspace, store)
        return
    from assetgrade.audit import audit_data_from_records, available_checks, build_checks, run_checks
    from assetgrade.audit.params import written_settings
    from assetgrade.audit.report import report_json, write_report
    from assetgrade.lifecycle.sections import audit_section
    from assetgrade.store.loading import load_records

    printed = to_stdout(json_path)  # the JSON report on stdout, no file
    with open_workspace(workspace, store) as ws:
        default_json = json_path is None
        json_path = json_path or (ws.reports_dir / "audit.json")
        if html_path is not None and not printed and json_path.resolve() == html_path.resolve():
            # checked before the work: the HTML would silently replace the JSON report
            raise ValidationError(f"{html_path} is also the JSON report's path"
                                  f"{' (the default, reports/audit.json)' if default_json else ''};"
                                  " give the HTML report another name", where="--html")
        # the whole audit: section judged, the settings of checks not run too, each problem at its key
        cfg = audit_section(ws.config)
        names = [n.strip() for c in (checks or []) for n in c.split(",") if n.strip()]
        if checks is not None and not names:
            raise ValidationError(f"no check named in {checks!r}; known: {list(available_checks())}", where="--checks")
        names = names or list(available_checks() if cfg.checks is None else cfg.checks)
        conf = {k: dict(v) for k, v in cfg.settings.items() if k in names}
        for k, v in parse_settings(settings or []).items():  # a switch takes yes / no as in the file
            conf.setdefault(k, {}).update(written_settings(k, v))
        build_checks(names, conf)  # the checks and their settings judged before records are read and embedded
        records = load_records(ws)
        labelled = [r for r in records if (r.attributes.get(label_key) if label_key else r.grade) is not None]
        if not labelled:
            raise ValidationError(_nothing_to_audit(records, label_key), where="assetgrade audit")
        if len(labelled) < len(records):
            err_console.print(f"{len(records) - len(labelled)} assets without a label are not audited", style="yellow")
        embed_fn = None
        if embed:
            from assetgrade.audit.embed import embed_images

            cache = ws.cache_dir

            def embed_fn(refs: Any) -> Any:
                return embed_images(refs, cache_dir=cache, progress=not printed)  # its bar draws on stdout

        probs = None
        if use_grader and label_key is None and "label_noise" in names:
            probs = _grader_probs(ws, labelled, records)
        data = audit_data_from_records(labelled, label_key=label_key, embed=embed_fn,
                                       **({} if probs is None else probs))
        if probs is not None:  # grades are ordered: a label one grade off is less suspect than one three off
            conf.setdefault("label_noise", {}).setdefault("ordinal", True)
        report = run_checks(data, names, conf, progress=True)
        write_report(report, json_path=None if printed else json_path, html_path=html_path)
    if printed:
        typer.echo(report_json(report))
    table = Table("check", "status", "summary", "flagged", "message", title=f"audit of {report.n_items} items",
                  title_justify="left")
    for name, r in report.results.items():
        status = (Text("skipped") if r.skipped
                  else Text("pass", style="green") if r.passed else Text("FAIL", style="red"))
        table.add_row(name, status, f"{r.summary:.3f}", str(r.n_flagged), r.message[:100])
    for name, e in report.errors.items():
        table.add_row(name, Text("error", style="red"), "", "", e[:100])
    console.print(table)
    console.print(f"report: {'stdout' if printed else json_path}" + (f", {html_path}" if html_path else ""))
    if not report.passed:
        err_console.print(styled("bold red", "audit failed:", f" {', '.join(report.failed())}"))
        raise typer.Exit(1)


def _verify(
    ctx: typer.Context,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    expect_head: Annotated[str | None, typer.Option("--expect-head", help="SEQ:HASH recorded earlier (e.g. from"
                                                    " `audit verify --json`); detects a truncated tail.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Recompute the hash chain of audit events; exit 1 naming the first edited, deleted or reordered event."""
    from sqlalchemy import select

    from assetgrade.store.audit import chain_head, read_events, verify_chain
    from assetgrade.store.schema import AuditEvent

    expected = parse_head(expect_head) if expect_head is not None else None
    workspace, store = _where(ctx, workspace, store)
    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        rep = verify_chain(s)
        head = chain_head(s)
        ok, reason, bad = rep.ok, rep.reason, rep.first_bad_seq
        if ok and expected is not None:
            stored = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == expected[0]))
            if stored != expected[1]:
                ok, bad = False, expected[0]
                reason = (f"the recorded head event {expected[0]} is missing (events were deleted)" if stored is None
                          else f"the recorded head event {expected[0]} differs from {expect_head} (rewritten)")
        bad_event = None
        if bad is not None:
            ev = next(iter(read_events(s, after_seq=bad - 1, limit=1)), None)
            if ev is not None and ev.seq == bad:
                bad_event = {"seq": ev.seq, "action": ev.action, "entity": ev.entity, "entity_id": ev.entity_id,
                             "actor": ev.actor, "ts": str(ev.ts)}
    doc = {"ok": ok, "n_events": rep.n_events, "first_bad_seq": bad, "reason": reason, "first_bad_event": bad_event,
           "head": None if head is None else f"{head[0]}:{head[1]}"}
    if as_json:
        typer.echo(json_text(doc))
    elif ok:
        console.print(styled("green", "audit chain intact", f": {rep.n_events} events, head {doc['head']}" if head
                             else ": no events yet (nothing recorded, so there is no head to note)"))
    if not ok:
        what = (f" ({bad_event['action']} on {bad_event['entity']} {bad_event['entity_id']} by {bad_event['actor']})"
                if bad_event else "")
        err_console.print(styled("bold red", "audit chain broken", f" at event {bad}{what}: {reason}"))
        raise typer.Exit(1)


def _events(
    ctx: typer.Context,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only events of this entity kind (asset, model...).")
                      ] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Only events of the entity with this id.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only events of this action (grade.decision...).")
                      ] = None,
    after: Annotated[int, typer.Option("--after", min=0, max=MAX_SEQ,
                                       help="Only events after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_SEQ, help="At most this many events.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """List audit events in chain order."""
    from assetgrade.store.audit import read_events

    workspace, store = _where(ctx, workspace, store)
    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        evs: list[dict[str, Any]] = [
               {"seq": e.seq, "ts": None if e.ts is None else str(e.ts), "actor": e.actor, "action": e.action,
                "entity": e.entity, "entity_id": e.entity_id, "payload": e.payload, "hash": e.hash,
                **({} if e.problem is None else {"unreadable": e.problem})}
               for e in read_events(s, entity=entity, entity_id=entity_id, action=action, after_seq=after,
                                    limit=limit)]
    if as_json:
        typer.echo(json_text(evs))
    else:
        table = Table("seq", "time", "actor", "action", "entity", "payload")
        for e in evs:
            table.add_row(str(e["seq"]), "?" if e["ts"] is None else e["ts"][:19], str(e["actor"]),
                          str(e["action"]), f"{e['entity']} {e['entity_id'] or ''}",
                          Text(f"UNREADABLE: {e['unreadable']}", style="red") if "unreadable" in e
                          else json.dumps(e["payload"], default=str)[:80])
        console.print(table)
    bad = [e["seq"] for e in evs if "unreadable" in e]
    if bad:
        err_console.print(styled("bold red", "unreadable audit events:",
                                 f" {', '.join(map(str, bad))} (run assetgrade audit verify)"))


def _export(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", help="Model version (default: the champion).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the documents.",
                                                  callback=output_folder())] = Path("audit-export"),
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Write model documentation and the dataset datasheet (JSON + HTML) for a regulator; exit 1 on a broken chain."""
    from assetgrade.errors import NotFoundError
    from assetgrade.lifecycle.exports import write_documents
    from assetgrade.lifecycle.registry import ModelRegistry

    workspace, store = _where(ctx, workspace, store)
    with open_workspace(workspace, store) as ws:
        version = model
        if version is None:
            champ = ModelRegistry(ws).champion()
            if champ is None:
                raise NotFoundError("no champion model: pass --model VERSION (see assetgrade models list)")
            version = champ.version
        paths = write_documents(ws, version, out)
    for p in paths:
        console.print(f"wrote {p}")
    trail = json.loads((out / "model_documentation.json").read_text(encoding="utf-8"))["audit_trail"]
    if not trail["chain_ok"]:
        err_console.print(styled("bold red", "audit chain broken", f" at event {trail['first_bad_seq']}:"
                                 f" {trail['reason']}; the documents record it (audit_trail, chain_ok false)"))
        raise typer.Exit(1)


def _drift(
    ctx: typer.Context,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    station: Annotated[str | None, typer.Option("--station", help="Only this station.")] = None,
    reference_batches: Annotated[int, typer.Option("--reference-batches", min=1, help=(
        "Each station's first batches that make its reference."))] = 2,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2, help="Records per batch without batch_id.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Drift of each edge station's telemetry against its first batches; exit 1 when a station asks to retrain."""
    from assetgrade.lifecycle.sections import drift_policy
    from assetgrade.lifecycle.telemetry import station_drift

    workspace, store = _where(ctx, workspace, store)
    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        pol = drift_policy(ws.config)
        res = station_drift(s, reference_batches=reference_batches, batch_size=batch_size, policy=pol,
                            station=station)
    if as_json:
        typer.echo(json_text([r.to_dict() for r in res]))
    else:
        table = Table("station", "batches tested", "alarms", "retrain", "signals fired", "notes")
        for r in res:
            fired = sorted({sig.signal for d in r.decisions for sig in d.signals if sig.fired})
            table.add_row(r.station, str(len(r.decisions)), str(r.alarms),
                          Text("yes", style="red") if r.retrain else "no",
                          ", ".join(fired) or "-", "; ".join(r.notes)[:80])
        console.print(table)
    if any(r.retrain for r in res):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``audit`` (checks, verify, events, drift, export) to the CLI."""
    audit = typer.Typer(help="Data-fidelity audit, audit trail verification, station drift, regulator exports.",
                        invoke_without_command=True)
    audit.callback()(_audit)
    audit.command("verify")(_verify)
    audit.command("events")(_events)
    audit.command("drift")(_drift)
    audit.command("export")(_export)
    app.add_typer(audit, name="audit")
