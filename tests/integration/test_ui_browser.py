"""Browser tests of the review UI under hostile use: keyboard-only work, expired sessions, odd assets.

The service and chromium are started as in ``test_browser.py`` (whose helpers this module uses),
over a demo workspace of its own so that the reviews written here change no other test's queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def served_hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over 8 demo assets with a reviewer (alice)."""
    path = tmp_path_factory.mktemp("browser-hostile") / "ws"
    ws = Workspace.init(path)
    seed_demo(ws, n_assets=8, seed=5, review_share=1.0)
    with ws.session() as s:
        tokens = {"alice": create_token(s, name="alice", role="reviewer", actor="test")[0]}
    ws.close()
    yield from _serve(path, tokens)


def _reviews(served: Served, asset_id: str) -> list[dict[str, Any]]:
    return list(served.api("alice").get(f"/api/v1/assets/{asset_id}/reviews").json())


def test_enter_on_a_focused_link_or_button_does_not_submit_the_review(browser: Any,  # noqa: F811
                                                                       served_hostile: Served) -> None:
    from playwright.sync_api import expect

    served = served_hostile
    target = served.api("alice").get("/api/v1/queue?limit=1").json()["items"][0]["asset_id"]
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/{target}")
    n = page.locator("#defect-list li").count()
    page.locator("#add-defect").focus()  # a keyboard-only user tabs to the button and presses Enter
    page.keyboard.press("Enter")
    expect(page.locator("#defect-list li")).to_have_count(n + 1)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#help")).to_be_hidden()
    page.locator("header a[href='/ui/queue']").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/queue")
    assert page.url.endswith("/ui/queue")
    assert _reviews(served, target) == []  # nothing was submitted on the way
    page.context.close()

