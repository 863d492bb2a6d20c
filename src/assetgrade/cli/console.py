"""The CLI's consoles: stored text (ids, file names, log lines, messages) prints exactly as it is.

Rich reads ``[...]`` in a printed string as markup, so an asset id such as ``a[/]b`` or a work
order saying ``[common return ]`` would crash the CLI or lose text. These consoles have markup
off; our own colours come from ``styled`` (a styled head, then plain text) or ``style=``.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

__all__ = ["console", "err_console", "styled"]

console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


def styled(style: str, head: str, rest: str = "") -> Text:
    """``head`` in ``style`` followed by ``rest``, both taken literally (no markup).

    Examples
    --------
    >>> styled("green", "ok", " a[/]b").plain
    'ok a[/]b'
    """
    return Text.assemble((head, style), rest)
