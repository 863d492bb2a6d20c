"""Browser checks of the review UI's layout at a laptop's and a phone's width: nothing short is broken mid-word,
nothing widens the page.

Seen in the demo workspace (``assetgrade demo``): at 1366 px the queue gave its reasons column nearly all the width
and broke each asset id and type after a few letters ("lnk-" / "00015", "pv_m" / "ono"); on a phone the reasons
column was squeezed to one word a line (a 67,000 px page), and a series card's heading with an ingested evidence
id ("Sensors: ev_c7f4...") widened the asset page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.result import GradeResult
from assetgrade.store.repository import add_asset, add_evidence, get_evidence
from assetgrade.store.results import add_prediction
from assetgrade.workspace import Workspace

from .test_browser import ARGS, CHROMIUM, Served, _serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

ASSET = "lnk-00015"
SERIES_ID = "ev_c7f4c98905c7ce2a1b9c2fa7ac05604e"  # as ingest names evidence: one 35-character word
REASONS = ("expected cost 2,246 of grading C: no expected-cost threshold could be certified for the error target on "
           "the training data, so every asset is reviewed",
           "the 2-grade prediction set {A, C} is larger than 1",
           "contradiction: sensors says B (remaining useful life 112 cycles (90% interval 89-150); health index 0.90: "
           "grade B); vision says D — 2 grade levels apart, ordinal distance 1.73")


@pytest.fixture(scope="module")
def served_layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over 6 demo assets and, first in the queue, one shaped like the demo's: a short id and
    type, long reasons, a series with an ingested evidence id."""
    path = tmp_path_factory.mktemp("browser-layout") / "ws"
    ws = Workspace.init(path)
    seed_demo(ws, n_assets=6, seed=2, review_share=1.0)
    with ws.session() as s:
        series = get_evidence(s, "demo-001/series/1")
        add_asset(s, ASSET, asset_type="pv_mono")
        add_evidence(s, asset_id=ASSET, kind="series", sha256=series.sha256, blob_sha=series.blob_sha,
                     media_type=series.media_type, evidence_id=SERIES_ID)
        probs = {"A": 0.3, "B": 0.1, "C": 0.5, "D": 0.1}
        add_prediction(s, ASSET, model_version="demo", grade="C", distribution=probs, conformal_set=["A", "C"],
                       decision="review", expected_cost=2245.7, payload=GradeResult(
                           asset_id=ASSET, probabilities=probs, grade="C", conformal_set=("A", "C"), coverage=0.9,
                           expected_cost=2245.7, decision="review", reasons=REASONS).to_dict())
        token, _ = create_token(s, name="alice", role="reviewer", actor="test")
    ws.close()
    yield from _serve(path, {"alice": token})


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _page(chromium: Any, served: Served, width: int) -> Any:
    ctx = chromium.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 500)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{served.url}/ui/login")
    page.get_by_label("API token").fill(served.tokens["alice"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/ui/queue")
    return page


# lines a cell's text takes: an inline box broken across lines has one client rect a line
_LINES = "e => e.getClientRects().length"
_PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.mark.parametrize("width", [1366, 900, 390])
def test_queue_keeps_short_ids_and_types_on_one_line(chromium: Any, served_layout: Served, width: int) -> None:
    page = _page(chromium, served_layout, width)
    row = page.locator("#queue-rows tr").first
    why = row.locator("td:nth-child(8)")  # the reasons
    assert why.inner_text().startswith("expected cost 2,246")  # the long-reasons asset is first
    assert row.get_by_role("link", name=ASSET).evaluate(_LINES) == 1
    ids_and_types = page.locator("#queue-rows tr td:is(:nth-child(2), :nth-child(3)) bdi")
    assert ids_and_types.evaluate_all(f"es => es.map({_LINES})") == [1] * 14  # 7 ids, 7 types
    # the reasons keep a readable measure: no more than a dozen lines for three sentences
    assert why.bounding_box()["height"] < 12 * 22
    scroll, client = page.evaluate(_PAGE_WIDTH)
    assert scroll <= client, f"the queue at {width} px widens the page to {scroll} px"
    page.context.close()


def test_asset_page_on_a_phone_does_not_scroll_sideways(chromium: Any, served_layout: Served) -> None:
    page = _page(chromium, served_layout, 390)
    page.goto(f"{served_layout.url}/ui/assets/{ASSET}")
    heading = page.get_by_role("heading", name=f"Sensors: {SERIES_ID}")
    assert heading.bounding_box()["x"] + heading.bounding_box()["width"] <= 390
    scroll, client = page.evaluate(_PAGE_WIDTH)
    assert scroll <= client, f"the asset page at 390 px widens the page to {scroll} px"
    page.context.close()


def test_many_anomaly_windows_do_not_write_their_labels_over_each_other(chromium: Any) -> None:
    """Like the demo's engine lnk-00001: 50 windows, most in the last fifth of its 220 cycles."""
    from pathlib import Path

    from assetgrade.web import svg

    t = list(range(1, 221))
    windows = [(float(a), float(a + (k % 3)), f"s{k % 9} exceeded 5σ of its commissioning level from {a} to "
                f"{a + k % 3} cycles (peak 5.{k}σ)") for k, a in enumerate([133, 171, *range(170, 219)])]
    plot = svg.series_plot(t, {"s2": [642 + (i % 5) * 0.3 for i in t]}, windows=windows, title="ev_c7f4")
    css = (Path(svg.__file__).parent / "static" / "app.css").read_text()
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    page.set_content(f'<style>{css}</style><figure class="card" style="width: 740px">{plot}</figure>')
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll("svg.plot text.wlbl")).map(t => {
        const b = t.getBoundingClientRect(); return [t.textContent, b.left, b.top, b.right, b.bottom]; })""")
    frame = page.locator("svg.plot").bounding_box()
    page.close()
    assert 2 <= len(boxes) < len(windows)  # some labelled; the rest in their tooltips and the list under the plot
    assert plot.count('class="window"><title>') == len(windows)
    for i, (a, al, at, ar, ab) in enumerate(boxes):
        assert al >= frame["x"] - 0.5 and ar <= frame["x"] + frame["width"] + 0.5, a
        for z, zl, zt, zr, zb in boxes[i + 1:]:
            assert al >= zr or zl >= ar or at >= zb or zt >= ab, (a, z)
