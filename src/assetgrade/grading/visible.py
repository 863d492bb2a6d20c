"""Characters a page must not leave invisible or obey: control characters and bidi controls shown as what they are.

One table and one function, used as the Jinja ``finalize`` of the HTML grade report and of the review UI's pages,
so every text either writes (ids, log entries, reasons, finding summaries, grade and series names, in elements and
in attribute values alike) is treated the same way.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

__all__ = ["BIDI_CONTROLS", "CONTROL_PICTURES", "Exact", "exact", "visible"]

BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
"""The Arabic letter mark, LRM and RLM, the embeddings and overrides (U+202A ... U+202E) and the isolates
(U+2066 ... U+2069): each changes the order in which the characters after it are drawn."""
_INVISIBLE = (*range(0x80, 0xA0), 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, *BIDI_CONTROLS)
CONTROL_PICTURES: dict[int, int | str] = {
    **{c: 0x2400 + c for c in range(32) if chr(c) not in "\t\n\r"}, 0x7F: 0x2421,
    **{c: f"\u27e8U+{c:04X}\u27e9" for c in _INVISIBLE}}
"""C0 control characters (but tab and line breaks) and DEL as their Unicode pictures (U+2400 ...): a browser drops
a NUL from the page's text and shows U+FFFD for it in an attribute, so 'pump-7\\x00x' read 'pump-7x'. C1 controls
(U+0080 ... U+009F), zero-width characters (U+200B ... U+200D, U+2060, U+FEFF) and the :data:`BIDI_CONTROLS`, which
have no picture, as their code point in angle brackets ('⟨U+200B⟩'): 'pump\\u200b7' looked like 'pump7', and a
right-to-left override inside a log entry or a reason drew the rest of it backwards ('<bdi>' isolates a text from
what is around it, not from itself). A page that isolates a text on purpose writes FSI ... PDI as character
references (``&#x2068;``), which this does not touch."""


class Exact(Markup):
    """Escaped text that :func:`visible` leaves as it is: a form field's value, a ``data-`` attribute a script sends
    back. Made by :func:`exact`."""

    __slots__ = ()


def exact(value: Any) -> Exact:
    """``value`` escaped and kept exactly as it is (the ``exact`` filter of the review UI's templates): what the
    browser sends back, such as a note kept in the review form after a conflict, must be what was typed.

    Examples
    --------
    >>> visible(exact("a\\u202eb")) == "a\\u202eb", visible("a\\u202eb")
    (True, 'a⟨U+202E⟩b')
    """
    return Exact(escape(value))


def visible(value: Any) -> Any:
    """``value`` with :data:`CONTROL_PICTURES` applied (texts and markup alike: none of those characters is markup,
    and nothing that replaces them holds any); :class:`Exact` text and anything not a string unchanged.

    Examples
    --------
    >>> visible("pump-7\\x00x"), visible(Markup("<b>seal \\u202eleak</b>")), visible(3)
    ('pump-7␀x', Markup('<b>seal ⟨U+202E⟩leak</b>'), 3)
    """
    if isinstance(value, Exact):
        return value
    if isinstance(value, Markup):
        return Markup(str(value).translate(CONTROL_PICTURES))
    return value.translate(CONTROL_PICTURES) if isinstance(value, str) else value
