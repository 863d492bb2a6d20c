"""Browser tests of what changes under the reviewer's eyes: the queue's 30 s refresh keeps the selected asset (and
what the window shows) when others review assets meanwhile, and a 1 MB log entry is drawn in part until asked for.

The service and chromium are started as in ``test_browser.py`` (whose helpers this module uses), over a workspace
of its own: the reviews written here change no other test's queue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assetgrade.modalities.base import Finding
from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.store.results import add_prediction
from assetgrade.web.page import TEXT_SHOWN
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)
from .test_ui_long_text import long_note

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

NOTE_ID = "long-note/log/1"
WHOLE_TEXT = re.compile(r"/ui/assets/long-note\?text=")
"""The request of the note's "show all"."""


@pytest.fixture(scope="module")
def served_queue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over 14 demo assets, all waiting for review, and an asset (not queued) with a 1 MB note."""
    path = tmp_path_factory.mktemp("browser-refresh") / "ws"
    ws = Workspace.init(path)
    seed_demo(ws, n_assets=14, seed=7, review_share=1.0)
    text, spans = long_note()
    with ws.session() as s:
        add_asset(s, "long-note", asset_type="pump")
        add_evidence(s, asset_id="long-note", kind="log", sha256="c" * 64, evidence_id=NOTE_ID, text=text,
                     attributes={"date": "2026-03-01"})
        findings = tuple(Finding(modality="text", summary="leak", defect="leak", span=sp, evidence_id=NOTE_ID)
                         for sp in spans)
        add_prediction(s, "long-note", model_version="m1", grade="B", distribution={"A": 0.4, "B": 0.6},
                       conformal_set=["A", "B"], decision="accept", expected_cost=0.2, payload=GradeResult(
                           asset_id="long-note", probabilities={"A": 0.4, "B": 0.6}, grade="B",
                           conformal_set=("A", "B"), coverage=0.9, expected_cost=0.2, decision="accept",
                           evidence=(ModalityEvidence("text", True, None, findings),)).to_dict())
        tokens = {"alice": create_token(s, name="alice", role="reviewer", actor="test")[0]}
    ws.close()
    yield from _serve(path, tokens)


def _queue(served: Served) -> list[dict[str, Any]]:
    return list(served.api("alice").get("/api/v1/queue?limit=100").json()["items"])


def _review(api: httpx.Client, item: dict[str, Any]) -> None:
    """Someone else reviews ``item`` through the API: it leaves the queue."""
    assert api.post(f"/api/v1/assets/{item['asset_id']}/reviews",
                    json={"expected_version": item["asset_version"], "grade": "A"}).status_code == 201


def _refresh(page: Any, rows: int) -> None:
    """Let the queue's 30 s refresh happen and wait until it brought ``rows`` rows."""
    from playwright.sync_api import expect

    page.clock.fast_forward("00:31")
    expect(page.locator("#queue-rows tr[data-href]")).to_have_count(rows)


def test_the_queue_refresh_keeps_the_selected_asset_and_what_the_window_shows(browser: Any,  # noqa: F811
                                                                              served_queue: Served) -> None:
    from playwright.sync_api import expect

    served = served_queue
    api = served.api("alice")
    page = _login(browser, served, "alice")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1400, "height": 300})  # a few rows fit: the page scrolls with the selection
    page.clock.install()
    page.reload()
    queue = _queue(served)
    assert len(queue) >= 12
    selected = page.locator("#queue-rows tr.selected")
    for _ in range(8):
        page.keyboard.press("j")
    expect(selected).to_have_attribute("data-href", f"/ui/assets/{queue[8]['asset_id']}")
    top = "r => r.getBoundingClientRect().top"
    before, scrolled = selected.evaluate(top), page.evaluate("() => window.scrollY")
    assert scrolled > 0  # the selected row is below the first screen
    _review(api, queue[0])  # two rows above the selection leave the queue
    _review(api, queue[2])
    _refresh(page, len(queue) - 2)
    # the selection stayed on its asset (it jumped to the asset two rows further down, which took its place) ...
    expect(selected).to_have_attribute("data-href", f"/ui/assets/{queue[8]['asset_id']}")
    expect(selected).to_have_attribute("aria-selected", "true")
    # ... and the window moved with it, so the reviewer sees the same rows where they were
    assert abs(selected.evaluate(top) - before) <= 1
    assert page.evaluate("() => window.scrollY") < scrolled
    # the selected asset itself is reviewed meanwhile: the selection stays at its place, on the next asset
    _review(api, queue[8])
    _refresh(page, len(queue) - 3)
    expect(selected).to_have_attribute("data-href", f"/ui/assets/{queue[9]['asset_id']}")
    page.keyboard.press("k")  # the keys go on from there
    expect(selected).to_have_attribute("data-href", f"/ui/assets/{queue[7]['asset_id']}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/assets/{queue[7]['asset_id']}")
    page.go_back()  # the page's history entry names the row last selected, also one the refresh chose
    expect(page.locator("#queue-rows tr.selected")).to_have_attribute("data-href",
                                                                      f"/ui/assets/{queue[7]['asset_id']}")
    assert errors == []
    page.context.close()


def test_a_new_asset_ahead_of_the_selection_does_not_move_it(browser: Any, served_queue: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    served = served_queue
    page = _login(browser, served, "alice")
    page.clock.install()
    page.reload()
    queue = _queue(served)
    selected = page.locator("#queue-rows tr.selected")
    page.keyboard.press("j")
    expect(selected).to_have_attribute("data-href", f"/ui/assets/{queue[1]['asset_id']}")
    with Workspace.open(served.ws_path) as ws, ws.session() as s:  # a station's new asset goes to the top
        add_asset(s, "urgent", asset_type="pump")
        add_prediction(s, "urgent", model_version="m1", grade="C", distribution={"A": 0.1, "B": 0.1, "C": 0.8},
                       conformal_set=["A", "B", "C"], decision="review", expected_cost=1e6)
    _refresh(page, len(queue) + 1)
    expect(page.locator("#queue-rows tr[data-href]").first).to_have_attribute("data-href", "/ui/assets/urgent")
    expect(selected).to_have_attribute("data-href", f"/ui/assets/{queue[1]['asset_id']}")
    page.context.close()


def test_a_one_megabyte_note_is_drawn_in_part_and_whole_on_request(browser: Any,  # noqa: F811
                                                                    served_queue: Served) -> None:
    from playwright.sync_api import expect

    served = served_queue
    text, spans = long_note()
    page = _login(browser, served, "alice")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served.url}/ui/assets/long-note")
    entry = page.locator("ol.logs > li").first
    shown = entry.locator("p.log-text")
    assert len(page.content()) < 100_000  # the whole note made a page of more than 1 MB
    drawn = shown.text_content()
    assert drawn and text.startswith(drawn) and TEXT_SHOWN - 80 <= len(drawn) <= TEXT_SHOWN
    expect(shown.locator("mark")).to_have_count(2)  # the early word, and the passage across the cut in part
    more = entry.locator(".more-text")
    expect(more).to_contain_text(f"({len(text) - len(drawn):,} more characters, 1 more highlighted span)")
    page.get_by_label("Note", exact=True).fill("kept while the note opens")
    url = page.url
    page.route(WHOLE_TEXT, lambda route: route.abort())  # the connection drops
    more.get_by_role("link", name="show all").click()
    # said beside the entry; not "Not saved" above the review form, which has nothing to do with it
    expect(more.locator(".text-error")).to_contain_text("The rest could not be loaded: the server could not be "
                                                        "reached. Try again.")
    expect(page.locator("#review-message")).to_have_count(0)
    page.unroute(WHOLE_TEXT)
    more.get_by_role("link", name="show all").click()
    expect(shown.locator("mark")).to_have_count(3)
    expect(more).to_have_count(0)
    assert shown.text_content() == text
    assert shown.locator("mark").nth(2).text_content() == text[spans[2][0]:spans[2][1]]
    # in place: the page was not left, the reviewer's input is still there
    assert page.url == url
    expect(page.get_by_label("Note", exact=True)).to_have_value("kept while the note opens")
    assert errors == []
    page.context.close()
