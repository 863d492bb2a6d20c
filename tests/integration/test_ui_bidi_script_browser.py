"""A right-to-left override in a text the review page's script writes (review.js), drawn by chromium: an image id in
the message of an image that does not decode, and in a box's line of the defect list, is shown as the server shows
it ('⟨U+202E⟩'), so the rest of the text keeps its order (test_ui_bidi_browser.py: the texts the server writes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from assetgrade.rest import create_token
from assetgrade.store.repository import add_evidence
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)
from .test_ui_bidi import AID, IMG, RLO, add_hostile

BAD = f"bad-{RLO}(pump)"
"""An image of the asset whose stored bytes do not decode: the script says so, naming it."""

PUMP = """(sel) => { const el = document.querySelector(sel), n = el.firstChild, i = n.data.indexOf('(pump)');
    return [el.textContent, [0, 1, 2, 3, 4, 5].map((k) => { const r = document.createRange();
        r.setStart(n, i + k); r.setEnd(n, i + k + 1); return r.getBoundingClientRect().left; })]; }"""
"""The text of the element ``sel`` finds and the left edges of the letters of the first '(pump)' in it."""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def served_bidi_script(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("browser-bidi-script") / "ws"
    ws = Workspace.init(path)
    add_hostile(ws)
    with ws.session() as s:
        bad = ws.blobs.put_bytes(b"\x89PNG\r\n\x1a\n not really an image")
        add_evidence(s, asset_id=AID, kind="image", sha256=bad, blob_sha=bad, media_type="image/png",
                     attributes={"width": 320, "height": 240}, evidence_id=BAD)
        tokens = {"alice": create_token(s, name="alice", role="reviewer", actor="test")[0]}
    ws.close()
    yield from _serve(path, tokens)


def test_an_override_in_an_image_id_the_script_writes_does_not_reverse_the_rest(
        browser: Any, served_bidi_script: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = _login(browser, served_bidi_script, "alice")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served_bidi_script.url}/ui/assets/{quote(AID)}")
    alert = page.locator("figure.imgbox p.msg.error[role=alert]")
    expect(alert).to_have_count(1)
    text, lefts = page.evaluate(PUMP, "figure.imgbox p.msg.error[role=alert]")
    assert lefts == sorted(lefts), (lefts, text)  # '(pump)' drawn as '(pump)'
    assert text.startswith("Image bad-\u27e8U+202E\u27e9(pump) cannot be shown: its file does not decode"), text
    sent = page.locator("figure.imgbox[data-evidence]").evaluate_all(
        "(figs) => figs.map((f) => f.getAttribute('data-evidence'))")
    assert sorted(sent) == sorted([IMG, BAD])  # what the box tool sends: exact
    # a box placed with the keyboard on the other image: its line in the defect list names the image as shown
    page.locator(f"figure.imgbox[data-evidence='{IMG}'] .stage").focus()
    page.keyboard.press("Enter")
    info = page.locator("#defect-list li .boxinfo").last
    expect(info).to_contain_text("on img-\u27e8U+202E\u27e91")
    assert RLO not in info.text_content()
    page.keyboard.press("Enter")  # kept: written to the form
    expect(page.locator(f"figure.imgbox[data-evidence='{IMG}'] .boxstatus")).to_contain_text("Kept box")
    boxes = page.locator("#defects-json").input_value()
    assert json.loads(boxes)[-1]["evidence_id"] == IMG, boxes  # the box is posted on the exact id
    page.context.close()
    assert errors == []
