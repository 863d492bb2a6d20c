"""Browser tests: Playwright drives Debian's chromium against a real ``assetgrade serve`` on a free loopback port.

A reviewer logs in, works three assets with the keyboard and the box tool, a correction
persists across a reload, and a conflicting edit by a second reviewer is refused with a
clear message while their input stays in the form. Label requests are answered with the
keyboard, and an admin asks for a new round of them from the page's form.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.workspace import Workspace

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@dataclass
class Served:
    """A running service: its base URL, workspace path and tokens."""

    url: str
    ws_path: Path
    tokens: dict[str, str]

    def api(self, name: str) -> httpx.Client:
        """An API client authenticated as ``name``."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[name]}"}, timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(path: Path, tokens: dict[str, str]) -> Iterator[Served]:
    """Run ``assetgrade serve`` over the workspace at ``path`` until the generator is closed."""
    port = _free_port()
    env = {**os.environ, "ASSETGRADE_SESSION_SECRET": "s" * 32}
    proc = subprocess.Popen([sys.executable, "-m", "assetgrade.cli", "serve", "-w", str(path), "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read().decode() if proc.stdout else ""
            proc.kill()
            pytest.fail(f"assetgrade serve did not start: {out[-2000:]}")
        time.sleep(0.2)
    yield Served(url, path, tokens)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` in a subprocess over a demo workspace with reviewers alice and bob."""
    path = tmp_path_factory.mktemp("browser") / "ws"
    ws = Workspace.init(path)
    seed_demo(ws, n_assets=10, seed=3)
    tokens = {}
    with ws.session() as s:
        for name in ("alice", "bob"):
            tokens[name], _ = create_token(s, name=name, role="reviewer", actor="test")
    ws.close()
    yield from _serve(path, tokens)


@pytest.fixture(scope="module")
def served_trained(trained_template: tuple[Path, dict[str, str]],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``assetgrade serve`` over a copy of the session's workspace with a trained grader, 8 unlabelled assets and an
    admin (``trained_template``, conftest.py)."""
    src, tokens = trained_template
    path = tmp_path_factory.mktemp("browser-trained") / "ws"
    shutil.copytree(src, path)
    yield from _serve(path, dict(tokens))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _login(browser: Any, served: Served, name: str) -> Any:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    external: list[str] = []
    ctx.on("request", lambda req: external.append(req.url) if not req.url.startswith(served.url) else None)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{served.url}/ui/login")
    page.get_by_label("API token").fill(served.tokens[name])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/ui/queue")
    page.external_requests = external  # checked by the tests
    return page


def _draw_box(page: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    svg = page.locator("figure.imgbox svg.boxes").first
    box = svg.bounding_box()
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    page.mouse.move(box["x"] + (x0 + x1) / 2, box["y"] + (y0 + y1) / 2, steps=4)
    page.mouse.move(box["x"] + x1, box["y"] + y1, steps=4)
    page.mouse.up()


def test_reviewer_works_three_assets_and_correction_persists(browser: Any, served: Served,
                                                             tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = _login(browser, served, "alice")
    queue = served.api("alice").get("/api/v1/queue?limit=100").json()["items"]
    assert len(queue) >= 4
    first = queue[0]["asset_id"]
    page.keyboard.press("Enter")  # open the selected (first) row
    page.wait_for_url(f"**/ui/assets/{first}")
    expect(page.locator("h1")).to_contain_text(first)
    heat = page.locator("img.heat").first
    expect(heat).to_be_visible()
    page.keyboard.press("h")
    expect(heat).to_be_hidden()
    page.keyboard.press("h")
    expect(heat).to_be_visible()
    page.screenshot(path=str(tmp_path / "asset.png"), full_page=True)
    assert (tmp_path / "asset.png").stat().st_size > 10_000

    # asset 1: grade C with the keyboard, a drawn box, a note, Enter submits
    page.keyboard.press("3")
    expect(page.locator("input[name=grade][value=C]")).to_be_checked()
    n_before = page.locator("#defect-list li").count()
    _draw_box(page, 20, 20, 120, 90)
    expect(page.locator("#defect-list li")).to_have_count(n_before + 1)
    page.locator("#defect-list li select").last.select_option("crack")
    page.get_by_label("Note").fill("crack at the weld, not corrosion")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Enter")
    second = queue[1]["asset_id"]
    page.wait_for_url(f"**/ui/assets/{second}?saved=*")
    expect(page.locator("p.msg.ok")).to_contain_text(f"Review of {first} saved")

    # asset 2: the letter shortcut; asset 3: a digit; both with Enter
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    third = queue[2]["asset_id"]
    page.wait_for_url(f"**/ui/assets/{third}?saved=*")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/assets/{queue[3]['asset_id']}?saved=*")

    # the correction persists across a reload
    page.goto(f"{served.url}/ui/assets/{first}")
    page.reload()
    history = page.locator("ul.history")
    expect(history).to_contain_text("alice")
    expect(history).to_contain_text("crack at the weld, not corrosion")
    expect(history).to_contain_text("crack")
    reviews = served.api("bob").get(f"/api/v1/assets/{first}/reviews").json()
    assert reviews[0]["grade"] == "C"
    boxes = [d for d in reviews[0]["defects"] if d["id"] == "crack"]
    assert len(boxes) == 1 and boxes[0]["box"][2] - boxes[0]["box"][0] > 20  # image pixels, not screen pixels
    graded = {r["grade"] for a in (second, third)
              for r in served.api("bob").get(f"/api/v1/assets/{a}/reviews").json()}
    assert graded == {"B", "A"}
    assert page.external_requests == []
    page.context.close()


def test_conflicting_edit_is_refused_and_input_kept(browser: Any, served: Served) -> None:
    from playwright.sync_api import expect

    target = served.api("alice").get("/api/v1/queue?limit=1").json()["items"][0]["asset_id"]
    alice = _login(browser, served, "alice")
    bob = _login(browser, served, "bob")
    alice.goto(f"{served.url}/ui/assets/{target}")
    bob.goto(f"{served.url}/ui/assets/{target}")
    bob.keyboard.press("4")
    bob.get_by_label("Note").fill("bob's careful note")
    alice.keyboard.press("2")
    alice.get_by_role("button", name="Submit review").click()
    alice.wait_for_url("**saved=*")
    bob.get_by_role("button", name="Submit review").click()
    msg = bob.locator("#review-message")
    expect(msg).to_contain_text("Conflict")
    expect(msg).to_contain_text("alice")
    expect(msg).to_contain_text("UTC")
    expect(bob.get_by_label("Note")).to_have_value("bob's careful note")
    expect(bob.locator("input[name=grade][value=D]")).to_be_checked()
    version = served.api("bob").get(f"/api/v1/assets/{target}").json()["version"]
    expect(bob.locator("#asset-version")).to_have_text(f"version {version}")  # the header is not left stale
    expect(bob.locator("#review-history")).to_contain_text("alice")
    reviews = served.api("bob").get(f"/api/v1/assets/{target}/reviews").json()
    assert [r["reviewer"] for r in reviews] == ["alice"]
    # bob has seen the conflict; submitting again records his review on top of alice's
    bob.get_by_role("button", name="Submit review").click()
    bob.wait_for_url("**saved=*")
    reviews = served.api("bob").get(f"/api/v1/assets/{target}/reviews").json()
    assert [r["reviewer"] for r in reviews] == ["bob", "alice"] and reviews[0]["note"] == "bob's careful note"
    alice.context.close()
    bob.context.close()


def test_reviewer_answers_label_requests_with_the_keyboard(browser: Any, served: Served) -> None:
    from playwright.sync_api import expect
    from sqlalchemy import delete

    from assetgrade.store.requests import RequestedLabel, add_label_requests
    from assetgrade.store.schema import Label

    api = served.api("alice")
    busy = {i["asset_id"] for i in api.get("/api/v1/queue?limit=5").json()["items"]}  # the other tests' assets
    ids = [a["id"] for a in api.get("/api/v1/assets?limit=100").json()["items"] if a["id"] not in busy][-2:]
    assert len(ids) == 2
    ws = Workspace.open(served.ws_path)
    with ws.session() as s:  # the demo assets come labelled: these two stand for unlabelled ones
        s.execute(delete(Label).where(Label.asset_id.in_(ids), Label.kind == "grade"))
        add_label_requests(s, [RequestedLabel(a, i + 1, "typiclust") for i, a in enumerate(ids)],
                           strategy="budget_switch", model_version="m-test", requested_by="carol")
    ws.close()
    page = _login(browser, served, "alice")
    page.get_by_role("link", name="Label requests").click()
    page.wait_for_url("**/ui/requests")
    expect(page.locator("h1")).to_contain_text("2 open")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/assets/{ids[0]}")
    expect(page.locator("#label-request")).to_contain_text("Label requested by active learning: #1")
    page.keyboard.press("2")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/assets/{ids[1]}?saved=*")  # on to the next request, not the queue's head
    page.keyboard.press("3")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/requests?done=1*")
    expect(page.locator("p.msg.ok").first).to_contain_text("answered")
    done = api.get("/api/v1/review/requests?status=done").json()
    assert sorted(i["asset_id"] for i in done["items"]) == sorted(ids)
    assert page.external_requests == []
    page.context.close()


def test_admin_asks_for_a_round_from_the_requests_page(browser: Any, served_trained: Served) -> None:
    from playwright.sync_api import expect

    api = served_trained.api("alice")
    page = _login(browser, served_trained, "admin")
    page.get_by_role("link", name="Label requests").click()
    page.wait_for_url("**/ui/requests")
    expect(page.locator("h1")).to_contain_text("0 open")
    rows = page.locator("#queue-rows tr[data-href]")
    expect(rows).to_have_count(0)

    page.get_by_label("How many").fill("3")
    page.get_by_label("Strategy").select_option("typiclust")
    page.get_by_role("button", name="Ask for labels").click()
    page.wait_for_url("**/ui/requests?job=*")  # the round runs in the background; the page refreshes until done
    expect(page.locator("#round-message")).to_contain_text("3 added", timeout=30_000)
    expect(rows).to_have_count(3)
    first = api.get("/api/v1/review/requests").json()["items"]
    assert [i["requested_by"] for i in first] == ["admin"] * 3 and {i["chosen_by"] for i in first} == {"typiclust"}
    expect(page.locator("#queue-rows td a")).to_have_text([i["asset_id"] for i in first])

    # a second round that replaces the first: its rows only, the first round's others withdrawn
    page.get_by_label("How many").fill("2")
    page.get_by_label("Strategy").select_option("margin")
    page.get_by_label("Replace earlier rounds").check()
    page.get_by_role("button", name="Ask for labels").click()
    page.wait_for_url("**/ui/requests?job=*")
    expect(page.locator("#round-message")).to_contain_text("earlier ones withdrawn", timeout=30_000)
    second = api.get("/api/v1/review/requests").json()["items"]
    assert len(second) == 2 and {i["chosen_by"] for i in second} == {"margin"}
    n_gone = len({i["asset_id"] for i in first} - {i["asset_id"] for i in second})
    expect(page.locator("#round-message")).to_contain_text(f"{n_gone} earlier ones withdrawn")
    expect(page.locator("#queue-rows td a")).to_have_text([i["asset_id"] for i in second])
    assert api.get("/api/v1/review/requests?status=withdrawn").json()["total"] == n_gone

    # j/k typed into the form move no selection; outside it they do
    selected = page.locator("#queue-rows tr.selected td a")
    expect(selected).to_have_text(second[0]["asset_id"])
    page.get_by_label("Strategy").focus()
    page.keyboard.press("j")
    expect(selected).to_have_text(second[0]["asset_id"])
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    expect(selected).to_have_text(second[1]["asset_id"])
    page.keyboard.press("k")
    expect(selected).to_have_text(second[0]["asset_id"])

    # the new rows work like the others: Enter opens the first requested asset
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/assets/{second[0]['asset_id']}")
    expect(page.locator("#label-request")).to_contain_text("Label requested by active learning: #1")
    assert page.external_requests == []
    page.context.close()
