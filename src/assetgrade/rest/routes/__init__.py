"""REST route modules, one per resource group; each exposes ``router``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

__all__ = ["answer_head"]


def answer_head(router: APIRouter) -> APIRouter:
    """Let every ``GET`` route of ``router`` answer ``HEAD`` as the ``GET`` does (the server sends no body).

    RFC 9110 asks it of every GET, and uptime monitors probe ``/health`` with it. A path with its own
    ``HEAD`` route keeps it; the copies stay out of the OpenAPI document and keep the routes' order
    (``/assets/{id}/reviews`` before ``/assets/{id}``). Call it once, after the router's last route.
    """
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    has_head = {r.path for r in routes if "HEAD" in (r.methods or ())}
    for r in routes:
        if "GET" in (r.methods or ()) and r.path not in has_head:
            router.add_api_route(r.path.removeprefix(router.prefix), r.endpoint, methods=["HEAD"],
                                 include_in_schema=False, response_model=r.response_model,
                                 status_code=r.status_code, response_class=r.response_class, name=f"{r.name}_head")
    return router
