"""Accessibility of the review UI: axe-core (WCAG 2.1 A and AA rules) in chromium on every page, and keyboard-only work.

The service and chromium are started as in ``test_browser.py`` (whose helpers this module uses), over a demo
workspace of its own. axe-core comes inside the ``axe-playwright-python`` wheel (``axe.min.js``, MPL-2.0), which
injects it into the page: nothing is downloaded when the tests run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete

from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.store.repository import add_evidence
from assetgrade.store.requests import RequestedLabel, add_label_requests
from assetgrade.store.schema import Label
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)
from .test_ui_browser import add_old_ontology_prediction

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # pragma: no cover - the dev extra installs it
    Axe = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
    pytest.mark.skipif(Axe is None, reason="axe-playwright-python is not installed (pip install -e '.[dev]')"),
]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAIL_IMPACTS = {"serious", "critical"}
WIDE, NARROW = {"width": 1400, "height": 1000}, {"width": 800, "height": 900}  # 800 px: the asset page stacks


@pytest.fixture(scope="module")
def served_a11y(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over 6 demo assets (images with heat maps, logs, sensors), a PDF report, a model defect
    the ontology no longer has (a refused review), two label requests, reviewers alice and bob and an admin."""
    path = tmp_path_factory.mktemp("browser-a11y") / "ws"
    ws = Workspace.init(path)
    seed_demo(ws, n_assets=6, seed=7, review_share=1.0)
    with ws.session() as s:
        pdf = ws.blobs.put_bytes(b"%PDF-1.4\n% an inspection report\n")
        add_evidence(s, asset_id="demo-001", kind="document", sha256=pdf, blob_sha=pdf, media_type="application/pdf",
                     evidence_id="demo-001/report")
        add_old_ontology_prediction(s)  # demo-006: its review is refused beside the field
        s.execute(delete(Label).where(Label.asset_id.in_(["demo-004", "demo-005"]), Label.kind == "grade"))
        add_label_requests(s, [RequestedLabel("demo-004", 1, "typiclust", "B", 0.61),
                               RequestedLabel("demo-005", 2, "margin", "C", 0.48)],
                           strategy="budget_switch", model_version="m-test", requested_by="carol")
        tokens = {name: create_token(s, name=name, role=role, actor="test")[0]
                  for name, role in (("alice", "reviewer"), ("bob", "reviewer"), ("admin", "admin"))}
    ws.close()
    yield from _serve(path, tokens)


def _report(violations: list[dict[str, Any]]) -> str:
    """One line per violation and element: rule id, impact, target selector and axe's help text."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            lines.append(f"  {v['id']} ({v['impact']}) at {', '.join(map(str, node['target']))}: {v['help']}")
    return "\n".join(lines)


def _check(page: Any, where: str) -> None:
    """Run axe's WCAG 2.1 A/AA rules on ``page`` and fail on any violation of impact serious or critical."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                       "resultTypes": ["violations"]})
    bad = [v for v in results.response["violations"] if v["impact"] in FAIL_IMPACTS]
    assert not bad, f"axe found WCAG violations on {where} ({page.url}):\n{_report(bad)}"


def _both_widths(page: Any, where: str, url: str | None = None) -> None:
    """Check ``page`` as a desktop window and as an 800 px one (reloading ``url`` at each width when given)."""
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        if url:
            page.goto(url)
        _check(page, f"{where} at {size['width']} px")


def test_login_page_and_a_refused_login(browser: Any, served_a11y: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page(viewport=WIDE)
    _both_widths(page, "the login page", f"{served_a11y.url}/ui/login")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_be_visible()
    _both_widths(page, "the login page after a refused token")
    page.close()


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_list_pages_and_dashboard(browser: Any, served_a11y: Served, who: str) -> None:  # noqa: F811
    page = _login(browser, served_a11y, who)
    for path, where in (("/ui/queue", "the review queue"), ("/ui/requests", "the label requests"),
                        ("/ui/dashboard", "the dashboard"), ("/ui/queue?offset=500", "a queue page past its end")):
        _both_widths(page, f"{where} ({who})", served_a11y.url + path)
    page.context.close()


def test_error_pages(browser: Any, served_a11y: Served) -> None:  # noqa: F811
    page = _login(browser, served_a11y, "alice")
    _both_widths(page, "an unknown asset's 404 page", f"{served_a11y.url}/ui/assets/no-such-asset")
    _both_widths(page, "an unknown path's 404 page", f"{served_a11y.url}/ui/no-such-page")
    page.context.close()


def test_asset_page_with_images_logs_sensors_and_other_evidence(browser: Any, served_a11y: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    from .test_browser import _draw_box

    page = _login(browser, served_a11y, "alice")
    page.goto(f"{served_a11y.url}/ui/assets/demo-001")
    expect(page.locator("img.heat").first).to_be_visible()
    expect(page.locator("#other-evidence")).to_contain_text("application/pdf")
    _both_widths(page, "an asset page")
    page.set_viewport_size(WIDE)
    _draw_box(page, 20, 20, 120, 90)  # a drawn box: its defect row (drop-down, Remove) is in the list
    page.get_by_role("button", name="Add defect without a box").click()
    _check(page, "an asset page with defects in its list")
    page.keyboard.press("h")  # heat maps off
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    _check(page, "an asset page with the keyboard help open")
    page.on("dialog", lambda d: d.accept())  # leave the unsaved box behind
    page.goto(f"{served_a11y.url}/ui/assets/demo-004")  # a requested label: the request note
    expect(page.locator("#label-request")).to_be_visible()
    _both_widths(page, "a requested asset's page")
    page.context.close()


def test_asset_page_after_a_conflict_and_after_a_refused_review(browser: Any, served_a11y: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = _login(browser, served_a11y, "alice")
    page.goto(f"{served_a11y.url}/ui/assets/demo-002")
    version = served_a11y.api("bob").get("/api/v1/assets/demo-002").json()["version"]
    r = served_a11y.api("bob").post("/api/v1/assets/demo-002/reviews",
                                    json={"expected_version": version, "grade": "A", "note": "bob was first"})
    assert r.status_code == 201, r.text
    page.keyboard.press("3")
    page.get_by_label("Note").fill("alice's note")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#review-message")).to_contain_text("Conflict")
    _both_widths(page, "an asset page after a review conflict")

    page.goto(f"{served_a11y.url}/ui/assets/demo-006")
    page.keyboard.press("2")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#defects-error")).to_contain_text("unknown defect 'rust_old'")
    _both_widths(page, "an asset page after a refused review (field error)")

    page.context.clear_cookies()  # the session ends: the script's own "Not saved" message with a login link
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator("#login-again")).to_be_visible()
    _both_widths(page, "an asset page after a review sent without a session")
    page.context.close()


def _luminance(rgb: tuple[float, float, float]) -> float:
    """Relative luminance of an sRGB colour (WCAG 2.1, definition of relative luminance)."""
    def lin(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    """Contrast ratio of two CSS ``rgb(...)`` colours as the browser computes them."""
    la, lb = (_luminance(tuple(float(x) for x in re.findall(r"[\d.]+", c)[:3])) for c in (a, b))  # type: ignore[arg-type]
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


FOCUS_STYLE = """el => {
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    // the colour the outline is drawn on: whatever has a background just outside it (left, else right, of the box)
    const off = parseFloat(s.outlineOffset) + parseFloat(s.outlineWidth) + 1;
    const x = r.left - off >= 0 ? r.left - off : r.right + off, y = r.top + r.height / 2;
    let bg = "rgb(255, 255, 255)";
    for (const under of document.elementsFromPoint(x, y)) {
        if (under === el || el.contains(under)) { continue; }
        const c = getComputedStyle(under).backgroundColor;
        if (c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent") { bg = c; break; }
    }
    const name = el.getAttribute("name") || el.getAttribute("aria-label") || el.textContent.trim().slice(0, 40);
    return {tag: el.tagName, id: el.id, name: name,
            style: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor, bg: bg};
}"""


def _focus_ring(page: Any) -> dict[str, Any]:
    """The focused element and its outline (style, width, colour) and the background it is drawn on."""
    return dict(page.evaluate(f"() => ({FOCUS_STYLE})(document.activeElement)"))


def _assert_visible_focus(ring: dict[str, Any]) -> None:
    """WCAG 2.4.7 (focus visible), with the outline's contrast against its background at 3:1 (1.4.11)."""
    assert ring["style"] not in ("none", "hidden") and ring["width"] >= 2, f"no visible focus outline on {ring}"
    ratio = _contrast(ring["colour"], ring["bg"])
    assert ratio >= 3, f"focus outline {ring['colour']} on {ring['bg']} has contrast {ratio:.2f} < 3 ({ring})"


def test_review_form_done_with_the_keyboard_alone_and_focus_is_visible(browser: Any,  # noqa: F811
                                                                       served_a11y: Served) -> None:
    from playwright.sync_api import expect

    served = served_a11y
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/demo-003")
    rings: list[dict[str, Any]] = []
    for _ in range(60):  # Tab from the top of the page, through the header and the evidence, to the grades
        page.keyboard.press("Tab")
        ring = _focus_ring(page)
        rings.append(ring)
        if ring["name"] == "grade":
            break
    assert rings[0]["tag"] == "A" and rings[0]["name"] == "Skip to content"
    assert rings[-1]["name"] == "grade", [r["name"] for r in rings]
    page.keyboard.press("ArrowRight")  # the radio group: arrows pick the grade
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name=grade][value=C]")).to_be_checked()
    page.keyboard.press("b")  # the page's own shortcut works with a grade focused
    expect(page.locator("input[name=grade][value=B]")).to_be_checked()
    rings.append(_focus_ring(page))
    n = page.locator("#defect-list li").count()  # the model's defects: a drop-down and a Remove button each
    for _ in range(2 * n + 1):  # Tab past them to the button that adds a defect
        page.keyboard.press("Tab")
        rings.append(_focus_ring(page))
        if rings[-1]["id"] == "add-defect":
            break
    expect(page.locator("#add-defect")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#defect-list li")).to_have_count(n + 1)
    new_select = page.locator("#defect-list li select").last
    for _ in range(3 * n + 3):  # the defect list comes before the button: Shift+Tab back to the new row
        if new_select.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Shift+Tab")
    expect(new_select).to_be_focused()
    rings.append(_focus_ring(page))
    page.keyboard.press("ArrowDown")  # another defect type, picked with the keyboard
    picked = new_select.input_value()
    for _ in range(3 * n + 6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "note":
            break
    expect(page.get_by_label("Note")).to_be_focused()
    rings.append(_focus_ring(page))
    page.keyboard.type("graded with the keyboard only")
    page.keyboard.press("Tab")
    expect(page.locator("#submit-review")).to_be_focused()
    rings.append(_focus_ring(page))
    for ring in rings:
        _assert_visible_focus(ring)
    page.keyboard.press("Enter")
    page.wait_for_url("**saved=demo-003")
    review = served.api("alice").get("/api/v1/assets/demo-003/reviews").json()[0]
    assert review["grade"] == "B" and review["note"] == "graded with the keyboard only"
    assert picked in [d["id"] for d in review["defects"]]
    page.context.close()


def test_every_control_of_the_pages_shows_its_focus(browser: Any, served_a11y: Served) -> None:  # noqa: F811
    page = _login(browser, served_a11y, "admin")
    for path in ("/ui/queue", "/ui/requests", "/ui/assets/demo-001"):
        page.goto(served_a11y.url + path)
        seen = 0
        for _ in range(80):
            page.keyboard.press("Tab")
            ring = _focus_ring(page)
            if ring["tag"] == "BODY":
                break
            _assert_visible_focus({**ring, "page": path})
            seen += 1
        assert seen >= 5, path
    page.goto(f"{served_a11y.url}/ui/queue")  # the row j/k select is marked as visibly as a focused control
    page.keyboard.press("j")
    _assert_visible_focus({**page.locator("#queue-rows tr.selected").evaluate(FOCUS_STYLE), "page": "queue row"})
    page.context.close()


def test_after_a_conflict_the_keyboard_goes_on_from_the_message(browser: Any, served_a11y: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    served = served_a11y
    page = _login(browser, served, "alice")
    page.goto(f"{served.url}/ui/assets/demo-005")
    version = served.api("bob").get("/api/v1/assets/demo-005").json()["version"]
    assert served.api("bob").post("/api/v1/assets/demo-005/reviews",
                                  json={"expected_version": version, "grade": "A"}).status_code == 201
    page.keyboard.press("4")
    page.locator("#submit-review").focus()  # a keyboard user presses the focused button
    page.keyboard.press("Enter")
    msg = page.locator("#review-message")
    expect(msg).to_contain_text("Conflict")
    # the button they pressed was swapped out with the panel: the focus is on the message, not lost to the page
    expect(msg).to_be_focused()
    page.keyboard.press("Tab")  # and goes on into the form, not back to the top of the page
    expect(page.locator("input[name=grade][value=D]")).to_be_focused()
    page.keyboard.press("Enter")  # having read their review, submit again
    page.wait_for_url("**saved=demo-005")
    assert [r["reviewer"] for r in served.api("bob").get("/api/v1/assets/demo-005/reviews").json()] == ["alice", "bob"]
    page.context.close()


TEXT_COLOURS = r"""() => {
    const out = [];
    for (const b of document.querySelectorAll(".grade")) {  // grade badges: their text on their own colour
        const s = getComputedStyle(b);
        out.push({what: "badge " + b.className + " " + b.textContent, fg: s.color, bg: s.backgroundColor, min: 4.5});
    }
    for (const t of document.querySelectorAll("svg.plot text, svg.plot tspan")) {  // plot text on the card
        const own = Array.from(t.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join("");
        const words = own.replace(/[\s\u25a0]/g, "");
        const swatch = own.includes("\u25a0");
        if (!words && !swatch) { continue; }
        let bg = "rgb(255, 255, 255)";
        if (t.classList.contains("wlbl")) {  // an anomaly window's label on the window's shading
            const w = t.previousElementSibling;
            bg = {fill: getComputedStyle(w).fill, opacity: parseFloat(w.getAttribute("fill-opacity") || "1"),
                  over: "rgb(250, 250, 250)"};
        }
        out.push({what: "plot text " + own.trim().slice(0, 40), fg: getComputedStyle(t).fill, bg: bg,
                  min: words ? 4.5 : 3});
    }
    for (const l of document.querySelectorAll("svg.plot polyline")) {  // lines of a plot (WCAG 1.4.11: 3:1)
        out.push({what: "plot line", fg: getComputedStyle(l).stroke, bg: "rgb(250, 250, 250)", min: 3});
    }
    return out;
}"""


def _rgb(css: str) -> tuple[float, float, float]:
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def _on(bg: Any) -> str:
    """A background as ``rgb(...)``: a colour, or a fill with opacity laid over another colour."""
    if isinstance(bg, str):
        return bg
    top, under, a = _rgb(bg["fill"]), _rgb(bg["over"]), bg["opacity"]
    return "rgb({:.1f}, {:.1f}, {:.1f})".format(*(a * t + (1 - a) * u for t, u in zip(top, under, strict=True)))


def test_text_on_colour_and_plot_lines_have_enough_contrast(browser: Any, served_a11y: Served) -> None:  # noqa: F811
    """What axe leaves as "needs review": one-letter grade badges (too short for its check), text and lines in the
    SVG plots (their background is not a CSS one). Text needs 4.5:1 (WCAG 1.4.3), a line or a swatch 3:1 (1.4.11)."""
    page = _login(browser, served_a11y, "alice")
    low = []
    for path in ("/ui/queue", "/ui/requests", "/ui/dashboard", "/ui/assets/demo-001", "/ui/assets/demo-002"):
        page.goto(served_a11y.url + path)
        found = page.evaluate(TEXT_COLOURS)
        assert found, path
        for f in found:
            ratio = _contrast(f["fg"], _on(f["bg"]))
            if ratio < f["min"]:
                low.append(f"{path}: {f['what']}: {f['fg']} on {_on(f['bg'])} is {ratio:.2f}:1 < {f['min']}:1")
    assert not low, "\n".join(sorted(set(low)))
    page.context.close()
