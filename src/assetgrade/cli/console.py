"""The CLI's consoles: stored text (ids, file names, log lines, messages) prints exactly as it is.

Rich reads ``[...]`` in a printed string as markup, so an asset id such as ``a[/]b`` or a work
order saying ``[common return ]`` would crash the CLI or lose text. These consoles have markup
off; our own colours come from ``styled`` (a styled head, then plain text) or ``style=``.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

__all__ = ["console", "err_console", "interrupt_told", "live_display", "styled", "tell_interrupted"]

console = Console(markup=False)
err_console = Console(stderr=True, markup=False)

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
