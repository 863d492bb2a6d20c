"""The CLI's consoles: stored text (ids, file names, log lines, messages) prints exactly as it is.

Rich reads ``[...]`` in a printed string as markup, so an asset id such as ``a[/]b`` or a work
order saying ``[common return ]`` would crash the CLI or lose text. These consoles have markup
off; our own colours come from ``styled`` (a styled head, then plain text) or ``style=``.

Written to a pipe or a file (cron, CI, ``| grep``), they lay tables out :data:`PIPE_WIDTH` columns
wide (or ``$COLUMNS``) instead of rich's 80, which cut ids such as model versions to ``grader-7…``;
there is no terminal to fit, and rich writes no colour codes there.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from rich.console import Console, ConsoleDimensions
from rich.text import Text

__all__ = ["PIPE_WIDTH", "console", "err_console", "interrupt_told", "live_display", "styled", "tables_to_stderr",
           "tell_interrupted"]

PIPE_WIDTH = 200
"""Columns of the layout when the output is not a terminal and ``$COLUMNS`` is not set."""


class _Console(Console):
    """A rich console that, writing to no terminal, lays out :data:`PIPE_WIDTH` columns (unless ``$COLUMNS``)."""

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self.is_terminal or os.environ.get("COLUMNS", "").isdigit():
            return dims
        return ConsoleDimensions(max(dims.width, PIPE_WIDTH), dims.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console: Console = _Console(markup=False)
err_console: Console = _Console(stderr=True, markup=False)


def tables_to_stderr() -> Callable[[], None]:
    """Send ``console`` (tables, notes) to stderr, so stdout carries one JSON document; returns the undo.

    >>> undo = tables_to_stderr(); console.stderr
    True
    >>> undo(); console.stderr
    False
    """
    before = console.stderr
    console.stderr = True

    def undo() -> None:
        console.stderr = before

    return undo

_told: list[str] = []  # what a command printed about its own Ctrl-C (see tell_interrupted)


def tell_interrupted(line: str) -> None:
    """Print, on stderr, what a Ctrl-C stopped and what it left; ``assetgrade`` then adds no line of its own."""
    err_console.print(line, soft_wrap=True, highlight=False)
    _told.append(line)


def interrupt_told(*, reset: bool = False) -> bool:
    """Whether a command printed its own Ctrl-C line (:func:`tell_interrupted`); ``reset`` forgets it."""
    told = bool(_told)
    if reset:
        _told.clear()
    return told


def live_display() -> bool:
    """Whether a progress bar or spinner may draw on stderr: only on a terminal.

    Elsewhere (a pipe, a file, a CI log) rich draws nothing useful while it runs, and a transient
    display still leaves a blank line behind when it ends.
    """
    return err_console.is_terminal


def styled(style: str, head: str, rest: str = "") -> Text:
    """``head`` in ``style`` followed by ``rest``, both taken literally (no markup).

    Examples
    --------
    >>> styled("green", "ok", " a[/]b").plain
    'ok a[/]b'
    """
    return Text.assemble((head, style), rest)
