"""The ``assetgrade`` command: a Typer app assembled from one module per command group."""

from __future__ import annotations

import importlib
import platform
import sys
from typing import Annotated

import typer

from assetgrade.cli.console import err_console, interrupt_told, styled
from assetgrade.errors import (
    AssetgradeError,
    ConflictError,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    ValidationError,
)

__all__ = ["BENCH_MODULES", "COMMAND_MODULES", "EXIT_CODES", "build_app", "main", "version_text"]

# Each module defines ``register(app: typer.Typer) -> None``; heavy imports stay inside the commands.
COMMAND_MODULES: tuple[str, ...] = (
    "workspace",
    "settings",
    "ingest",
    "ontology",
    "serve",
    "models",
    "audit",
    "golden",
    "grading",
    "demo",
    "batch",
    "sensors",
    "review",
)
BENCH_MODULES: tuple[str, ...] = (
    "bench_vision", "bench_ingest", "bench_audit", "bench_text", "bench_review", "bench_sensors",
    "bench_fusion", "bench_scale",
)

EXIT_CODES: dict[type[AssetgradeError], int] = {
    ValidationError: 2,
    NotFoundError: 3,
    ConflictError: 4,
    PermissionDeniedError: 5,
    StoreError: 6,
    MissingExtraError: 7,
}



def build_app() -> typer.Typer:
    """The full CLI app with every command group registered."""
    app = typer.Typer(
        name="assetgrade",
        help="Calibrated, auditable condition grades for used industrial assets.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(_root)
    for name in COMMAND_MODULES:
        importlib.import_module(f"assetgrade.cli.{name}").register(app)
    bench = typer.Typer(help="Benchmarks on real data; each prints one JSON object.", no_args_is_help=True)
    for name in BENCH_MODULES:
        importlib.import_module(f"assetgrade.cli.{name}").register(bench)
    app.add_typer(bench, name="bench")
    return app


def version_text() -> str:
    """Two lines: assetgrade's version (with the git commit of a checkout), then Python's and those of the
    libraries whose releases can change its figures (:data:`assetgrade.version.LIBRARIES`).

    Read from the installed packages' metadata, so nothing heavy is imported.

    >>> version_text().startswith("assetgrade ")
    True
    """
    from assetgrade.version import __version__, git_commit, library_versions

    commit = git_commit()
    first = f"assetgrade {__version__}" + (f" (git {commit[:12]})" if commit else "")
    parts = [f"Python {platform.python_version()}"]
    parts += [f"{name} {v}" if v else f"{name} not installed" for name, v in library_versions().items()]
    return first + "\n" + " · ".join(parts)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


def _root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the versions of assetgrade, Python and the main libraries, "
                                               "and exit.")] = False,
) -> None:
    """Calibrated, auditable condition grades for used industrial assets."""


def exit_code_for(exc: AssetgradeError) -> int:
    """The CLI exit code for an error: the most specific class in EXIT_CODES wins."""
    for klass in type(exc).__mro__:
        if klass in EXIT_CODES:
            return EXIT_CODES[klass]
    return 1


def _click_error(exc: BaseException) -> str | None:
    """``"usage"`` for a Click usage error (bad option, bad value), ``"abort"`` for an abort, else None.

    By class name along the MRO: typer 0.2x ships its own copy of Click (``typer._click``) whose
    exceptions are not the ``click`` package's, and either may raise them.

    >>> import click
    >>> _click_error(click.BadParameter("x")), _click_error(click.exceptions.Abort()), _click_error(ValueError())
    ('usage', 'abort', None)
    """
    names = {k.__name__ for k in type(exc).__mro__}
    if "ClickException" in names and hasattr(exc, "show") and hasattr(exc, "exit_code"):
        return "usage"
    if "Abort" in names:
        return "abort"
    return None


def main() -> None:
    """Entry point: run the app, turning assetgrade errors into a message and an exit code."""
    app = build_app()
    interrupt_told(reset=True)
    try:
        rc = app(standalone_mode=False)
    except AssetgradeError as exc:
        err_console.print(styled("bold red", "error:", f" {exc}"), soft_wrap=True)  # one line, whatever the width
        sys.exit(exit_code_for(exc))
    except KeyboardInterrupt:  # before a command ran (typer turns one inside a command into exit 130, below)
        rc = 130
    except SystemExit:
        raise
    except OSError as exc:  # the system refused a file the command read or wrote: a full disk, a read-only folder
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(styled("bold red", "error:", f" {where}{exc.strerror or exc}"), soft_wrap=True)
        sys.exit(5 if isinstance(exc, PermissionError) else 3 if isinstance(exc, FileNotFoundError) else 1)
    except Exception as exc:  # click usage errors etc. come through standalone_mode=False
        kind = _click_error(exc)
        if kind == "usage":
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if kind == "abort":
            sys.exit(1)
        raise
    if rc == 130 and not interrupt_told():  # Ctrl-C; typer >= 0.20 returns 130 for it, silently
        err_console.print("interrupted", style="yellow")
    if isinstance(rc, int) and rc:
        sys.exit(rc)
