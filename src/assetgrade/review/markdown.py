"""Escaping text for Markdown (CommonMark with GitHub's tables and strikethrough) so it shows as written.

Text from outside the code (ontology names, asset ids, file paths, notes) can hold characters
that Markdown reads as structure: ``|`` ends a table cell, a newline ends a table row or a
heading, ``*``/``_``/``~`` start emphasis or strikethrough, ``[``/``]`` a link, ``<`` raw HTML
or an autolink, a backtick a code span, ``&amp;`` an entity, and ``#``, ``-``, ``>``, ``1.`` at
the start of a paragraph a heading, list or quote. These helpers make such text literal:

- :func:`md_text` for running text, a table cell or a heading (line breaks become spaces);
- :func:`md_block` for text that starts a paragraph (also escapes block markers at its start);
- :func:`md_code` for a code span whose content is shown exactly, backticks included;
- :func:`md_url` for a link or image destination (percent-encoded).

Backslash escapes of ASCII punctuation are CommonMark's (spec 0.31, section 2.4); every
character escaped here is ASCII punctuation, so the escapes are removed on rendering.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["md_block", "md_code", "md_text", "md_url"]

_SPACE = re.compile(r"\s+")
_ALWAYS = re.compile(r"([\\`*\[\]<|~#])")
_ENTITY = re.compile(r"&(?=#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
"""An underscore not between two letters or digits (one inside a word cannot start emphasis)."""
_BLOCK_START = re.compile(r"^(?:([-+=>])|([0-9]{1,9})([.)]))")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", str(text)).strip()


def md_text(text: str) -> str:
    r"""``text`` as literal inline Markdown on one line, safe in a table cell, a heading or emphasis.

    >>> md_text("pump_3 | *seal*\nleak <b>")
    'pump_3 \\| \\*seal\\* leak \\<b>'
    """
    out = _ALWAYS.sub(r"\\\1", _one_line(text))
    out = _UNDERSCORE.sub(r"\\_", out)
    return _ENTITY.sub(r"\\&", out)


def md_block(text: str) -> str:
    r"""``text`` as a literal paragraph: :func:`md_text` plus escaping a list, quote or heading marker at its start.

    >>> md_block("- not a list"), md_block("1. not a list either")
    ('\\- not a list', '1\\. not a list either')
    """
    out = md_text(text)
    m = _BLOCK_START.match(out)
    if m is None:
        return out
    if m.group(1):
        return "\\" + out
    return f"{m.group(2)}\\{m.group(3)}{out[m.end():]}"


def md_code(text: str) -> str:
    """``text`` as a code span: a backtick fence longer than any run of backticks inside, padded when needed.

    Not for a table cell: there a ``|`` would still end the cell.

    >>> md_code("a`b"), md_code("`x")
    ('``a`b``', '`` `x ``')
    """
    body = _one_line(text) if "\n" in str(text) or "\r" in str(text) else str(text)
    if not body:
        return "` `"  # `` would be two literal backticks, not an empty span
    runs = [len(r) for r in re.findall(r"`+", body)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = body.startswith("`") or body.endswith("`") or (body[:1] == " " and body[-1:] == " " and body.strip() != "")
    if pad:
        body = f" {body} "
    return f"{fence}{body}{fence}"


def md_url(target: str) -> str:
    """``target`` as a link destination: characters Markdown or a URL would read are percent-encoded.

    A target with a scheme (``https://...``) keeps its existing %XX escapes; a file path is taken
    as written, so a ``%`` in a file name is encoded too.

    >>> md_url("reviewed/dent (2).jpg"), md_url("https://x.org/a%20b.jpg")
    ('reviewed/dent%20%282%29.jpg', 'https://x.org/a%20b.jpg')
    """
    s = str(target)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", s):
        out = quote(re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", s), safe="/:@!$&'*+,;=-._~?#%")
    else:
        out = quote(s, safe="/:@!$&'*+,;=-._~")
    return _ENTITY.sub(r"\\&", out)  # an entity reference would be decoded in a destination too
