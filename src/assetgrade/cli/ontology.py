"""``assetgrade ontology check|show``: validate an ontology file and print what it holds."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.tree import Tree

from assetgrade.cli.console import console, styled
from assetgrade.cli.options import input_file
from assetgrade.config import CONFIG_NAME
from assetgrade.ontology import Ontology, default_ontology, load_ontology, ontology_warnings

__all__ = ["register"]


def _workspace_or_cwd(workspace: Path | None) -> Path | None:
    """``-w`` (or ``$ASSETGRADE_WORKSPACE``), else the current folder when it is a workspace, else None."""
    if workspace is None and (Path.cwd() / CONFIG_NAME).is_file():
        return Path.cwd()
    return workspace


def _resolve_path(file: Path | None, workspace: Path | None) -> Path | None:
    """The ontology file to show; None: the shipped one."""
    if file is not None:
        return file
    workspace = _workspace_or_cwd(workspace)
    if workspace is not None:
        from assetgrade.cli.workspace import open_workspace

        ws = open_workspace(workspace)
        return ws.config.ontology_path(ws.path)
    return None


def _resolve(file: Path | None, workspace: Path | None) -> Ontology:
    if file is not None:
        return load_ontology(file)
    workspace = _workspace_or_cwd(workspace)
    if workspace is not None:
        from assetgrade.cli.workspace import open_workspace

        ws = open_workspace(workspace)
        return ws.ontology()  # type: ignore[no-any-return]
    return default_ontology()


def check(
    file: Path = typer.Argument(..., help="Ontology YAML file to validate.", callback=input_file("YAML file")),
    strict: bool = typer.Option(False, "--strict", help=(
        "Exit 1 when there are warnings (rubric rules that never decide a finding, abbreviations that "
        "misspell a term), as for an error.")),
) -> None:
    """Validate an ontology file; exits non-zero naming the bad key and line.

    Then warns of likely mistakes the file may still hold: a rubric rule that never decides a finding
    (it can match none, or earlier rules take every finding it matches: the first matching rule wins)
    and an abbreviation whose expansion is close to a term but names none (a typo). With --strict these
    fail the check (exit 1).
    """
    ont = load_ontology(file)
    uncovered = [
        f"{d.id}:{s}"
        for d in ont.defects.values()
        for s in d.severities
        if ont.rubric.grade_for_finding(d, s, ont.ancestors(d.id)) == ont.rubric.default_grade
    ]
    warnings = ontology_warnings(ont)
    console.print(styled(
        "green", "ok", f" {file}: {len(ont.grades)} grades, {len(ont.defects)} defects, "
        f"{len(ont.components)} components, {len(ont.abbreviations)} abbreviations, "
        f"{len(ont.rubric.rules)} rubric rules; version {ont.version}"
        + (f"; {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else "")
    ))
    if uncovered:
        console.print(styled(
            "yellow", "note:", f" {len(uncovered)} defect/severity pairs fall through to the default grade "
            f"{ont.rubric.default_grade}: {', '.join(uncovered[:10])}{' ...' if len(uncovered) > 10 else ''}"
        ))
    for w in warnings:
        console.print(styled("yellow", "warning:", f" {w}"))
    if warnings and strict:
        raise typer.Exit(1)


def show(
    file: Path | None = typer.Option(None, "--file", "-f", help="Ontology YAML (default: the workspace's).",
                                     callback=input_file("YAML file")),
    workspace: Path | None = typer.Option(None, "--workspace", "-w", envvar="ASSETGRADE_WORKSPACE", help=(
        "Workspace whose ontology to show, without --file (default: $ASSETGRADE_WORKSPACE, else the current folder "
        "when it is a workspace, else the shipped ontology)."),
        show_default=False),
    as_yaml: bool = typer.Option(False, "--yaml", help=(
        "Print the ontology as YAML (comments dropped) that 'ontology check' and --file read back to the same "
        "ontology and version, instead of tables.")),
) -> None:
    """Print the grade scale, defect taxonomy with rubric grades, components and abbreviations."""
    if as_yaml:
        from assetgrade.ontology.loader import ontology_yaml

        typer.echo(ontology_yaml(_resolve_path(file, workspace)), nl=False)
        return
    ont = _resolve(file, workspace)
    console.print(styled("bold", ont.name, f" version {ont.version} ({ont.source})"))
    grades = Table("grade", "name", "description", title="Grades (best first)")
    for g in ont.grades.grades:
        grades.add_row(g.id, g.name, g.description)
    console.print(grades)
    tree = Tree("defects")
    nodes = {None: tree}
    for d in ont.defects.values():
        by_sev = ", ".join(
            f"{s}→{ont.rubric.grade_for_finding(d, s, ont.ancestors(d.id))}" for s in d.severities
        )
        label = styled("bold", d.id, f" ({d.kind}) {by_sev}")
        if d.synonyms:
            label.append(f"  {', '.join(d.synonyms)}", style="dim")
        nodes[d.id] = nodes[d.parent].add(label)  # type: ignore[index]
    console.print(tree)
    comps = Table("component", "synonyms", title="Components")
    for c in ont.components.values():
        comps.add_row(c.id, ", ".join(c.synonyms))
    console.print(comps)
    abbr = Table("abbreviation", "expansion", title="Abbreviations")
    for k, v in sorted(ont.abbreviations.items()):
        abbr.add_row(k, v)
    console.print(abbr)


def register(app: typer.Typer) -> None:
    """Add the ``ontology`` command group."""
    group = typer.Typer(help="Validate and show the ontology (grades, defects, rubric, synonyms).")
    group.command("check")(check)
    group.command("show")(show)
    app.add_typer(group, name="ontology")
