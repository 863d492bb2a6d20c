"""Cleaning a stored log entry for reading: decode, cut, unescape HTML, blank tags and invisible characters.

HTML character references are decoded first (``&lt;b&gt;cracked`` → ``<b>cracked``,
``&#99;racked`` → ``cracked``, ``crack&amp;leak`` → ``crack&leak``), then formatting tags are
blanked, so a tag that was escaped is removed like one that was not and a word written with a
reference stays one word. Decoding makes the text shorter, so the cleaned text keeps, for each of
its characters, where it came from: :meth:`CleanText.source_span` turns a span of the cleaned
text into the span of the stored text it was read from.

Text escaped twice (``&amp;lt;b&amp;gt;``, notes exported as HTML from a system that already
stored them escaped) is decoded again, up to :data:`MAX_UNESCAPES` times in all, so it reads as
typed; a reference the decoding does not know (``&bogus;``) stays as written.
"""

from __future__ import annotations

import html
import html.entities
import re
from dataclasses import dataclass, field

__all__ = ["MAX_UNESCAPES", "CleanText", "clean_entry", "clean_text"]

MAX_UNESCAPES = 3
"""How many layers of HTML escaping are decoded (``&amp;amp;lt;`` is three)."""

_INVISIBLE = re.compile("[\u00a0\u200b\u200c\u200d\u2060\ufeff\x00-\x08\x0e-\x1f\x7f"
                        "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""A no-break space, zero-width characters (as pasted from web forms), direction marks and embeddings
(left-to-right / right-to-left marks around Arabic or Hebrew) and control characters (NUL, bell,
escape, DEL from terminals and binary exports): read as spaces."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG = re.compile(r"</?(?:a|b|i|u|em|strong|font|span|div|p|br|hr|td|tr|th|table|li|ul|ol|small|sup|sub)"
                  r"(?P<attrs>\s[^<>]*)?/?>", re.I)
"""An HTML formatting tag (``<b>``, ``</td>``, ``<br/>``): a word boundary, not part of a word; ``<id>`` stays."""
_BARE_ATTRIBUTES = frozenset(["nowrap", "noshade", "compact", "hidden", "/"])
"""Attributes written without a value; any other word without ``=`` means the brackets are text
("flow <a few l/min>"), not a tag."""
_ENTITY = re.compile(r"&(?:[a-z][a-z0-9]{1,31}|#[0-9]{1,7}|#x[0-9a-f]{1,6});", re.I)
"""An HTML character reference (``&nbsp;``, ``&amp;``, ``&#160;``, ``&frac12;``) from notes exported as HTML."""


@dataclass(frozen=True)
class CleanText:
    """A cleaned entry text, its quality flags and where each of its characters came from.

    ``starts[i]`` / ``ends[i]`` are the span of the stored text that character ``i`` was read
    from (a decoded reference spans the whole reference); empty when nothing was decoded and
    the cleaned text indexes the stored text one to one.

    Examples
    --------
    >>> c = clean_entry("&#99;racked &amp; leaking", 100)
    >>> c.text, c.source_span(0, 7), c.source_span(10, 17)
    ('cracked & leaking', (0, 11), (18, 25))
    """

    text: str
    flags: list[str] = field(default_factory=list)
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the stored text (decoded from bytes, cut to ``max_chars``) that ``text[start:end]`` came from."""
        if not self.starts or start >= end:
            return start, end
        return self.starts[start], self.ends[end - 1]


def clean_text(text: str | bytes, max_chars: int) -> tuple[str, list[str]]:
    """Text as str, bytes decoded (bad bytes replaced), cut to ``max_chars``; with quality flags.

    See :func:`clean_entry` for the spans of the stored text.

    >>> clean_text(b"leak\\xff", 100)
    ('leak\\ufffd', ['not_utf8'])
    """
    cleaned = clean_entry(text, max_chars)
    return cleaned.text, cleaned.flags


def clean_entry(text: str | bytes, max_chars: int) -> CleanText:
    """The entry text cleaned for reading, with its flags and the map back to the stored text."""
    flags: list[str] = []
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            flags.append("not_utf8")
    elif _SURROGATE.search(text):  # bytes decoded with surrogateescape: the sentence embedder cannot encode them
        text = _SURROGATE.sub("\ufffd", text)
        flags.append("not_utf8")
    if len(text) > max_chars:
        text = text[:max_chars]  # before the HTML and invisible-character passes: a 1 MB page took 0.4 s
        flags.append("truncated")
    starts: list[int] = []
    ends: list[int] = []
    for _ in range(MAX_UNESCAPES):
        decoded = _unescape(text, starts, ends)
        if decoded is None:
            break
        text, starts, ends = decoded
    if _TAG.search(text) or _INVISIBLE.search(text):
        # "<b>cracked</b>", "pump\u00a0cracked\u200b": words apart; blanked to spaces of the same length
        text = _INVISIBLE.sub(" ", _TAG.sub(_blank_tag, text))
    if not text.strip():
        flags.append("empty")
    return CleanText(text, flags, tuple(starts), tuple(ends))


def _unescape(text: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]] | None:
    """One layer of character references decoded, with the source spans carried through; None: none known.

    >>> _unescape("a&amp;b", [], [])
    ('a&b', [0, 1, 6], [1, 6, 7])
    """
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for m in _ENTITY.finditer(text):
        char = _character(m.group())
        if char is None:
            continue
        out.append(text[pos : m.start()])
        new_starts.extend(range(pos, m.start()))
        new_ends.extend(range(pos + 1, m.start() + 1))
        out.append(char)
        new_starts.extend([m.start()] * len(char))
        new_ends.extend([m.end()] * len(char))
        pos = m.end()
    if not out:
        return None
    out.append(text[pos:])
    new_starts.extend(range(pos, len(text)))
    new_ends.extend(range(pos + 1, len(text) + 1))
    if starts:  # an earlier layer: back to the stored text
        new_starts = [starts[i] for i in new_starts]
        new_ends = [ends[i - 1] for i in new_ends]
    return "".join(out), new_starts, new_ends


def _character(ref: str) -> str | None:
    """The text a character reference stands for (space and control characters as one space); None if unknown.

    >>> _character("&amp;"), _character("&nbsp;"), _character("&#99;"), _character("&bogus;")
    ('&', ' ', 'c', None)
    """
    # a name is looked up whole, case and all: html.unescape would read "&ampere;" as "&" + "ere;"
    text = html.unescape(ref) if ref[1] == "#" else html.entities.html5.get(ref[1:], "")
    if not text or text == ref:
        return None
    return "".join(ch if ch.isprintable() and not ch.isspace() else " " for ch in text)


def _blank_tag(m: re.Match[str]) -> str:
    """A formatting tag as spaces of its length; brackets around words that are no attributes stay text."""
    attrs = m.group("attrs") or ""
    if attrs.strip() and "=" not in attrs and not all(w.lower() in _BARE_ATTRIBUTES for w in attrs.split()):
        return m.group()
    return " " * len(m.group())
