"""Defect boxes placed and adjusted with the keyboard alone (WCAG 2.1.1), and the mouse's box tool beside them.

The service and chromium are started as in ``test_browser.py`` (whose helpers this module uses), over a demo
workspace of its own: images of 320 x 240 pixels, each with the model's corrosion box. Steps are 5 % of the image
(16 pixels across, 12 down), 1 % with Alt; a new box is the middle quarter, [80, 60, 240, 180].
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _draw_box, _login, _serve, browser  # noqa: F401  (browser is a fixture)
from .test_ui_accessibility import _assert_visible_focus, _focus_ring

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def served_boxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over 4 demo assets, all waiting for review, and reviewer alice."""
    path = tmp_path_factory.mktemp("browser-boxes") / "ws"
    ws = Workspace.init(path)
    seed_demo(ws, n_assets=4, seed=5, review_share=1.0)
    with ws.session() as s:
        tokens = {"alice": create_token(s, name="alice", role="reviewer", actor="test")[0]}
    ws.close()
    yield from _serve(path, tokens)


def _form_defects(page: Any) -> list[dict[str, Any]]:
    """The defects the form would post (the hidden field both box tools write)."""
    return list(json.loads(page.locator("#defects-json").input_value()))


def _stored(served: Served, asset_id: str) -> list[dict[str, Any]]:
    return list(served.api("alice").get(f"/api/v1/assets/{asset_id}/reviews").json())


def test_a_review_with_a_defect_box_done_with_the_keyboard_alone(browser: Any,  # noqa: F811
                                                                 served_boxes: Served) -> None:
    from playwright.sync_api import expect

    served, target = served_boxes, "demo-002"
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/{target}")
    evidence = f"{target}/image/1"
    model = [d for d in _form_defects(page) if d.get("box")]
    first = next(i for i, d in enumerate(_form_defects(page)) if d.get("box"))
    assert len(model) == 1 and model[0]["evidence_id"] == evidence
    n = len(_form_defects(page))
    for _ in range(40):  # Tab from the top of the page to the image
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('stage')"):
            break
    stage = page.locator("figure.imgbox .stage").first
    expect(stage).to_be_focused()
    _assert_visible_focus(_focus_ring(page))
    status = page.locator("figure.imgbox .boxstatus").first

    page.keyboard.press("Enter")  # a new box, the middle quarter: Enter does not submit the review here
    expect(page.locator("#defect-list li")).to_have_count(n + 1)
    expect(status).to_contain_text("x 80 to 240, y 60 to 180")
    assert page.url.endswith(f"/ui/assets/{target}")
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "Shift+ArrowRight", "Shift+ArrowUp", "Alt+ArrowLeft"):
        page.keyboard.press(key)
    expect(status).to_contain_text("x 108.8 to 284.8, y 72 to 180")  # announced as the keys move it
    page.keyboard.press("Enter")  # keep it
    expect(status).to_contain_text("Kept box")
    placed = [108.8, 72.0, 284.8, 180.0]
    assert _form_defects(page)[-1] == {"id": model[0]["id"], "evidence_id": evidence, "box": placed,
                                       "source": "reviewer"}
    expect(stage).to_be_focused()

    page.keyboard.press("Enter")  # another new box, and Escape takes it away again
    expect(page.locator("#defect-list li")).to_have_count(n + 2)
    page.keyboard.press("Escape")
    expect(page.locator("#defect-list li")).to_have_count(n + 1)
    expect(status).to_contain_text("New box removed")

    page.keyboard.press("Space")  # select the next box on the image: the model's (wrapping round past the new one)
    expect(status).to_contain_text(f"Selected box {first + 1} ")
    selected = page.evaluate("Array.from(document.querySelectorAll('#defect-list li')).findIndex("
                             "li => li.classList.contains('selected'))")
    assert selected == first and _form_defects(page)[selected]["box"] == model[0]["box"]
    for _ in range(30):  # thrown past the left edge it stops there; Escape puts it back
        page.keyboard.press("ArrowLeft")
    expect(status).to_contain_text(f"Box {first + 1} {model[0]['id']} (from vision): x 0 to ")
    page.keyboard.press("Escape")
    assert _form_defects(page)[selected]["box"] == model[0]["box"]
    for _ in range(25):  # its bottom edge down to the image's, no further
        page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Enter")
    corrected = [*model[0]["box"][:3], 240.0]

    page.keyboard.press("c")  # the grade shortcut still works from the image (and leaves it)
    expect(page.locator("input[name=grade][value=C]")).to_be_focused()
    for _ in range(3 * n + 10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "note":
            break
    expect(page.get_by_label("Note")).to_be_focused()
    page.keyboard.type("b1 h j: keys typed in the note are text")  # no shortcut fires while typing
    expect(page.locator("input[name=grade][value=C]")).to_be_checked()
    expect(page.locator("img.heat").first).to_be_visible()
    assert page.url.endswith(f"/ui/assets/{target}")
    page.keyboard.press("Tab")
    expect(page.locator("#submit-review")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**saved=*")

    review = _stored(served, target)[0]
    assert review["grade"] == "C" and review["note"] == "b1 h j: keys typed in the note are text"
    boxes = sorted((d["box"], d["evidence_id"]) for d in review["defects"] if d.get("box"))
    assert boxes == sorted([(placed, evidence), (corrected, evidence)])
    page.context.close()


def test_the_mouse_box_tool_still_works_and_keys_adjust_the_drawn_box(browser: Any,  # noqa: F811
                                                                      served_boxes: Served) -> None:
    from playwright.sync_api import expect

    served, target = served_boxes, "demo-003"
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/{target}")
    n = page.locator("#defect-list li").count()
    model = [d["box"] for d in _form_defects(page) if d.get("box")]
    _draw_box(page, 20, 20, 120, 90)
    expect(page.locator("#defect-list li")).to_have_count(n + 1)
    drawn = _form_defects(page)[-1]["box"]
    assert drawn[2] - drawn[0] > 20 and drawn[3] - drawn[1] > 15  # image pixels
    page.locator("figure.imgbox .stage").first.focus()
    page.keyboard.press("ArrowRight")  # the drawn box is the selected one: the keys move it at once
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Enter")
    moved = [round(drawn[0] + 16, 1), drawn[1], round(drawn[2] + 16, 1), round(drawn[3] + 12, 1)]
    assert _form_defects(page)[-1]["box"] == moved
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_url("**saved=*")
    stored = [d["box"] for d in _stored(served, target)[0]["defects"] if d.get("box")]
    assert sorted(stored) == sorted([*model, moved])
    page.context.close()
