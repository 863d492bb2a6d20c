"""The FastAPI application factory: one workspace (one engine), routes, size limits, error mapping, web UI."""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetgrade.errors import AssetgradeError
from assetgrade.rest.auth import TokenCache
from assetgrade.rest.deps import AppState, current_principal
from assetgrade.rest.errors import install_error_handlers, path_redactor
from assetgrade.rest.limits import SizeLimitMiddleware
from assetgrade.rest.routes import admin, assets, review, telemetry
from assetgrade.rest.settings import RestSettings

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["create_app"]

DOCS_ASSETS = "/docs-assets"


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from the copy that the ``fastapi-offline`` package ships (MIT; Swagger UI is
    Apache-2.0), so the page works on machines without internet access and sends no request elsewhere."""
    import importlib.util
    from pathlib import Path

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return  # no local copy: no docs page rather than one that loads from a CDN (the OpenAPI JSON stays)
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=static), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="assetgrade API",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")


class _ServerTiming:
    """Adds ``Server-Timing: app;dur=<ms>`` (time to the response start) to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - t0) * 1000.0
                message["headers"] = [*message.get("headers", []), (b"server-timing", f"app;dur={ms:.1f}".encode())]
            await send(message)

        await self.app(scope, receive, timed_send)


def _pool_connections(workspace: Workspace, pool_size: int) -> None:
    """Give a file-SQLite workspace a pooled engine (the CLI default opens a connection per session)."""
    from sqlalchemy.pool import NullPool

    from assetgrade.store.engine import make_engine

    url = workspace.engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") and isinstance(
            workspace.engine.pool, NullPool):
        workspace.engine.dispose()
        workspace.engine = make_engine(workspace.store_url, pool_size=pool_size)


def _server_places(workspace: Workspace) -> dict[str, str]:
    """Where the server keeps the workspace and its blobs, by the names error bodies use instead."""
    blobs = workspace.blobs
    return {str(workspace.path): "<workspace>", blobs.url: "<blob store>", blobs.root: "<blob store>"}


def _lifespan(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Size the thread pool that runs the blocking handlers (anyio's default is 40 threads); stop the round runner."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread
        from PIL import Image

        # what an upload uses (image checks, their size limits, the synthetic mark): imported now, not in the first one
        for module in ("assetgrade.ingest.images", "assetgrade.modalities.vision.images", "assetgrade.synth.base"):
            importlib.import_module(module)
        Image.init()  # Pillow registers its format plugins on first use otherwise (~0.3 s in a request)
        with suppress(AssetgradeError):  # a bad ontology is named by the requests that need it, as before
            app.state.assetgrade.ontology()  # ~1 s: the queue and prediction routes name the costs' currency with it
            # the currency's lookup imports assetgrade.decision, and scipy through it: ~0.7 s of imports under the
            # GIL that stalled every request of a worker whose first request was the queue (a 0.8-1.3 s tail in
            # `assetgrade bench service`, whose warm-up reaches one of the workers)
            app.state.assetgrade.currency()
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        app.state.assetgrade.close()

    return lifespan


def create_app(workspace: Workspace, settings: RestSettings | None = None) -> FastAPI:
    """The REST API (``/api/v1``, OpenAPI at ``/openapi.json`` and ``/docs``) and the web UI (``/ui``).

    Parameters
    ----------
    workspace
        An opened workspace; its engine is the app's only engine (SQLite in WAL mode; a file
        SQLite engine is replaced by a pooled one of ``settings.db_pool_size`` connections).
    settings
        Size limits, cookie secret and paging; defaults when None.

    Examples
    --------
    >>> import tempfile
    >>> from assetgrade.workspace import Workspace
    >>> app = create_app(Workspace.init(tempfile.mkdtemp() + "/ws"))
    >>> "/api/v1/queue" in app.openapi()["paths"]
    True
    """
    from assetgrade.web import install_ui

    settings = settings or RestSettings()
    _pool_connections(workspace, settings.db_pool_size)
    app = FastAPI(
        title="assetgrade",
        version="1",
        summary="Calibrated, auditable condition grades for used industrial assets, with human review.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below from files installed with the package, not from a CDN
        redoc_url=None,
        lifespan=_lifespan(settings.worker_threads),
    )
    redact = path_redactor(_server_places(workspace))  # one redactor for JSON errors and the UI's pages
    app.state.assetgrade = AppState(workspace=workspace, settings=settings, tokens=TokenCache(settings.token_cache_s),
                                    redact=redact)
    install_error_handlers(app, identify=current_principal, redact=redact)
    # order matters: /assets/{id}/reviews must be matched before the catch-all /assets/{id}
    for module in (review, telemetry, admin, assets):
        app.include_router(module.router)
    install_ui(app)
    _install_docs(app)

    @app.get("/", include_in_schema=False)
    @app.get("/ui", include_in_schema=False)
    @app.get("/ui/", include_in_schema=False)
    def root() -> RedirectResponse:  # serve prints .../ui: the UI's front page is the review queue
        return RedirectResponse("/ui/queue", status_code=307)

    app.add_middleware(SizeLimitMiddleware, max_json=settings.max_json_bytes, max_upload=settings.max_upload_bytes)
    if settings.server_timing:
        app.add_middleware(_ServerTiming)
    return app
