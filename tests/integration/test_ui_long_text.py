"""A huge log entry on the asset page, through the test client: the page draws its first part (highlights and escaping
intact) with a "show all" control, and the whole entry comes on request, alone or in the page."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient

from assetgrade.rest import create_app, create_token
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.web.page import TEXT_SHOWN, clip_text
from assetgrade.workspace import Workspace

from .conftest import SMALL_LIMITS, add_text_prediction

# lines long enough that the character cap, not the line cap (TEXT_LINES), cuts the note
FILLER = "routine check of pump P-7 & valve V-2: no finding <ok>; seal, bearings and coupling as before, no leak.\n"
HOSTILE = "<script>alert(1)</script> & <b>bold</b>"


def long_note(n_chars: int = 1_000_000) -> tuple[str, list[tuple[int, int]]]:
    """A maintenance note of ``n_chars`` characters with markup-like text throughout and three spans for findings:
    a word early on, a passage across the point where the page cuts the note, a word near its end."""
    text = list((HOSTILE + "\n" + FILLER * (n_chars // len(FILLER) + 1))[:n_chars])
    for at in (200, n_chars - 500):
        text[at:at + 7] = "leakage"
    return "".join(text), [(200, 207), (TEXT_SHOWN - 100, TEXT_SHOWN + 100), (n_chars - 500, n_chars - 493)]


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def _client(tmp_path: Path, text: str, spans: list[tuple[int, int]]) -> tuple[Workspace, TestClient]:
    ws = Workspace.init(tmp_path / "ws")
    with ws.session() as s:
        token, _ = create_token(s, name="alice", role="reviewer", actor="test")
        add_asset(s, "pump-7", asset_type="pump")
        add_evidence(s, asset_id="pump-7", kind="log", sha256="a" * 64, evidence_id="pump-7/log/1&x", text=text,
                     attributes={"date": "2026-03-01"})
        add_evidence(s, asset_id="pump-7", kind="log", sha256="b" * 64, evidence_id="pump-7/log/2",
                     text="seal replaced, no leak found", attributes={"date": "2026-02-01"})
        add_text_prediction(s, "pump-7", "pump-7/log/1&x", spans)
        add_asset(s, "other", asset_type="pump")
    c = TestClient(create_app(ws, SMALL_LIMITS))
    assert c.post("/ui/login", data={"token": token}, follow_redirects=False).status_code == 303
    return ws, c


def _entries(html: str) -> list[str]:
    return re.findall(r'<p class="log-text"[^>]*>(.*?)</p>', html, re.S)


def test_a_one_megabyte_note_is_cut_on_the_page_with_a_show_all_control(tmp_path: Path) -> None:
    text, spans = long_note()
    ws, c = _client(tmp_path, text, spans)
    with c:
        r = c.get("/ui/assets/pump-7")
    ws.close()
    assert r.status_code == 200
    # the note was drawn whole: a 1 MB page on every view of the asset
    assert len(r.content) < 60_000, len(r.content)
    first, short = _entries(r.text)
    assert short == "seal replaced, no leak found"  # a short entry is drawn whole, without a control
    marks = [unescape(m) for m in re.findall(r'<mark class="confirmed" title="leak \(confirmed\)">(.*?)</mark>', first,
                                             re.S)]
    # the early word whole, the passage across the cut as far as the cut goes, the late word not at all
    a, b = spans[1]
    assert len(marks) == 2 and marks[0] == "leakage" and marks[1] and text[a:b].startswith(marks[1])
    assert "<script>" not in first and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in first
    shown = len(_text(first))
    assert text.startswith(_text(first)) and TEXT_SHOWN - 80 <= shown <= TEXT_SHOWN
    assert a + len(marks[1]) == shown and text[shown - 1].isspace()  # cut after a space, inside the passage
    more = re.search(r'<p class="hint more-text">(.*?)</p>', r.text, re.S)
    assert more is not None and r.text.count('class="hint more-text"') == 1
    assert f"({len(text) - shown:,} more characters, 1 more highlighted span)" in more.group(1)
    link = re.search(r'<a href="([^"]*)" hx-get="([^"]*)"[^>]*>show all</a>', more.group(1))
    assert link is not None and link.group(1).startswith(link.group(2))
    assert link.group(2) == "/ui/assets/pump-7?text=pump-7/log/1%26x"


def test_show_all_returns_the_whole_entry_alone_or_in_the_page(tmp_path: Path) -> None:
    text, spans = long_note(200_000)
    ws, c = _client(tmp_path, text, spans)
    with c:
        alone = c.get("/ui/assets/pump-7?text=pump-7/log/1%26x", headers={"HX-Request": "true"})
        page = c.get("/ui/assets/pump-7?text=pump-7/log/1%26x")
        other = c.get("/ui/assets/other?text=pump-7/log/1%26x", headers={"HX-Request": "true"})
        unknown = c.get("/ui/assets/pump-7?text=pump-7/log/9", headers={"HX-Request": "true"})
        stale = c.get("/ui/assets/pump-7?text=pump-7/log/9")
    ws.close()
    assert alone.status_code == 200 and "<html" not in alone.text and len(_entries(alone.text)) == 1
    assert "more-text" not in alone.text
    whole = _entries(alone.text)[0]
    assert whole.count("<mark ") == 3 and "<script>" not in whole
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in whole
    assert _text(whole) == text
    # without htmx (no script): the page, that entry drawn whole, the others as always
    assert page.status_code == 200 and "<html" in page.text and "more-text" not in page.text
    assert _entries(page.text)[0] == whole
    # an entry is shown with its own asset only, and an unknown one is a 404; the page with an unknown one is the
    # page as always (a link from before the entry was deleted)
    assert other.status_code == 404 and unknown.status_code == 404
    assert stale.status_code == 200 and 'class="hint more-text"' in stale.text


def test_clip_keeps_highlights_and_counts_what_it_leaves_off() -> None:
    text = "pump leak found; the seal leak was fixed later"
    spans = [(5, 9, "leak", "confirmed"), (26, 30, "leak", "negated")]
    assert clip_text(text, len(text), spans, limit=len(text))[1:] == (0, 0)
    shown, hidden, marks = clip_text(text[:20], len(text), spans, limit=20)
    # cut after the last space before character 20 ("pump leak found; "), the second leak among those left off
    assert shown == [("pump ", None, ""), ("leak", "leak", "confirmed"), (" found; ", None, "")]
    assert (hidden, marks) == (len(text) - 17, 1)
    shown, hidden, marks = clip_text(text[:7], len(text), spans, limit=7)  # after the space before the word
    assert shown == [("pump ", None, "")] and (hidden, marks) == (len(text) - 5, 2)
    dump = "x" * 200
    shown, hidden, marks = clip_text(dump[:100], len(dump), [(95, 110, "leak", "uncertain")], limit=100)
    # no space to cut at: the highlighted part shown is highlighted
    assert shown == [("x" * 95, None, ""), ("x" * 5, "leak", "uncertain")] and (hidden, marks) == (100, 0)
    # spans past the cut are counted as the whole text would draw them: one overlapping an earlier one, or past the
    # end, is not drawn and not counted
    shown, hidden, marks = clip_text(dump[:100], len(dump), [(120, 150, "a", ""), (130, 140, "b", ""),
                                                             (160, 170, "c", ""), (190, 260, "d", ""),
                                                             (205, 210, "e", "")], limit=100)
    assert (hidden, marks) == (100, 3)
