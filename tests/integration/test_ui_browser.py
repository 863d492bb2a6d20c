"""Browser tests of the review UI under hostile use: keyboard-only work, expired sessions, odd assets.

The service and chromium are started as in ``test_browser.py`` (whose helpers this module uses),
over a demo workspace of its own so that the reviews written here change no other test's queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assetgrade.modalities.base import Finding
from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.review.rounds import QUEUED, ROUND_ENTITY
from assetgrade.store.audit import append_event
from assetgrade.store.repository import add_asset, add_evidence
from assetgrade.store.results import add_prediction
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)

LONG_ID = "L" + "x" * 400

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


def add_old_ontology_prediction(s: Any, asset_id: str = "demo-006") -> None:
    """A prediction made when the ontology had a defect "rust_old" (since renamed): a review naming it is refused."""
    add_prediction(s, asset_id, model_version="old-ontology", grade="B", distribution={"A": 0.4, "B": 0.6},
                   conformal_set=["A", "B"], decision="review", expected_cost=0.6, payload=GradeResult(
                       asset_id=asset_id, probabilities={"A": 0.4, "B": 0.6}, grade="B", conformal_set=("A", "B"),
                       coverage=0.9, expected_cost=0.6, decision="review", evidence=(ModalityEvidence(
                           "text", True, None, (Finding(modality="text", summary="old", defect="rust_old"),)),),
                   ).to_dict())


@pytest.fixture(scope="module")
def served_hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over 8 demo assets and a few odd ones, a reviewer (alice), an admin and a waiting round."""
    path = tmp_path_factory.mktemp("browser-hostile") / "ws"
    ws = Workspace.init(path)
    made = seed_demo(ws, n_assets=8, seed=5, review_share=1.0)
    with ws.session() as s:
        # the last asset was graded when the scale had a grade Z: no grade is preselected on its page
        add_prediction(s, made[-1].asset_id, model_version="old-scale", grade="Z", distribution={"Z": 0.7, "A": 0.3},
                       conformal_set=["Z"], decision="review", expected_cost=0.5)
        add_asset(s, LONG_ID, asset_type="t" * 300)  # one long word: it must wrap, not widen the page
        add_prediction(s, LONG_ID, model_version="v" * 200, grade="B", distribution={"A": 0.5, "B": 0.5},
                       conformal_set=["A", "B"], decision="review", expected_cost=0.7)
        add_old_ontology_prediction(s)  # demo-006: graded when the ontology still had "rust_old"
        # a second image of demo-007 whose stored bytes do not decode (truncated upload, wrong file)
        bad = ws.blobs.put_bytes(b"\x89PNG\r\n\x1a\n not really an image")
        add_evidence(s, asset_id="demo-007", kind="image", sha256=bad, blob_sha=bad, media_type="image/png",
                     attributes={"width": 320, "height": 240}, evidence_id="demo-007/image/2")
        tokens = {"alice": create_token(s, name="alice", role="reviewer", actor="test")[0],
                  "admin": create_token(s, name="admin", role="admin", actor="test")[0]}
        # a label round queued by a service on another host: its page keeps waiting for it
        append_event(s, actor="admin", action=QUEUED, entity=ROUND_ENTITY, entity_id="round_waiting",
                     payload={"settings": {"k": 3}, "host": "another-host", "pid": 1})
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
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.type), d.accept()))  # leave, dropping the added defect
    page.locator("header a[href='/ui/queue']").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/queue")
    assert asked == ["beforeunload"]  # the link was followed, after the browser asked about the unsaved defect
    assert page.url.endswith("/ui/queue")
    assert _reviews(served, target) == []  # nothing was submitted on the way
    page.context.close()



def test_an_expired_session_sends_the_queue_to_login_and_keeps_the_review_input(browser: Any,  # noqa: F811
                                                                                served_hostile: Served) -> None:
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "alice")
    page.clock.install()
    page.reload()
    page.context.clear_cookies()  # the session ends (expired, or the token was revoked)
    page.clock.fast_forward("00:31")  # the queue refreshes itself every 30 s
    page.wait_for_url("**/ui/login?next=/ui/queue*")
    expect(page.locator("#queue-rows")).to_have_count(0)  # the login page, not the login page inside the table

    page.get_by_label("API token").fill(served.tokens["alice"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/ui/queue")  # back to the page it showed
    target = page.locator("#queue-rows tr[data-href] a").first.inner_text()
    page.goto(f"{served.url}/ui/assets/{target}")
    page.keyboard.press("3")
    page.get_by_label("Note").fill("written before the session ended")
    page.context.clear_cookies()
    page.get_by_role("button", name="Submit review").click()
    msg = page.locator("#review-message")
    expect(msg).to_contain_text("Not saved: your session has ended")
    expect(page.get_by_label("Note")).to_have_value("written before the session ended")
    expect(page.locator("input[name=grade][value=C]")).to_be_checked()
    assert _reviews(served, target) == []
    with page.expect_popup() as popup:  # log in again beside the form, then submit the kept input
        page.locator("#login-again").click()
    other = popup.value
    other.get_by_label("API token").fill(served.tokens["alice"])
    other.get_by_role("button", name="Log in").click()
    other.wait_for_url(f"**/ui/assets/{target}")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url("**saved=*")
    saved = _reviews(served, target)
    assert [(r["grade"], r["note"]) for r in saved] == [("C", "written before the session ended")]
    page.context.close()


def test_enter_without_a_grade_submits_nothing(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/demo-008")
    expect(page.locator("#off-scale")).to_contain_text("The model's grade Z is not on this workspace's scale")
    expect(page.locator("input[name=grade]:checked")).to_have_count(0)
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert page.url.endswith("/ui/assets/demo-008") and _reviews(served, "demo-008") == []
    page.keyboard.press("2")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Enter")
    page.wait_for_url("**saved=demo-008")
    assert [r["grade"] for r in _reviews(served, "demo-008")] == ["B"]
    page.context.close()


def test_back_button_shows_the_saved_state_and_nothing_after_logout(browser: Any,  # noqa: F811
                                                                   served_hostile: Served) -> None:
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "alice")
    target = "demo-003"
    page.goto(f"{served.url}/ui/assets/{target}")
    expect(page.locator("h1")).to_contain_text("version 1")
    page.keyboard.press("2")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url("**saved=*")
    page.go_back()  # the page is asked for again: the new version, not the form made against the old one
    expect(page.locator("h1")).to_contain_text("version 2")
    expect(page.locator("input[name=expected_version]")).to_have_value("2")
    expect(page.locator("ul.history")).to_contain_text("alice")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/ui/login")
    page.go_back()  # a shared terminal: the reviewer's page is not shown from the cache after logging out
    page.wait_for_url("**/ui/login?next=/ui/assets/demo-003")
    expect(page.locator("h1")).to_have_text("Log in")
    page.context.close()


def test_an_image_that_does_not_decode_is_said_instead_of_a_broken_icon(browser: Any,  # noqa: F811
                                                                        served_hostile: Served) -> None:
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "alice")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served.url}/ui/assets/demo-007")
    bad = page.locator("figure[data-evidence='demo-007/image/2']")
    expect(bad.get_by_role("alert")).to_contain_text("Image demo-007/image/2 cannot be shown: its file does not decode")
    expect(bad.locator(".stage")).to_be_hidden()  # no boxes drawn over nothing
    good = page.locator("figure[data-evidence='demo-007/image/1']")
    expect(good.locator("img.photo")).to_be_visible()
    expect(good.get_by_role("alert")).to_have_count(0)
    assert errors == []
    page.context.close()


def test_a_box_dragged_past_the_image_edge_stays_on_the_image(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from .test_browser import _draw_box

    served = served_hostile
    target = "demo-004"
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/{target}")
    n = page.locator("#defect-list li").count()
    _draw_box(page, 60, 60, 140, 120)
    expect(page.locator("#defect-list li")).to_have_count(n + 1)
    svg = page.locator("figure.imgbox svg.boxes").first.bounding_box()
    page.mouse.move(svg["x"] + 100, svg["y"] + 90)  # grab the new box and throw it far past the top-left corner
    page.mouse.down()
    page.mouse.move(svg["x"] - 300, svg["y"] - 300, steps=6)
    page.mouse.up()
    page.keyboard.press("2")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url("**saved=*")  # saved, not refused for a box off the image
    box = [d for d in _reviews(served, target)[0]["defects"] if d.get("box") and d["box"][0] == 0.0]
    assert len(box) == 1 and box[0]["box"][1] == 0.0 and box[0]["box"][2] > 20
    page.context.close()


def test_queue_selection_survives_a_refresh_that_brings_fewer_rows(browser: Any,  # noqa: F811
                                                                   served_hostile: Served) -> None:
    from playwright.sync_api import expect

    served = served_hostile
    api = served.api("alice")
    page = _login(browser, served, "alice")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.clock.install()
    page.reload()
    queue = api.get("/api/v1/queue?limit=100").json()["items"]
    assert len(queue) >= 3
    for _ in range(len(queue) - 1):
        page.keyboard.press("j")  # select the last row
    for item in queue[-2:]:  # meanwhile, others review the two assets at the end of the queue
        assert api.post(f"/api/v1/assets/{item['asset_id']}/reviews",
                        json={"expected_version": item["asset_version"], "grade": "A"}).status_code == 201
    page.clock.fast_forward("00:31")  # the 30 s refresh brings back two rows fewer
    # expect() polls without evaluating strings in the page: wait_for_function's polling needs eval, which the
    # pages' Content-Security-Policy forbids (it failed whenever the first check came too early)
    expect(page.locator("#queue-rows tr[data-href]")).to_have_count(len(queue) - 2)
    page.keyboard.press("Enter")  # opens the row now last, not nothing (and no script error)
    page.wait_for_url(f"**/ui/assets/{queue[-3]['asset_id']}")
    assert errors == []
    page.context.close()


def test_long_unbroken_ids_and_notes_and_a_phone_do_not_widen_the_pages(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    served = served_hostile
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/{LONG_ID}")
    page.get_by_label("Note").fill("n" * 3000)
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url("**saved=*")
    for path in ("/ui/queue", f"/ui/assets/{LONG_ID}", f"/ui/queue?saved={LONG_ID}"):
        page.goto(served.url + path)
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wider <= 0, (path, wider)
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: the queue table scrolls, the page does not
    for path in ("/ui/queue", "/ui/requests", "/ui/dashboard", "/ui/assets/demo-001", f"/ui/assets/{LONG_ID}"):
        page.goto(served.url + path)
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wider <= 0, (path, wider)
    page.context.close()


def test_a_review_post_that_cannot_reach_the_server_says_so(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "alice")
    target = served.api("alice").get("/api/v1/queue?limit=1").json()["items"][0]["asset_id"]
    page.goto(f"{served.url}/ui/assets/{target}")
    page.get_by_label("Note").fill("kept while the network is down")
    page.route("**/review", lambda route: route.abort())  # the connection drops
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#review-message")).to_contain_text("Not saved: the server could not be reached")
    expect(page.get_by_label("Note")).to_have_value("kept while the network is down")
    page.context.close()


def test_no_console_errors_or_failed_requests_on_any_page(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    served = served_hostile
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text} {m.location}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    ctx.on("requestfinished", lambda r: problems.append(f"{r.response().status} {r.url}")
           if r.response() and r.response().status >= 400 else None)
    # A request the browser itself cancels because the test moves to the next page (it
    # reports net::ERR_ABORTED, e.g. for a favicon still loading) is not the server's fault;
    # any other failure (refused, reset, timed out) is.
    ctx.on("requestfailed", lambda r: problems.append(f"failed {r.url}: {r.failure}")
           if r.failure != "net::ERR_ABORTED" else None)
    page.goto(f"{served.url}/ui/login")
    page.get_by_label("API token").fill(served.tokens["alice"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/ui/queue")
    page.wait_for_load_state("networkidle")
    for path in ("/ui/requests", "/ui/dashboard", "/ui/assets/demo-001", "/ui/assets/demo-008", "/ui/queue"):
        page.goto(served.url + path)
        page.wait_for_load_state("networkidle")
    assert problems == []  # e.g. no /favicon.ico 404 on the first page
    ctx.close()


def test_a_stray_key_does_not_silently_drop_unsaved_work(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from .test_browser import _draw_box

    served = served_hostile
    page = _login(browser, served, "alice")
    target = "demo-005"
    page.goto(f"{served.url}/ui/assets/{target}")
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))  # stay
    key = "j" if page.locator("#asset-head").get_attribute("data-next") else "k"
    page.keyboard.press(key)  # nothing changed yet: j/k just move on
    page.wait_for_url(lambda url: not url.endswith(f"/ui/assets/{target}"))
    assert asked == []
    page.goto(f"{served.url}/ui/assets/{target}")
    n = page.locator("#defect-list li").count()
    _draw_box(page, 30, 30, 110, 90)
    page.get_by_label("Note").fill("half-way through")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press(key)  # a stray key: the browser asks, the reviewer stays
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"] and page.url.endswith(f"/ui/assets/{target}")
    expect(page.locator("#defect-list li")).to_have_count(n + 1)
    expect(page.get_by_label("Note")).to_have_value("half-way through")
    page.keyboard.press("3")
    page.keyboard.press("Enter")  # submitting leaves without asking
    page.wait_for_url("**saved=*")
    assert asked == ["beforeunload"] and _reviews(served, target)[0]["note"] == "half-way through"
    page.context.close()


def test_queue_selection_moved_with_the_keyboard_stays_in_sight(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    served = served_hostile
    page = _login(browser, served, "alice")
    page.set_viewport_size({"width": 1400, "height": 260})  # a few rows fit
    n = page.locator("#queue-rows tr[data-href]").count()
    assert n >= 3
    for _ in range(n - 1):
        page.keyboard.press("j")
    last = page.locator("#queue-rows tr.selected")
    in_sight = "r => { const b = r.getBoundingClientRect(); return b.top >= -1 && b.bottom <= innerHeight + 1; }"
    assert last.evaluate(in_sight)
    page.context.close()


def test_a_waiting_round_page_refreshes_until_the_admin_fills_in_the_form(browser: Any,  # noqa: F811
                                                                         served_hostile: Served) -> None:
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "admin")
    page.clock.install()
    page.goto(f"{served.url}/ui/requests?job=round_waiting")
    expect(page.locator("#round-message")).to_contain_text("Round round_waiting is queued")
    with page.expect_navigation():  # untouched, the page reloads itself to follow the round
        page.clock.fast_forward("00:03")
    page.get_by_label("How many").fill("37")
    page.clock.fast_forward("00:10")
    expect(page.locator("#round-message")).to_contain_text("Refreshing is paused while you fill in the form")
    expect(page.get_by_label("How many")).to_have_value("37")  # not wiped by a reload
    page.context.close()


def test_a_model_defect_the_ontology_no_longer_has_is_marked(browser: Any, served_hostile: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/demo-006")
    old = page.locator("#defect-list li.unknown")
    expect(old).to_have_count(1)
    expect(old.locator("select option:checked")).to_have_text(
        "rust_old (not in the ontology: pick another or remove it)")
    old.get_by_role("button", name="Remove").click()
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url("**saved=demo-006")
    assert [d["id"] for d in _reviews(served, "demo-006")[0]["defects"]] == []
    page.context.close()


def test_plot_labels_neither_overlap_nor_leave_the_plot(browser: Any) -> None:  # noqa: F811
    from pathlib import Path

    from assetgrade.web import svg

    css = (Path(svg.__file__).parent / "static" / "app.css").read_text()
    days = ["2026-11-28", "2026-11-29", "2026-11-30"]
    plots = {
        "grade mix, 3 days": svg.stacked_bars(days, [{"A": 3, "B": 1}, {"C": 2}, {"D": 1, "A": 1}],
                                              ["A", "B", "C", "D"], title="Grade mix of predictions per day"),
        "grade mix, 1 day": svg.stacked_bars(days[:1], [{"A": 3, "B": 1}], ["A", "B", "C", "D"],
                                             title="Grade mix of predictions per day"),
        "rate, 3 days": svg.line_chart(days, [0.2, 0.5, 1.0], title="Auto-accept rate", y_max=1.0, percent=True),
        "rate, first day only": svg.line_chart(days, [0.4, None, None], title="Reviewer override rate", y_max=1.0,
                                               percent=True),
        "cost, 1 day": svg.line_chart(days[:1], [156.3], title="Mean expected cost per prediction"),
        "cost over 1000": svg.line_chart(days, [812.0, 1034.5, 1030.2], title="Mean expected cost per prediction"),
        # six C-MAPSS channels with their ranges (the legend ran off the right edge), a window late in the series
        "six channels": svg.series_plot(list(range(61)), {
            f"s{k}": [base + 0.1 * (i % 7) for i in range(61)]
            for k, base in ((2, 642.1), (3, 1585.3), (4, 1401.7), (7, 552.4), (8, 2388.0), (11, 47.3))},
            windows=[(40.0, 60.0, "remaining useful life 127 cycles (90% interval 105-150)")],
            title="sensor series ev_739e606f1168c5288a5342962df31dfc"),
    }
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_content(f"<style>{css}</style>" + "".join(f'<figure class="card" style="width: 560px">{s}</figure>'
                                                     for s in plots.values()))
    found = page.evaluate("""() => Array.from(document.querySelectorAll("svg.plot")).map(svg => {
        const r = svg.getBoundingClientRect();
        return {svg: [r.left, r.top, r.right, r.bottom], texts: Array.from(svg.querySelectorAll("text")).map(t => {
            const b = t.getBoundingClientRect(); return [t.textContent, b.left, b.top, b.right, b.bottom]; })};
    })""")
    for name, plot in zip(plots, found, strict=True):
        left, top, right, bottom = plot["svg"]
        for text, x0, y0, x1, y1 in plot["texts"]:  # e.g. the last day's date cut off at the right edge
            assert x0 >= left - 0.5 and x1 <= right + 0.5 and y0 >= top - 0.5 and y1 <= bottom + 0.5, (name, text)
        for i, (a, al, at, ar, ab) in enumerate(plot["texts"]):
            for z, zl, zt, zr, zb in plot["texts"][i + 1:]:  # e.g. the grade legend written over the title
                assert al >= zr or zl >= ar or at >= zb or zt >= ab, (name, a, z)
    page.close()


def test_a_refused_review_says_why_beside_the_field_and_takes_the_keyboard_there(browser: Any,  # noqa: F811
                                                                                 served_hostile: Served) -> None:
    from playwright.sync_api import expect

    served = served_hostile
    page = _login(browser, served, "alice")
    before = len(_reviews(served, "demo-006"))
    page.goto(f"{served.url}/ui/assets/demo-006")  # the model named "rust_old", which the ontology no longer has
    expect(page.locator("#defect-list li.unknown")).to_have_count(1)
    page.keyboard.press("2")
    page.get_by_label("Note").fill("submitted without looking at the red defect")
    page.get_by_role("button", name="Submit review").click()
    error = page.locator("#defects-error")
    expect(error).to_contain_text("defects[0].id: unknown defect 'rust_old'")
    defects = page.get_by_role("group", name="Defects")
    expect(defects.locator("#defects-error")).to_be_visible()  # in the defect list's box, not only above the form
    expect(defects).to_have_attribute("aria-describedby", "defects-error")
    expect(page.locator("#defect-list li.unknown select")).to_be_focused()  # the keyboard is where the fix is made
    expect(page.get_by_label("Note")).to_have_value("submitted without looking at the red defect")
    expect(page.locator("input[name=grade][value=B]")).to_be_checked()
    assert len(_reviews(served, "demo-006")) == before
    page.context.close()


def test_a_narrow_window_links_from_the_header_to_the_review_below_the_evidence(browser: Any,  # noqa: F811
                                                                                served_hostile: Served) -> None:
    from playwright.sync_api import expect

    page = _login(browser, served_hostile, "alice")
    page.goto(f"{served_hostile.url}/ui/assets/demo-001")
    expect(page.locator("#jump-review")).to_be_hidden()  # two columns: the review is beside the evidence
    page.set_viewport_size({"width": 800, "height": 700})
    page.goto(f"{served_hostile.url}/ui/assets/demo-001")
    expect(page.locator("#submit-review")).not_to_be_in_viewport()  # one column: below the images
    page.locator("#jump-review").click()
    expect(page.locator("#h-review")).to_be_in_viewport()
    page.context.close()
