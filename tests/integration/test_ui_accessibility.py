"""Accessibility of the review UI: axe-core (WCAG 2.1 A and AA rules) in chromium on every page, and keyboard-only work.

The service and chromium are started as in ``test_browser.py`` (whose helpers this module uses), over a demo
workspace of its own. axe-core comes inside the ``axe-playwright-python`` wheel (``axe.min.js``, MPL-2.0), which
injects it into the page: nothing is downloaded when the tests run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete

from assetgrade.modalities.base import Finding
from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.result import GradeResult, ModalityEvidence
from assetgrade.store.repository import add_evidence
from assetgrade.store.requests import RequestedLabel, add_label_requests
from assetgrade.store.results import add_prediction
from assetgrade.store.schema import Label
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)

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
        # demo-006 graded when the ontology still had a defect "rust_old": its review is refused beside the field
        add_prediction(s, "demo-006", model_version="old-ontology", grade="B", distribution={"A": 0.4, "B": 0.6},
                       conformal_set=["A", "B"], decision="review", expected_cost=0.6, payload=GradeResult(
                           asset_id="demo-006", probabilities={"A": 0.4, "B": 0.6}, grade="B", conformal_set=("A", "B"),
                           coverage=0.9, expected_cost=0.6, decision="review", evidence=(ModalityEvidence(
                               "text", True, None, (Finding(modality="text", summary="old", defect="rust_old"),)),),
                       ).to_dict())
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
