"""Range and output-file checks for CLI options, run by Click while it parses, before any work starts.

Each factory returns a typer option callback that refuses a bad value with a
:class:`~assetgrade.errors.ValidationError` naming the option (``error: --per-class: -1 is not
allowed; it must be >= 1``), which ``assetgrade`` turns into exit code 2 like every other
validation error. (typer's own ``min=``/``max=`` also exit 2, with Click's "Invalid value" line,
but cannot say why a bound exists nor check a file to write.)

Examples
--------
>>> at_least(1)(None, 3)
3
>>> try:
...     interval(0.0, 1.0, low_open=True)(None, 0.0)
... except ValidationError as exc:
...     print(exc)
option: 0 is not allowed; it must be in (0, 1]
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from assetgrade.errors import ValidationError
from assetgrade.seeds import SEED_MAX

__all__ = ["INT64_MAX", "SEED_MAX", "at_least", "check_input", "check_output_file", "check_output_folder",
           "input_file", "input_folder", "interval", "output_file", "output_folder", "plot_beside", "positive",
           "valid_seed"]

N = TypeVar("N", int, float)

INT64_MAX = 2**63 - 1
"""The largest row count or offset the stores take (SQLite's INTEGER; a larger one was an OverflowError)."""


def _name(param: Any) -> str:
    """How ``--help`` names the parameter: ``--file`` for an option, ``FILE`` for an argument."""
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.metavar or param.name or "argument").upper()
    opts = getattr(param, "opts", None) or ["option"]
    return str(max(opts, key=len))


def _number(value: object) -> str:
    """``value`` as given: whole numbers in full (``4294967295``, ``1234567``), others at full precision.

    >>> _number(2**32 - 1), _number(36_500.0), _number(0.25), _number(1e-3)
    ('4294967295', '36500', '0.25', '0.001')
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def interval(
    low: float | None = None, high: float | None = None, *, low_open: bool = False, high_open: bool = False
) -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback accepting values between ``low`` and ``high`` (either bound open, or absent); None passes."""
    if low is not None and high is not None:
        allowed = f"in {'(' if low_open else '['}{_number(low)}, {_number(high)}{')' if high_open else ']'}"
    elif low is not None:
        allowed = f"{'>' if low_open else '>='} {_number(low)}"
    else:
        allowed = f"{'<' if high_open else '<='} {_number(high)}"

    def check(param: typer.CallbackParam, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{value} is not allowed; it must be a finite number {allowed}", where=_name(param))
        bad = (low is not None and (value <= low if low_open else value < low)) or (
            high is not None and (value >= high if high_open else value > high))
        if bad:
            raise ValidationError(f"{_number(value)} is not allowed; it must be {allowed}", where=_name(param))
        return value

    return check


def at_least(low: int) -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback accepting numbers ``>= low`` (counts, sizes, seeds)."""
    return interval(low)


def valid_seed() -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback accepting seeds in ``[0, SEED_MAX]`` (a larger one fails in scikit-learn after the data is read)."""
    return interval(0, SEED_MAX)


def positive() -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback accepting numbers above zero."""
    return interval(0.0, low_open=True)


def plot_beside(json_path: Path | None, png: Path | None = None) -> Path | None:
    """Where a benchmark's plot goes: ``png`` when given, else beside ``json_path`` (``r.json`` → ``r.png``).

    A JSON path that already ends in ``.png`` gives ``r-plot.png``, and a ``png`` naming the JSON file
    is a ValidationError, so the plot never overwrites the result.

    Examples
    --------
    >>> plot_beside(Path("out/r.json")).as_posix(), plot_beside(Path("r.png")).as_posix(), plot_beside(None)
    ('out/r.png', 'r-plot.png', None)
    """
    if png is not None:
        if json_path is not None and png.resolve() == json_path.resolve():
            raise ValidationError(f"{png} is also the --json file; give the plot another name", where="--png")
        return png
    if json_path is None:
        return None
    beside = json_path.with_suffix(".png")
    return beside if beside != json_path else json_path.with_name(f"{json_path.stem}-plot.png")


def check_output_file(path: Path, where: str) -> Path:
    """``path`` as a file to write: not a folder, inside a folder that exists or can be made, and writable.

    Checked before the work that produces the file, so a typo costs no minutes of grading. Raises
    ValidationError naming ``where`` (the option).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_output_file(d / "new" / "r.html", "--html").name
    'r.html'
    >>> try:
    ...     check_output_file(d, "--html")
    ... except ValidationError as exc:
    ...     print(exc.where, "folder" in str(exc))
    --html True
    """
    if path.is_dir():
        raise ValidationError(f"{path} is a folder; give the name of a file to write", where=where)
    _check_creatable(path.parent, f"cannot write {path}", where)
    return path


def _check_creatable(folder: Path, what: str, where: str) -> None:
    """``folder`` exists or can be made: its nearest existing ancestor is a folder we may write in."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ValidationError(f"{what}: {probe} is not a folder", where=where)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValidationError(f"{what}: no permission to write in {probe}", where=where)


def check_output_folder(path: Path, where: str) -> Path:
    """``path`` as a folder to write into: a folder that exists or can be made, and writable.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "f.txt"
    >>> _ = f.write_text("x")
    >>> try:
    ...     check_output_folder(f, "--out")
    ... except ValidationError as exc:
    ...     print(exc.where, "not a folder" in str(exc))
    --out True
    """
    if path.exists() and not path.is_dir():
        raise ValidationError(f"{path} is a file, not a folder; give a folder to write into", where=where)
    _check_creatable(path, f"cannot write into {path}", where)
    return path


def check_input(path: Path, kind: str, where: str, what: str | None = None) -> Path:
    """``path`` as an input to read: it exists and is a ``kind`` (``"file"`` or ``"folder"``), named ``what``
    in the message (default: the kind).

    A missing input or one of the wrong kind is bad input (exit 2) named by ``where``, before any
    work: not a "not found" (exit 3, which names things missing from the store) nor the system's
    "Is a directory" (exit 1) later.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_input(d, "folder", "DIR") == d
    True
    >>> for p, kind in ((d, "file"), (d / "nope.yaml", "file")):
    ...     try:
    ...         check_input(p, kind, "FILE")
    ...     except ValidationError as exc:
    ...         print(exc.where, str(exc).split(": ", 1)[1].replace(str(d), "D"))
    FILE D is a folder, not a file
    FILE D/nope.yaml does not exist; give a file to read
    """
    what = what or kind
    if not path.exists():
        raise ValidationError(f"{path} does not exist; give a {what} to read", where=where)
    if path.is_file() if kind == "file" else path.is_dir():
        return path
    if not (path.is_file() or path.is_dir()):
        raise ValidationError(f"{path} is neither a file nor a folder; give a {what} to read", where=where)
    raise ValidationError(f"{path} is a {'folder' if path.is_dir() else 'file'}, not a {what}", where=where)


def input_file(what: str | None = None) -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback checking a file-to-read parameter with :func:`check_input`; None passes."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        return value if value is None else check_input(Path(value), "file", _name(param), what)

    return check


def input_folder(what: str | None = None) -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback checking a folder-to-read parameter with :func:`check_input`; None passes."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        return value if value is None else check_input(Path(value), "folder", _name(param), what)

    return check


def output_folder() -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback checking a folder-to-write option with :func:`check_output_folder`; None passes."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        return value if value is None else check_output_folder(Path(value), _name(param))

    return check


def output_file() -> Callable[[typer.CallbackParam, Any], Any]:
    """A callback checking a file-to-write option with :func:`check_output_file`; None passes."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        return value if value is None else check_output_file(Path(value), _name(param))

    return check
