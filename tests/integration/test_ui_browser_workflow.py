"""Browser tests of a reviewer's working rhythm: a review cannot be sent twice while it is on its way, the queue keeps
the row a reviewer left it at when they come back, and a maintenance log keeps its lines.

The service and chromium are started as in ``test_browser.py`` (whose helpers this module uses), over a demo
workspace of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.store.repository import add_evidence
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

NOTE = "2026-03-01 pump P-7\nseal replaced\nno leak found"


@pytest.fixture(scope="module")
def served_work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over 12 demo assets (9 queued), one with a log entry of three lines; reviewer alice."""
    path = tmp_path_factory.mktemp("browser-work") / "ws"
    ws = Workspace.init(path)
    made = seed_demo(ws, n_assets=12, seed=5)
    with ws.session() as s:
        add_evidence(s, asset_id=made[0].asset_id, kind="log", sha256="b" * 64, text=NOTE,
                     evidence_id=f"{made[0].asset_id}/log/lines", attributes={"date": "2026-03-01"})
        tokens = {"alice": create_token(s, name="alice", role="reviewer", actor="test")[0]}
    ws.close()
    yield from _serve(path, tokens)


def _selected(page: Any) -> str:
    return str(page.locator("#queue-rows tr.selected").get_attribute("data-href"))


def test_a_review_on_its_way_cannot_be_sent_again(browser: Any, served_work: Served) -> None:  # noqa: F811
    page = _login(browser, served_work, "alice")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/assets/**")
    aid = page.url.split("/ui/assets/", 1)[1]
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    held: list[Any] = []
    page.route("**/review", lambda route: held.append(route))  # the server's answer is held back until released
    page.keyboard.press("2")
    with page.expect_request("**/review"):
        page.locator("#submit-review").click()
    # a second click, Enter or a script's submit while the first is on its way sent a second review: the button
    # stayed enabled, and a changed grade then came back as a conflict with the reviewer's own review
    assert page.locator("#submit-review").is_disabled()
    page.keyboard.press("Enter")
    page.locator("#review-form").evaluate("f => f.requestSubmit()")
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_url(f"**saved={aid}")
    assert posts == [f"{served_work.url}/ui/assets/{aid}/review"]
    reviews = served_work.api("alice").get(f"/api/v1/assets/{aid}/reviews").json()
    assert [(r["reviewer"], r["grade"]) for r in reviews] == [("alice", "B")]
    page.context.close()


def test_back_from_an_asset_the_queue_has_the_row_it_was_opened_from_selected(browser: Any,  # noqa: F811
                                                                            served_work: Served) -> None:
    page = _login(browser, served_work, "alice")
    page.goto(f"{served_work.url}/ui/queue?offset=3&limit=3")
    page.keyboard.press("j")
    page.keyboard.press("j")
    chosen = _selected(page)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{chosen}")
    page.go_back()
    page.wait_for_url("**/ui/queue?offset=3&limit=3")
    # the selection went back to the first row: j, j again to go on where the reviewer was
    assert _selected(page) == chosen
    page.keyboard.press("k")
    above = _selected(page)
    assert above != chosen
    page.locator(f'#queue-rows tr[data-href="{chosen}"] a').click()  # opened with the mouse
    page.wait_for_url(f"**{chosen}")
    page.go_back()
    page.wait_for_url("**/ui/queue?offset=3&limit=3")
    assert _selected(page) == chosen
    page.context.close()


def test_a_log_entry_keeps_its_lines(browser: Any, served_work: Served) -> None:  # noqa: F811
    page = _login(browser, served_work, "alice")
    page.goto(f"{served_work.url}/ui/assets/demo-001")
    entry = page.locator("ol.logs p", has_text="seal replaced")
    # a technician's note of three lines ran together as one ("P-7 seal replaced no leak found")
    assert entry.inner_text() == NOTE
    page.context.close()


def test_an_assets_queue_place_links_to_its_row_in_the_queue(browser: Any, served_work: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = _login(browser, served_work, "alice")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/assets/**")
    for n in (2, 3):  # two assets on with the keys, the queue page left behind
        page.keyboard.press("j")
        expect(page.locator(".qnav")).to_contain_text(f"Queue {n} of")
    here = page.url.split(served_work.url, 1)[1]
    # "Queue 3 of 8" was plain text: the top bar's Queue opens its first row, not this one
    page.locator("#queue-link").click()
    page.wait_for_url("**/ui/queue?offset=0#select=*")
    assert _selected(page) == here
    page.keyboard.press("j")
    assert _selected(page) != here
    page.context.close()
