"""The web UI's answers to hostile or unlucky use, through the test client: ended sessions under htmx,
forms without a grade or with an oversized note, assets whose images are gone."""

from __future__ import annotations

from typing import Any


def test_htmx_requests_without_a_session_are_not_redirected_into_the_page(demo_env: Any) -> None:
    c = demo_env.client
    c.cookies.clear()
    hx = {"HX-Request": "true", "HX-Current-URL": "http://testserver/ui/queue?offset=50&limit=50"}
    r = c.get("/ui/queue?offset=50&limit=50", headers=hx, follow_redirects=False)
    # a 303 would be followed inside the request and the login page swapped into the table
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/ui/login?next=/ui/queue%3Foffset%3D50%26limit%3D50"
    elsewhere = c.get("/ui/queue", headers={**hx, "HX-Current-URL": "https://evil.example/ui/x"},
                      follow_redirects=False)
    assert elsewhere.headers["HX-Redirect"] == "/ui/login?next=/ui/queue"  # only a page of this service
    post = c.post("/ui/assets/demo-001/review", headers={"HX-Request": "true"}, data={"expected_version": "1"},
                  follow_redirects=False)
    assert post.status_code == 401 and "HX-Redirect" not in post.headers  # review.js says so; the input stays
    assert 'role="alert"' in post.text
    plain = c.get("/ui/queue", follow_redirects=False)  # a page load still goes to the login page
    assert plain.status_code == 303 and plain.headers["location"] == "/ui/login?next=/ui/queue"
