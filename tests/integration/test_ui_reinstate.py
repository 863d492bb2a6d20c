"""Reinstating from the asset page: an admin reinstates a withdrawn item from the list (a reason required); a
superseded item with a live successor is refused under the list; a reviewer sees no such form and may not post it."""

from __future__ import annotations

from html import unescape
from typing import Any
from urllib.parse import quote

from assetgrade.store import add_evidence
from assetgrade.store.audit import list_events
from assetgrade.store.withdrawals import withdraw_evidence
from assetgrade.web.helpers import asset_url


def _items(env: Any, aid: str) -> dict[str, Any]:
    r = env.client.get(f"/api/v1/assets/{quote(aid)}/evidence", headers=env.auth("admin"))
    return {it["id"]: it["withdrawn"] for it in r.json()}


def test_an_admin_reinstates_a_withdrawn_item_from_the_list(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    target = next(iter(_items(env, aid)))
    withdraw_evidence(env.ws, [target], reason="pump-2's photo", by="ana")
    c = env.login("alice")
    page = unescape(c.get(asset_url(aid)).text)
    assert "1 item withdrawn" in page and 'class="reinstate-form"' not in page  # a reviewer: no form
    r = c.post(asset_url(aid, "/reinstate"), data={"evidence_id": target, "reason": "undo"}, follow_redirects=False)
    assert r.status_code == 403 and _items(env, aid)[target] is not None

    c = env.login("admin")
    page = unescape(c.get(asset_url(aid)).text)
    assert f'data-reinstate="{target}"' in page and f'action="{asset_url(aid, "/reinstate")}"' in page
    assert "until an admin reinstates it" in page and "cannot be undone" not in page
    r = c.post(asset_url(aid, "/reinstate"), data={"evidence_id": target, "reason": ""}, follow_redirects=False)
    assert r.status_code == 422 and "Not reinstated: " in unescape(r.text) and "must not be empty" in r.text
    r = c.post(asset_url(aid, "/reinstate"), data={"evidence_id": target, "reason": " it is this pump's "},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"{asset_url(aid)}?reinstated={quote(target, safe='')}"
    page = unescape(c.get(r.headers["location"]).text)
    assert f"Reinstated: <bdi>{target}</bdi> (" in page and "by <bdi>admin</bdi>: <bdi>it is this pump's</bdi>" in page
    assert 'id="withdrawn-list"' not in page and _items(env, aid)[target] is None
    with env.ws.session(readonly=True) as s:
        (ev,) = [e for e in list_events(s, action="evidence.reinstate") if e.entity_id == target]
    assert ev.actor == "admin" and ev.payload["reason"] == "it is this pump's"
    # a link cannot make the page say an item was reinstated; nor is an item in use reinstated again
    other = list(_items(env, aid))[1]
    assert "Reinstated: " not in unescape(c.get(f"{asset_url(aid)}?reinstated={quote(other, safe='')}").text)
    r = c.post(asset_url(aid, "/reinstate"), data={"evidence_id": other, "reason": "x"}, follow_redirects=False)
    assert r.status_code == 409 and "is not withdrawn; nothing was reinstated" in unescape(r.text)


def test_a_superseded_item_with_a_live_successor_is_refused_under_the_list(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    with env.ws.session() as s:
        add_evidence(s, asset_id=aid, kind="log", sha256="1" * 64, text="old", evidence_id="src-log")
        add_evidence(s, asset_id=aid, kind="log", sha256="2" * 64, text="new", evidence_id="src-log-v2",
                     attributes={"source_item": "src-log", "supersedes": "src-log"})
        withdraw_evidence(s, ["src-log"], reason="superseded by src-log-v2 from a.csv", by="ingest")
    c = env.login("admin")
    r = c.post(asset_url(aid, "/reinstate"), data={"evidence_id": "src-log", "reason": "old was right"},
               follow_redirects=False)
    page = unescape(r.text)
    assert r.status_code == 409 and 'id="reinstate-error"' in page and "withdraw 'src-log-v2' first" in page
    assert 'value="old was right"' in page and 'id="withdrawn-list" open' in page  # the input is kept, shown
    assert _items(env, aid)["src-log"] is not None
