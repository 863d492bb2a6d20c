"""The UI and REST reads that say which change of an asset came last follow the asset version, not a server's clock.

With servers on hosts whose clocks disagree, ``created_at`` says nothing about which review came last
(docs/review.md, "From reviews to training labels"); each test writes the skewed times explicitly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from assetgrade.store import add_evidence
from assetgrade.store.schema import Evidence, Review


def _review(env: Any, name: str, aid: str, grade: str = "B") -> str:
    """A review by ``name`` on the asset's current version (REST); its id."""
    v = env.client.get(f"/api/v1/assets/{aid}", headers=env.auth(name)).json()["version"]
    r = env.client.post(f"/api/v1/assets/{aid}/reviews", headers=env.auth(name),
                        json={"expected_version": v, "grade": grade})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _stamp(env: Any, review_id: str, at: datetime) -> None:
    """Write ``created_at`` as a server whose clock is off would have."""
    with env.ws.session() as s:
        s.execute(sa.update(Review).where(Review.id == review_id).values(created_at=at))


def test_saved_banner_names_the_review_of_the_newest_version(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    first = _review(env, "alice", aid)   # produces version n
    second = _review(env, "bob", aid)    # produces version n + 1, written by a server 1 h behind
    with env.ws.session(readonly=True) as s:
        at = s.scalar(sa.select(Review.created_at).where(Review.id == first))
    _stamp(env, second, at - timedelta(hours=1))
    bob = env.login("bob").get(f"/ui/queue?saved={aid}")
    assert bob.status_code == 200 and f"Review of <bdi>{aid}</bdi> saved." in bob.text
    alice = env.login("alice").get(f"/ui/queue?saved={aid}")
    assert alice.status_code == 200 and "saved." not in alice.text


def _evidence_on_clock(env: Any, aid: str, at: datetime) -> None:
    """A log added to the asset (its version goes up) by a server whose clock says ``at``."""
    with env.ws.session() as s:
        ev = add_evidence(s, asset_id=aid, kind="log", sha256="7" * 64, text="second inspection: weld crack",
                          evidence_id=f"{aid}/log/late", actor="station-1")
        s.flush()
        s.execute(sa.update(Evidence).where(Evidence.id == ev.id).values(created_at=at))


def _created(env: Any, review_id: str) -> datetime:
    with env.ws.session(readonly=True) as s:
        at = s.scalar(sa.select(Review.created_at).where(Review.id == review_id))
    assert at is not None
    return at


def test_conflict_names_evidence_added_after_the_review_though_its_clock_is_behind(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    v = env.client.get(f"/api/v1/assets/{aid}", headers=env.auth("bob")).json()["version"]
    first = _review(env, "alice", aid)                                    # version v + 1
    _evidence_on_clock(env, aid, _created(env, first) - timedelta(hours=1))  # version v + 2, stamped 1 h earlier
    r = env.client.post(f"/api/v1/assets/{aid}/reviews", headers=env.auth("bob"),
                        json={"expected_version": v + 1, "grade": "C"})
    assert r.status_code == 409 and "changed by new evidence at" in r.text, r.text
    page = env.login("bob").post(f"/ui/assets/{aid}/review", data={"expected_version": str(v + 1), "grade": "C",
                                                                   "defects_json": "[]"})
    assert page.status_code == 409 and "New evidence was added to the asset after you opened this page" in page.text


def test_conflict_names_the_reviewer_after_evidence_whose_clock_is_ahead(fresh_env: Any) -> None:
    env = fresh_env
    aid = env.assets[0].asset_id
    v = env.client.get(f"/api/v1/assets/{aid}", headers=env.auth("bob")).json()["version"]
    _evidence_on_clock(env, aid, datetime(2100, 1, 1))   # version v + 1, by a server whose clock is far ahead
    _review(env, "alice", aid)                            # version v + 2
    r = env.client.post(f"/api/v1/assets/{aid}/reviews", headers=env.auth("bob"),
                        json={"expected_version": v + 1, "grade": "C"})
    assert r.status_code == 409 and "changed by alice at" in r.text, r.text
    page = env.login("bob").post(f"/ui/assets/{aid}/review", data={"expected_version": str(v + 1), "grade": "C",
                                                                   "defects_json": "[]"})
    assert page.status_code == 409 and "Their review: grade <strong>B</strong>" in page.text
    assert "New evidence was added" not in page.text


@pytest.mark.parametrize(("shown", "kept"), [
    ("http://testserver/ui/queue?offset=50", True),
    ("http://TESTSERVER:80/ui/queue?offset=50", True),      # the same origin: default port, host in any case
    ("https://testserver/ui/queue?offset=50", False),       # another scheme on the same host
    ("http://testserver:8080/ui/queue?offset=50", False),   # another port
    ("http://user@testserver/ui/queue?offset=50", False),   # not an origin's form
])
def test_htmx_login_redirect_keeps_only_a_page_of_this_origin(demo_env: Any, shown: str, kept: bool) -> None:
    c = demo_env.client
    c.cookies.clear()
    r = c.get("/ui/queue", headers={"HX-Request": "true", "HX-Current-URL": shown}, follow_redirects=False)
    assert r.status_code == 401
    want = "/ui/queue%3Foffset%3D50" if kept else "/ui/queue"
    assert r.headers["HX-Redirect"] == f"/ui/login?next={want}"
