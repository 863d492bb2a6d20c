"""Every write route and admin read of the API, found from the app itself (not a hand-kept list): it names the
roles it lets in, and refuses a caller without credentials (401) and every other role (403) before it reads the body."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

ROLES = ("admin", "reviewer", "station")
TOKEN_OF = {"admin": "admin", "reviewer": "alice", "station": "station-1"}


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, also those of included routers (FastAPI keeps them in the router it includes)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _routes(inner.routes) if inner is not None else (route,)


def _write_routes(app: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, allowed roles) of every API route that writes or names roles (admin reads); the roles from
    its ``roles(...)`` dependency."""
    out = []
    for route in _routes(app.routes):
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/v1"):
            continue
        names = [getattr(d.call, "__name__", "") for d in route.dependant.dependencies]
        guard = next((n for n in names if n.startswith("requires_")), None)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if method == "GET" and guard is None:
                continue  # a read for any token (current_principal), or /health
            assert guard is not None, f"{method} {route.path} writes without a role check: {names}"
            out.append((method, route.path, tuple(guard.removeprefix("requires_").split("_or_"))))
    return out


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "demo-001", path)


def test_every_write_route_and_admin_read_refuses_no_token_and_every_role_it_does_not_name(demo_env: Any) -> None:
    routes = _write_routes(demo_env.client.app)
    writes = {(m, p) for m, p, _ in routes if m != "GET"}
    assert len(writes) == 11, writes  # reviews, assets, images, grade, telemetry, tokens (2), label requests (2),
    # evidence withdrawal and reinstatement
    admin_only = {(m, p) for m, p, allowed in routes if allowed == ("admin",)}
    assert {("DELETE", "/api/v1/tokens/{name:path}"), ("POST", "/api/v1/tokens"), ("GET", "/api/v1/audit/events"),
            ("GET", "/api/v1/telemetry"), ("POST", "/api/v1/evidence/{evidence_id:path}/withdraw"),
            ("POST", "/api/v1/evidence/{evidence_id:path}/reinstate")} <= admin_only
    for method, path, allowed in routes:
        assert set(allowed) <= set(ROLES) and "admin" in allowed, (method, path, allowed)
        headers = {"Content-Type": "image/png" if path.endswith("/images") else "application/json"}
        r = demo_env.client.request(method, _url(path), headers=headers, content=b"{}")
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        for role in set(ROLES) - set(allowed):
            r = demo_env.client.request(method, _url(path), content=b"{}",
                                        headers={**headers, **demo_env.auth(TOKEN_OF[role])})
            assert r.status_code == 403, (method, path, role, r.status_code, r.text)
            assert " or ".join(allowed) in r.json()["detail"]
