"""What the asset page reads of a long log entry, on SQLite and (when a server answers) PostgreSQL: the characters it
draws (SQL ``substr``) and the entry's length in characters (SQL ``length``), not the whole text, which only "show
all" reads; and of an entry of many short lines at most :data:`~assetgrade.web.page.TEXT_LINES` lines are drawn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from assetgrade.rest import create_app, create_token
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.web.page import TEXT_LINES, TEXT_SHOWN, text_cut
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS, add_text_prediction

# multi-byte characters throughout (2, 3 and 4 bytes in UTF-8): the page counts characters, as Python does
LINE = ("Prüfung Pumpe P-7 — Ventil V-2 geprüft, Dichtung 😀 ok; Kosten 12 € <ok> & weiter, "
        "keine Befunde an der Welle.\n")
NOTE = "long/log/1"
OTHER_NOTE = "long/log/2"


def _note(n_chars: int) -> str:
    return (LINE * (n_chars // len(LINE) + 1))[:n_chars]


def _seed(ws: Workspace, notes: dict[str, str], spans: list[tuple[int, int]]) -> TestClient:
    """An asset with the given log entries (``spans`` highlighted in :data:`NOTE`) and a reviewer logged in."""
    with ws.session() as s:
        token, _ = create_token(s, name="alice", role="reviewer", actor="test")
        add_asset(s, "long", asset_type="pump")
        for k, (ev_id, text) in enumerate(notes.items()):
            add_evidence(s, asset_id="long", kind="log", sha256=f"{k:064x}", evidence_id=ev_id, text=text,
                         attributes={"date": "2026-03-01"})
        add_text_prediction(s, "long", NOTE, spans)
    c = TestClient(create_app(ws, SMALL_LIMITS))
    assert c.post("/ui/login", data={"token": token}, follow_redirects=False).status_code == 303
    return c


@contextmanager
def _statements(ws: Workspace) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) sent on the workspace's engine while the block runs."""
    sent: list[tuple[str, Any]] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(ws.engine, "before_cursor_execute", on_execute)
    try:
        yield sent
    finally:
        event.remove(ws.engine, "before_cursor_execute", on_execute)


_NOT_THE_TEXT = re.compile(r"(?:substr|length)\(evidence\.text\b|CAST\(evidence\.text AS BLOB\)"
                           r"|evidence\.text IS (?:NOT )?NULL", re.I)


def _reads_whole_text(statement: str) -> bool:
    """Whether the statement selects an evidence row's text itself, not only a part of it (``substr``), its length
    or whether it is null."""
    return re.search(r"\bevidence\.text\b", _NOT_THE_TEXT.sub("", statement)) is not None


def _params(parameters: Any) -> list[Any]:
    return list(parameters.values()) if isinstance(parameters, dict) else list(parameters or ())


def _entries(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", e)) for e in re.findall(r'<p class="log-text"[^>]*>(.*?)</p>', html, re.S)]


def _more(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", m)) for m in re.findall(r'<p class="hint more-text">(.*?)</p>', html, re.S)]


def test_the_page_reads_the_shown_part_and_the_length_and_show_all_the_whole(store_ws: Workspace) -> None:
    ws = store_ws
    text, other = _note(300_000), _note(9_000)
    c = _seed(ws, {NOTE: text, OTHER_NOTE: other}, [(200, 207), (TEXT_SHOWN - 100, TEXT_SHOWN + 100),
                                                    (250_000, 250_010), (299_990, 300_500)])
    with c, _statements(ws) as sent:
        page = c.get("/ui/assets/long")
        on_page = list(sent)
        sent.clear()
        alone = c.get(f"/ui/assets/long?text={NOTE}", headers={"HX-Request": "true"})
        for_show_all = list(sent)
        sent.clear()
        whole_page = c.get(f"/ui/assets/long?text={NOTE}")
        for_whole_page = list(sent)
    assert page.status_code == alone.status_code == whole_page.status_code == 200
    # the page's query read every entry whole (300,000 characters of this one) on every view
    assert not [s for s, _ in on_page if _reads_whole_text(s)]
    heads = [(s, p) for s, p in on_page if re.search(r"substr\(evidence\.text\b", s)]
    assert len(heads) == 1 and re.search(r"length\(evidence\.text\)", heads[0][0])
    assert TEXT_SHOWN in _params(heads[0][1])  # at most the characters the page may draw
    first, second = _entries(page.text)
    assert text.startswith(first) and TEXT_SHOWN - 80 <= len(first) <= TEXT_SHOWN and first[-1].isspace()
    assert other.startswith(second) and len(second) < len(other)
    assert len(text.encode()) > len(text) + 20_000  # counted in bytes, the characters left off would be more
    assert _more(page.text)[0].startswith(f"… ({len(text) - len(first):,} more characters, 2 more highlighted spans)")
    assert _more(page.text)[1].startswith(f"… ({len(other) - len(second):,} more characters)")
    # "show all" reads the entry whole, alone or in the page; in the page the other entry stays cut
    assert [s for s, _ in for_show_all if _reads_whole_text(s)] and _entries(alone.text) == [text]
    assert [s for s, _ in for_whole_page if _reads_whole_text(s)]
    assert _entries(whole_page.text) == [text, second] and len(_more(whole_page.text)) == 1


def test_an_entry_of_many_short_lines_is_cut_after_its_line_cap(store_ws: Workspace) -> None:
    ws = store_ws
    lines = "ok\n" * 1000  # 3,000 characters: under the character cap, 1,000 lines tall drawn whole
    c = _seed(ws, {NOTE: lines, OTHER_NOTE: "ok\r\n" * TEXT_LINES}, [(3 * (TEXT_LINES + 5), 3 * (TEXT_LINES + 6))])
    with c:
        page = c.get("/ui/assets/long")
        whole = c.get(f"/ui/assets/long?text={NOTE}", headers={"HX-Request": "true"})
    first, second = _entries(page.text)
    assert first == "ok\n" * TEXT_LINES
    assert _more(page.text) == [f"… ({len(lines) - len(first):,} more characters, 1 more highlighted span)"
                                f" — show all"]
    assert second == "ok\r\n" * TEXT_LINES  # as many lines as are drawn: whole, without a control
    assert _entries(whole.text) == [lines]


def test_the_cut_rules_for_lines_and_characters() -> None:
    # after the line break ending the TEXT_LINES-th line, whichever of LF, CR LF and a lone CR it is
    for br in ("\n", "\r\n", "\r"):
        text = f"ok{br}" * (TEXT_LINES + 1)
        assert text_cut(text, len(text)) == len(f"ok{br}") * TEXT_LINES
    text = "ok\n" * TEXT_LINES
    assert text_cut(text, len(text)) == len(text)  # as many lines as are drawn, with a final line break: whole
    assert text_cut(text + "x", len(text) + 1) == len(text)
    # a few short lines, then a long one: cut by characters, after a space
    text = "ok\n" * (TEXT_LINES - 1) + "word " * 2000
    cut = text_cut(text[:TEXT_SHOWN], len(text))
    assert TEXT_SHOWN - 80 <= cut <= TEXT_SHOWN and text[cut - 1] == " "
    # the line cap counts the lines within the first TEXT_SHOWN characters only: here 10, cut by characters
    text = "w" * (TEXT_SHOWN - 10) + "\n" * 100
    assert text_cut(text[:TEXT_SHOWN], len(text)) == TEXT_SHOWN
    # at most TEXT_SHOWN characters and TEXT_LINES lines: whole
    text = "x" * (TEXT_SHOWN - 100) + "\n" * (TEXT_LINES - 1)
    assert text_cut(text, len(text)) == len(text)
