"""``assetgrade config show | get | set | unset | check``: read and edit ``assetgrade.yaml`` with validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from assetgrade.cli.console import console, err_console, styled
from assetgrade.cli.jsonout import json_text
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace, workspace_path

__all__ = ["register"]


KEY_ARG = typer.Argument(help="Dotted key, e.g. policy.coverage or grader.fuser.model.", show_default=False)


def _dump(value: Any, as_json: bool) -> str:
    import yaml

    if as_json:
        return json_text(value)
    return yaml.safe_dump(value, sort_keys=False).rstrip("\n").removesuffix("\n...")


def _show(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of YAML.")] = False,
    grader: Annotated[bool, typer.Option(
        "--grader", help="Every setting train would give the Grader, and where each comes from.")] = False,
) -> None:
    """Print the workspace's settings, defaults filled in (--grader: the Grader's settings as train uses them)."""
    from assetgrade.config import load_config
    from assetgrade.workspace import config_path

    config = load_config(config_path(workspace_path(workspace)))
    if not grader:
        typer.echo(_dump(config.model_dump(mode="json"), as_json))
        return
    from assetgrade.grader_settings import effective_grader_settings

    rows = effective_grader_settings(config)
    if as_json:
        typer.echo(json_text([{"key": k, "value": v, "from": src} for k, v, src in rows]))
        return
    table = Table("key", "value", "from", title="grader settings as train uses them (CLI options go on top)",
                  title_justify="left")
    for key, value, src in rows:
        table.add_row(key, json.dumps(value, default=str), src)
    console.print(table)


def _get(
    key: Annotated[str, KEY_ARG],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of YAML.")] = False,
) -> None:
    """Print one setting (exit 3 when it is not set)."""
    from assetgrade.config import config_value, load_config
    from assetgrade.workspace import config_path

    typer.echo(_dump(config_value(load_config(config_path(workspace_path(workspace))), key), as_json))


def _write(folder: Path, edit: Callable[[str], str | None], what: str, *, unchanged: str = "nothing to change") -> None:
    """Apply ``edit`` to the config file's text, refuse the result when it adds a problem, then write it atomically.

    ``edit`` returns None when there is nothing to change (``unchanged`` is then printed).
    """
    from assetgrade.config import parse_config, read_config_text
    from assetgrade.errors import ValidationError
    from assetgrade.grader_settings import shadowed_policy
    from assetgrade.lifecycle.sections import check_workspace_config
    from assetgrade.workspace import config_path

    path = config_path(folder)
    text = read_config_text(path)
    before = parse_config(text, str(path))
    new_text = edit(text)
    if new_text is None:
        console.print(f"{unchanged} in {path}; nothing written")
        return
    after = parse_config(new_text, str(path), lines=False)  # not the file's text: its lines would mislead
    old = set(check_workspace_config(before, folder))
    new = [p for p in check_workspace_config(after, folder) if p not in old]
    if new:
        raise ValidationError(f"not written, it would add {len(new)} problem(s): " + "; ".join(map(str, new)),
                              where=str(path))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)
    console.print(f"{what} in {path}")
    old_notes = set(shadowed_policy(before))
    for line in shadowed_policy(after):
        if line not in old_notes:
            console.print(styled("yellow", "!", f" {line}"), highlight=False)


def _set(
    ctx: typer.Context,
    key: Annotated[str, KEY_ARG],
    value: Annotated[str, typer.Argument(help="The value, read as YAML: 3, -3, 0.95, true, null, [A, B], "
                                              "{model: latent}. A negative number needs no --.",
                                         show_default=False)],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    as_string: Annotated[bool, typer.Option("--string", help="Keep VALUE as text (do not read it as YAML).")] = False,
) -> None:
    """Set one setting; the result is validated (schema, grader, costs, ontology) before it is written.

    A negative number is a value (config set KEY -3); text that starts with - needs --string.
    """
    import yaml

    from assetgrade.config import set_in_text
    from assetgrade.errors import ValidationError
    from assetgrade.strict_yaml import load_unique

    options = [o for p in ctx.command.get_params(ctx) for o in (*p.opts, *p.secondary_opts) if o.startswith("-")]
    _refuse_option_like(key, "KEY", options, number_ok=False)
    parsed: Any = value
    if not as_string:
        try:
            parsed = load_unique(value)
        except yaml.YAMLError as exc:
            _refuse_option_like(value, "VALUE", options, number_ok=False)
            raise ValidationError(f"{value!r} is not a YAML value ({exc}); use --string for plain text",
                                  where="VALUE") from None
        number = isinstance(parsed, int | float) and not isinstance(parsed, bool)
        _refuse_option_like(value, "VALUE", options, number_ok=number)
    _write(workspace_path(workspace), lambda text: set_in_text(text, key, parsed), f"set {key} = {json.dumps(parsed)}")


def _refuse_option_like(given: str, where: str, options: list[str], *, number_ok: bool) -> None:
    """``config set`` reads what Click would take for an unknown option (``-3``) as an argument; one that is not a
    number is a misspelt option far more often than a setting (``--strnig``), so it is refused, naming it."""
    import difflib

    from assetgrade.errors import ValidationError

    if not given.startswith("-") or len(given) < 2 or number_ok:
        return
    near = difflib.get_close_matches(given.split("=", 1)[0], options, n=1, cutoff=0.6)
    hint = f" (did you mean {near[0]}?)" if near else ""
    raise ValidationError(f"{given!r} is not an option of config set{hint}; its options are "
                          f"{', '.join(options)}; a VALUE that starts with '-' is a number (-3, -0.5), or text "
                          "given with --string", where=where)


def _unset(
    key: Annotated[str, KEY_ARG],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
) -> None:
    """Remove one setting (a built-in one goes back to its default)."""
    from assetgrade.config import config_value, load_config, unset_in_text
    from assetgrade.workspace import config_path

    folder = workspace_path(workspace)
    config_value(load_config(config_path(folder)), key)  # exit 3 when no such setting exists at all
    _write(folder, lambda text: unset_in_text(text, key), f"removed {key}",
           unchanged=f"{key} is not in the file (it has its default value)")


def _check(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    data: Annotated[bool, typer.Option(
        "--data", help="Also check the store's assets and labels as train would see them.")] = False,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Check the settings without training: schema, ontology file, cost matrix, grader and extractor settings,
    drift, lifecycle, audit and documentation sections (with --data, also the store's labels and evidence)."""
    from assetgrade.config import parse_config, read_config_text
    from assetgrade.grader_settings import shadowed_policy
    from assetgrade.lifecycle.sections import check_workspace_config
    from assetgrade.workspace import config_path

    folder = workspace_path(workspace)
    path = config_path(folder)
    text = read_config_text(path)
    config = parse_config(text, str(path))
    problems = check_workspace_config(config, folder)
    for p in problems:
        err_console.print(styled("red", "✗", f" {config.locate(p)}"), highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(2)
    console.print(styled("green", "✓", f" {path}: settings are valid"))
    for line in shadowed_policy(config):
        console.print(styled("yellow", "!", f" {line}"), highlight=False)
    if data:
        _check_data(folder, store)


def _check_data(folder: Path, store: str | None) -> None:
    """The data half of ``config check --data`` (the settings are known to be valid)."""
    from assetgrade.grader_settings import workspace_grader_settings
    from assetgrade.store.loading import load_records
    from assetgrade.training_check import check_training_data

    with open_workspace(folder, store) as ws:
        with console.status("reading the assets and labels"):
            records = load_records(ws)
        grades = ws.ontology().grades.names
        check = check_training_data(records, workspace_grader_settings(ws.config), grades, base=folder)
    for p in check.problems:
        err_console.print(styled("red", "✗", f" {p}"), highlight=False, soft_wrap=True)
    for w in check.warnings:
        console.print(styled("yellow", "!", f" {w}"), highlight=False)
    console.print(check.summary(), highlight=False)
    if check.problems:
        raise typer.Exit(2)
    console.print(styled("green", "✓", f" the data can be trained on ({len(check.warnings)} warning(s))"))


def register(app: typer.Typer) -> None:
    """Add ``config`` to the CLI."""
    cfg = typer.Typer(help="Read, change and check the workspace's settings (assetgrade.yaml).",
                      no_args_is_help=True)
    cfg.command("show")(_show)
    cfg.command("get")(_get)
    # unknown options are read as arguments, so that a negative number is a value (Click would take -3 for an
    # option; pallets/click#2676); _refuse_option_like names a misspelt option instead of writing it
    cfg.command("set", context_settings={"ignore_unknown_options": True})(_set)
    cfg.command("unset")(_unset)
    cfg.command("check")(_check)
    app.add_typer(cfg, name="config")
