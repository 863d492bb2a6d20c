"""``assetgrade serve`` (the REST API and review UI under uvicorn) and ``assetgrade tokens create|list|revoke``."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assetgrade.cli.choices import LogLevel, Role
from assetgrade.cli.console import console, styled
from assetgrade.cli.options import interval, positive
from assetgrade.cli.workspace import STORE_OPTION, WORKSPACE_OPTION, open_workspace

__all__ = ["SECRET_ENV", "register"]

SECRET_ENV = "ASSETGRADE_SESSION_SECRET"


def _check_settings(kw: dict[str, object]) -> None:
    """Refuse bad settings here, once, with the option or variable named (not as N worker tracebacks)."""
    import pydantic

    from assetgrade.errors import ValidationError
    from assetgrade.rest import RestSettings

    names = {"session_secret": f"${SECRET_ENV}", "max_json_bytes": "--max-json-mb",
             "max_upload_bytes": "--max-upload-mb"}
    try:
        RestSettings.model_validate(kw)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "settings"
        raise ValidationError(str(err["msg"]), where=names.get(field, field)) from None


def _serve(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port, in [0, 65535] (0: one the system picks).",
                                      callback=interval(0, 65535))] = 8000,
    max_json_mb: Annotated[float, typer.Option(help="Largest JSON/form request, MB (> 0).",
                                               callback=positive())] = 1.0,
    max_upload_mb: Annotated[float, typer.Option(help="Largest image upload, MB (> 0).",
                                                 callback=positive())] = 20.0,
    cookie_secure: Annotated[bool, typer.Option(help="Send the session cookie over HTTPS only.")] = False,
    log_level: Annotated[LogLevel, typer.Option(help="uvicorn log level (any case).", case_sensitive=False)] = "info",
    workers: Annotated[int, typer.Option(
        min=1, max=64,
        help="Worker processes (one uses about one core); on Linux each binds the port with SO_REUSEPORT.")] = 1,
    threads: Annotated[int, typer.Option(
        min=1, max=256,
        help="Handler threads per worker. The default suits PostgreSQL and machines with more cores; with SQLite"
             " on 2 cores, 2 measured best (more adds GIL contention; docs/rest.md).")] = 4,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /docs) and the review UI (/ui) from a workspace.

    The session-cookie secret comes from $ASSETGRADE_SESSION_SECRET (random per start when unset,
    so web sessions end when the service restarts; with several workers one secret is drawn and
    shared by all of them).
    """
    import secrets

    from assetgrade.rest.serving import ServeSpec, serve

    ws = open_workspace(workspace, store)  # fails here, once, when the workspace or store is wrong
    ws.close()
    kw: dict[str, object] = {"max_json_bytes": int(max_json_mb * (1 << 20)),
                             "max_upload_bytes": int(max_upload_mb * (1 << 20)), "cookie_secure": cookie_secure,
                             "worker_threads": threads, "db_pool_size": min(threads, 64),
                             "session_secret": os.environ.get(SECRET_ENV) or secrets.token_hex(32)}
    _check_settings(kw)
    spec = ServeSpec(workspace=str(ws.path), store_url=store, settings=kw)
    console.print(styled("green", "assetgrade", f" serving {ws.path} on http://{host}:{port}/ui  (API docs: /docs)"
                         + (f" with {workers} worker processes" if workers > 1 else "")))
    serve(spec, host=host, port=port, workers=workers, log_level=log_level)


def _tokens_create(
    role: Annotated[Role, typer.Option(help="What the token may do.")],
    name: Annotated[str, typer.Option(help="Who or which station holds it (the audit actor).")],
    expires_in_days: Annotated[float | None, typer.Option(
        "--expires-in-days", callback=interval(0.0, 36_500.0, low_open=True),
        help="Stop working this many days from now (default: works until revoked).")] = None,
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Create an API token and print it once (only its sha256 is stored)."""
    from assetgrade.rest.auth import create_token

    with open_workspace(workspace, store) as ws, ws.session() as s:
        token, row = create_token(s, name=name, role=role, actor=f"cli:{os.environ.get('USER', 'unknown')}",
                                  expires_in_days=expires_in_days)
    until = f", expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at is not None else ""
    console.print(styled("green", "token created", f" for {row.name} (role {row.role}{until});"
                         " it is shown only now:"), highlight=False)
    print(token)


def _tokens_list(
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """List tokens (names, roles, dates; never the tokens)."""
    from assetgrade.rest.auth import list_tokens

    with open_workspace(workspace, store) as ws, ws.session(readonly=True) as s:
        rows = list_tokens(s)
    now = datetime.now(UTC)
    table = Table("name", "role", "created", "revoked", "expires")
    for r in rows:
        expires = ""
        if r.expires_at is not None:
            at = r.expires_at if r.expires_at.tzinfo else r.expires_at.replace(tzinfo=UTC)
            expires = f"{at:%Y-%m-%d %H:%M}" + (" (expired)" if at <= now else "")
        table.add_row(r.name, r.role, f"{r.created_at:%Y-%m-%d %H:%M}",
                      f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "", expires)
    console.print(table)


def _tokens_revoke(
    name: Annotated[str, typer.Argument(help="Token name.")],
    workspace: Annotated[Path | None, WORKSPACE_OPTION] = None,
    store: Annotated[str | None, STORE_OPTION] = None,
) -> None:
    """Revoke a token (a running service notices within its token cache time, 5 s by default)."""
    from assetgrade.rest.auth import revoke_token

    with open_workspace(workspace, store) as ws, ws.session() as s:
        revoke_token(s, name, actor=f"cli:{os.environ.get('USER', 'unknown')}")
    console.print(styled("yellow", "revoked", f" {name}"))


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``tokens`` group."""
    app.command("serve")(_serve)
    tokens = typer.Typer(help="API tokens for the REST service (roles admin, reviewer, station).",
                         no_args_is_help=True)
    tokens.command("create")(_tokens_create)
    tokens.command("list")(_tokens_list)
    tokens.command("revoke")(_tokens_revoke)
    app.add_typer(tokens, name="tokens")
