"""JSON the CLI prints or writes: one NaN-safe serialiser, and ``--json -`` meaning standard output.

Every ``--json FILE`` option takes ``-`` for stdout (``assetgrade review requests --json - | jq``):
stdout then carries that one JSON document only, and the command's tables, notes and progress
displays go to stderr. The text comes from :func:`json_text`, which writes NaN and infinities as
``null`` (Python's ``json`` would write the bare token ``NaN``, which is not JSON).

Examples
--------
>>> json_text({"qwk": float("nan"), "n": 3})
'{\\n  "qwk": null,\\n  "n": 3\\n}'
>>> to_stdout(Path("-")), to_stdout(Path("r.json")), to_stdout(None)
(True, False, False)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from assetgrade.cli.console import tables_to_stderr
from assetgrade.cli.options import check_output_file

__all__ = ["STDOUT", "json_output", "json_text", "to_stdout", "write_json"]

STDOUT = "-"
"""What ``--json`` takes for standard output."""


def to_stdout(path: Path | None) -> bool:
    """Whether a ``--json`` value means standard output."""
    return path is not None and str(path) == STDOUT


def json_text(doc: Any) -> str:
    """``doc`` as indented, strict JSON: numpy values plain, NaN and infinities ``null``, other objects as text."""
    from assetgrade.jsonsafe import jsonable  # numpy: not imported while the CLI starts

    return json.dumps(jsonable(doc), indent=2, default=str, allow_nan=False)


def write_json(doc: Any, path: Path) -> None:
    """Print ``doc`` (:func:`json_text`) on stdout when ``path`` is ``-``, else write it to ``path`` (folders made)."""
    text = json_text(doc)
    if to_stdout(path):
        typer.echo(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def json_output(*, printed_anyway: bool = False) -> Callable[[typer.Context, typer.CallbackParam, Any], Any]:
    """The callback of a ``--json FILE`` option: ``-`` is stdout, any other value a file to write (checked now).

    With ``-`` the command's ``console`` writes to stderr until the command ends, so its tables
    and notes never mix with the JSON. ``printed_anyway``: the command prints its JSON on stdout
    whether or not ``--json`` is given (the benchmarks); ``-`` is then None, no file.
    """

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None:
            return None
        if not to_stdout(Path(value)):
            return check_output_file(Path(value), str(max(param.opts or ["--json"], key=len)))
        ctx.call_on_close(tables_to_stderr())
        return None if printed_anyway else Path(STDOUT)

    return check
