"""``assetgrade golden freeze|show|list``: frozen golden sets of real, expert-labelled assets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assetgrade.cli.audit import ACTOR, actor_name
from assetgrade.cli.console import console, err_console, styled
from assetgrade.cli.jsonout import json_text
from assetgrade.cli.options import SEED_MAX, valid_seed
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

__all__ = ["register"]


def _set_name(param: typer.CallbackParam, value: str) -> str:
    """``--name`` of a new golden set, by the rules of a model version's name: at most 100 printable characters,
    no slash or backslash, no leading dot or surrounding spaces (a name is a word, never a path)."""
    from assetgrade.lifecycle.registration import check_name

    check_name(value, "golden set", where="--name")  # the library checks it too, once the store is open
    return value


def _golden_freeze(
    assets: Annotated[list[str] | None, typer.Argument(help="Asset ids (or use --from-file / --split).")] = None,
    name: Annotated[str, typer.Option("--name", help="Golden set name (no slash; at most 100 characters).",
                                      callback=_set_name)] = "default",
    from_file: Annotated[Path | None, typer.Option("--from-file", help="A file of asset ids, one a line.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Every eligible asset whose split attribute is this"
                                              " (assets without a split never match); ineligible ones are skipped"
                                              " and listed.")] = None,
    sample: Annotated[int | None, typer.Option("--sample", min=1, help="With --split: at most this many"
                                               " (at least 1), drawn at random.")] = None,
    seed: Annotated[int, typer.Option("--seed", help=f"With --sample: the draw's seed, in [0, {SEED_MAX}].",
                                      callback=valid_seed())] = 0,
    notes: Annotated[str | None, typer.Option("--notes", help="Free text recorded with the golden set.")] = None,
    actor: Annotated[str | None, ACTOR] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Freeze real, expert-labelled assets as a golden set (ids + content hashes + labels snapshot)."""
    from assetgrade.errors import ValidationError
    from assetgrade.lifecycle.golden import eligible_with_split, freeze_golden_set

    if sample is not None and split is None:
        raise ValidationError(f"--sample {sample} draws from the assets --split selects; give --split, or list"
                              " the assets to freeze", where="--sample")
    if split is not None and not split.strip():
        raise ValidationError("--split must name a split value (e.g. test), got an empty one", where="--split")
    ids = list(assets or [])
    if from_file is not None:
        try:
            raw = from_file.read_bytes().removeprefix(b"\xef\xbb\xbf")  # a BOM is no part of the first id
        except OSError as exc:
            raise ValidationError(f"cannot read: {exc}", where=str(from_file)) from exc
        for n, raw_line in enumerate(raw.splitlines(), start=1):
            try:
                text = raw_line.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                raise ValidationError(f"not UTF-8 text ({exc.reason} at byte {exc.start + 1}); the file must list "
                                      "asset ids, one a line", where=f"{from_file}:line {n}") from None
            if text:
                ids.append(text)
    with open_workspace(workspace, store) as ws:
        if split is not None:
            with ws.session(readonly=True) as s:
                eligible, skipped = eligible_with_split(s, split, sample=sample, seed=seed)
            ids += eligible
            for line in skipped[:20]:
                err_console.print(styled("yellow", "skipped", f" {line}"))
            if len(skipped) > 20:
                err_console.print(f"... and {len(skipped) - 20} more skipped", style="yellow")
        with ws.session() as s:
            gs = freeze_golden_set(s, ids, name=name, ontology_version=str(ws.ontology().version),
                                   actor=actor_name(actor), notes=notes)
    console.print(styled("green", f"golden set {gs.name!r} frozen",
                         f": {len(gs.items)} assets, sha256 {gs.content_hash}"))


def _golden_show(
    name: Annotated[str, typer.Argument(help="Golden set name.")] = "default",
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Re-hash every blob and compare the"
                                         " assets with the snapshot.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Show a golden set and verify it; exit 1 when the store no longer matches the snapshot."""
    from assetgrade.lifecycle.golden import get_golden_set, verify_golden_set

    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        gs = get_golden_set(s, name)
        check = verify_golden_set(s, gs, blobs=ws.blobs) if verify else None
    doc = {**gs.to_dict(), "verified": None if check is None else check.ok,
           "problems": [] if check is None else [{"asset_id": a, "problem": p} for a, p in check.problems]}
    if as_json:
        typer.echo(json_text(doc))
    else:
        for k in ("name", "n_items", "content_hash", "ontology_version", "created_by", "created_at", "grade_mix",
                  "notes"):
            console.print(styled("bold", k, f": {doc[k]}"))
        if check is not None:
            console.print(check.message(), style="green" if check.ok else "red")
    if check is not None and not check.ok:
        raise typer.Exit(1)


def _golden_list(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """List golden sets."""
    from assetgrade.lifecycle.golden import list_golden_sets

    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        sets = list_golden_sets(s)
    table = Table("name", "items", "grade mix", "sha256", "created")
    for g in sets:
        d = g.to_dict()
        table.add_row(g.name, str(len(g.items)), json.dumps(d["grade_mix"]), g.content_hash[:16], str(d["created_at"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``golden`` (freeze, show, list) to the CLI."""
    golden = typer.Typer(help="Frozen golden sets of real, expert-labelled assets.", no_args_is_help=True)
    golden.command("freeze")(_golden_freeze)
    golden.command("show")(_golden_show)
    golden.command("list")(_golden_list)
    app.add_typer(golden, name="golden")
