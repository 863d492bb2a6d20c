"""Withdrawn evidence on the asset page: everyone sees how many items of the asset were withdrawn, with when, by whom
and why; an admin withdraws an item with the page's form (a reason required, a cross-site post refused), a reviewer
sees no form and may not post it."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest

from assetgrade.rest import create_token
from assetgrade.rest.demo import seed_demo
from assetgrade.store.audit import list_events
from assetgrade.store.withdrawals import withdraw_evidence
from assetgrade.web.helpers import asset_url
from assetgrade.workspace import Workspace

from .test_browser import CHROMIUM, Served, _login, _serve, browser  # noqa: F401  (browser is a fixture)


def _items(env: Any, aid: str) -> list[str]:
    r = env.client.get(f"/api/v1/assets/{quote(aid)}/evidence", headers=env.auth("admin"))
    return [it["id"] for it in r.json()]


def test_the_page_lists_withdrawn_items_for_everyone_and_the_form_for_admins_only(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    first, kept = _items(env, aid)[:2]
    c = env.login("alice")
    page = c.get(asset_url(aid)).text
    assert 'id="withdrawn-card"' not in page and 'id="withdraw-form"' not in page  # nothing withdrawn, no rights

    withdraw_evidence(env.ws, [first], reason="pump-2's photo", by="ana")
    page = unescape(c.get(asset_url(aid)).text)
    assert 'id="withdrawn-list"' in page and "1 item withdrawn" in page
    assert f"<bdi>{first}</bdi> · " in page and "by <bdi>ana</bdi>: <bdi>pump-2's photo</bdi>" in page
    assert 'id="withdraw-form"' not in page and "withdraw-button" not in page  # a reviewer sees no form
    assert f'data-evidence="{first}"' not in page  # not drawn as evidence in use

    c = env.login("admin")
    page = unescape(c.get(asset_url(aid)).text)
    assert 'id="withdraw-form"' in page and f'action="{asset_url(aid, "/withdraw")}"' in page
    assert f'<option value="{kept}"' in page and f'<option value="{first}"' not in page  # only items in use


def test_an_admin_withdraws_an_item_from_the_page(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    target = _items(env, aid)[0]
    c = env.login("admin")
    version = env.client.get(f"/api/v1/assets/{quote(aid)}", headers=env.auth("admin")).json()["version"]
    r = c.post(asset_url(aid, "/withdraw"), data={"evidence_id": target, "reason": "  another pump's photo "},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{asset_url(aid)}?withdrew={quote(target, safe='')}"
    page = unescape(c.get(r.headers["location"]).text)
    assert f"Withdrawn: <bdi>{target}</bdi> (" in page
    assert "by <bdi>admin</bdi>: <bdi>another pump's photo</bdi>" in page
    assert "1 item withdrawn" in page
    assert f"version {version + 1}" in page  # the review form is now made against the new version
    with env.ws.session(readonly=True) as s:
        (ev,) = [e for e in list_events(s, action="evidence.withdraw") if e.entity_id == target]
    assert ev.actor == "admin" and ev.payload["by"] == "admin" and ev.payload["reason"] == "another pump's photo"
    # a link cannot make the page say an item was withdrawn
    other = _items(env, aid)[1]
    assert "Withdrawn: " not in unescape(c.get(f"{asset_url(aid)}?withdrew={quote(other, safe='')}").text)


@pytest.mark.parametrize(("reason", "says"), [
    ("", "reason: the reason must not be empty"),
    ("two\nlines", "holds the control character U+000A at position 3"),
    ("x" * 1001, "1,001 characters; at most 1,000"),
])
def test_a_bad_reason_is_said_under_the_form_which_keeps_the_input(fresh_env: Any, reason: str, says: str) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    target = _items(env, aid)[1]
    c = env.login("admin")
    r = c.post(asset_url(aid, "/withdraw"), data={"evidence_id": target, "reason": reason})
    assert r.status_code == 422, r.text
    page = unescape(r.text)
    assert 'id="withdraw-error"' in page and says in page, page[-3000:]
    assert f'<option value="{target}" selected>' in page
    with env.ws.session(readonly=True) as s:
        assert list_events(s, action="evidence.withdraw") == []


def test_evidence_of_another_asset_is_refused(fresh_env: Any) -> None:
    env = fresh_env
    aid, other = env.assets[0].asset_id, env.assets[1].asset_id
    c = env.login("admin")
    r = c.post(asset_url(aid, "/withdraw"), data={"evidence_id": _items(env, other)[0], "reason": "wrong"})
    assert r.status_code == 422 and "is not evidence of asset" in unescape(r.text)
    r = c.post(asset_url(aid, "/withdraw"), data={"evidence_id": "no/such/item", "reason": "wrong"})
    assert r.status_code == 422 and "'no/such/item' is not evidence of asset" in unescape(r.text)
    with env.ws.session(readonly=True) as s:
        assert list_events(s, action="evidence.withdraw") == []


def test_a_reviewer_and_a_cross_site_post_are_refused(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    target = _items(env, aid)[0]
    c = env.login("alice")
    r = c.post(asset_url(aid, "/withdraw"), data={"evidence_id": target, "reason": "wrong"})
    assert r.status_code == 403 and "withdrawing evidence needs admin" in unescape(r.text)
    c = env.login("admin")
    r = c.post(asset_url(aid, "/withdraw"), data={"evidence_id": target, "reason": "wrong"},
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "cross-site form post refused" in r.text
    with env.ws.session(readonly=True) as s:
        assert list_events(s, action="evidence.withdraw") == []


@pytest.fixture(scope="module")
def served_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("browser-withdraw") / "ws"
    ws = Workspace.init(path)
    seed_demo(ws, n_assets=3, seed=3)
    with ws.session() as s:
        tokens = {"root": create_token(s, name="root", role="admin", actor="test")[0]}
    ws.close()
    yield from _serve(path, tokens)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_an_admin_withdraws_an_image_in_the_browser(browser: Any, served_admin: Served) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with served_admin.api("root") as api:
        aid = api.get("/api/v1/assets").json()["items"][0]["id"]
        image = next(it["id"] for it in api.get(f"/api/v1/assets/{quote(aid)}/evidence").json()
                     if it["kind"] == "image")
    page = _login(browser, served_admin, "root")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served_admin.url}{asset_url(aid)}")
    expect(page.locator(f"figure[data-evidence='{image}']")).to_have_count(1)
    page.locator("#withdraw-evidence").select_option(image)
    page.locator("#withdraw-button").click()  # no reason: the browser asks for one, nothing is posted
    assert page.locator("#withdraw-reason").evaluate("(el) => el.validity.valueMissing")
    expect(page.locator("#withdrawn-list")).to_have_count(0)
    page.get_by_label("Reason (required)").fill("photo of pump-2")
    page.locator("#withdraw-button").click()
    page.wait_for_url(f"**?withdrew={quote(image, safe='')}")
    expect(page.locator("p.msg.ok[role=status]")).to_contain_text(f"Withdrawn: {image}")
    expect(page.locator("#withdrawn-list summary")).to_have_text(
        "1 item withdrawn: kept in the store, left out of grading, training and the counts")
    expect(page.locator("#withdrawn-list li")).not_to_be_visible()  # collapsed until opened
    page.locator("#withdrawn-list summary").click()
    expect(page.locator("#withdrawn-list li")).to_contain_text("by root: photo of pump-2")
    expect(page.locator(f"figure[data-evidence='{image}']")).to_have_count(0)
    with served_admin.api("root") as api:
        listed = {it["id"]: it["withdrawn"] for it in api.get(f"/api/v1/assets/{quote(aid)}/evidence").json()}
    assert listed[image]["by"] == "root" and listed[image]["reason"] == "photo of pump-2"
    page.context.close()
    assert errors == []
