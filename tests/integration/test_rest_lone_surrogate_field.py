"""A lone UTF-16 surrogate sent as a JSON escape (``"\\ud800"``) in a plain text field of a body is refused with
our wording, naming the field, as a NUL is (422): pydantic's own check of a ``str`` field refused it first, with
"unable to parse raw data as a unicode string", which named neither the character nor why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from assetgrade.store.schema import Asset, Review

JSON = {"Content-Type": "application/json"}


def _post(env: Any, path: str, body: bytes, who: str) -> Any:
    return env.client.post(path, content=body, headers={**env.auth(who), **JSON})


def test_a_lone_surrogate_in_a_text_field_is_422_in_our_words_naming_the_field(fresh_env: Any) -> None:
    env = fresh_env
    a = env.assets[0].asset_id
    version = env.client.get(f"/api/v1/assets/{a}", headers=env.auth("alice")).json()["version"]
    nul = _post(env, f"/api/v1/assets/{a}/reviews",
                b'{"expected_version": %d, "grade": "A", "note": "rust\\u0000"}' % version, "alice")
    sent = [
        ("alice", f"/api/v1/assets/{a}/reviews", b'{"expected_version": %d, "grade": "A", "note": "rust \\ud800"}'
         % version, "body.note", "\\ud800 at position 5"),
        ("alice", f"/api/v1/assets/{a}/reviews", b'{"expected_version": %d, "defects": [{"id": "corrosion", '
         b'"severity": "\\udfff"}]}' % version, "body.defects.0.severity", "\\udfff at position 0"),
        ("admin", "/api/v1/assets", b'{"id": "s-1", "make": "KSB\\ud83d"}', "body.make", "\\ud83d at position 3"),
        ("admin", "/api/v1/tokens", b'{"name": "carol\\ud800", "role": "reviewer"}', "body.name",
         "\\ud800 at position 5"),
    ]
    for who, path, body, where, at in sent:
        r = _post(env, path, body, who)
        assert r.status_code == nul.status_code == 422, (where, r.text)
        got = r.json()
        assert got["where"] == where, got
        assert f"holds a lone surrogate {at}, which is not text UTF-8 can carry" in got["reason"], got
        assert "unable to parse raw data" not in r.text
    with env.ws.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 0
        assert s.get(Asset, "s-1") is None
