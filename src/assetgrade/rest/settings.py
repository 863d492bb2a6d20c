"""Settings of the REST service and web UI: request size limits, cookie signing, paging."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RestSettings"]


class RestSettings(BaseModel):
    """What ``create_app`` needs besides the workspace.

    ``session_secret`` signs the web UI's session cookie; when empty a random secret is drawn
    per process (sessions then end when the service restarts). Sizes are in bytes.

    Examples
    --------
    >>> RestSettings().max_json_bytes
    1048576
    >>> RestSettings(max_upload_bytes=10).max_upload_bytes
    10
    """

    model_config = ConfigDict(frozen=True)

    max_json_bytes: int = Field(1 << 20, ge=1, description="largest JSON or form request body")
    max_upload_bytes: int = Field(20 << 20, ge=1, description="largest image upload body")
    session_secret: str = Field(default_factory=lambda: secrets.token_hex(32), min_length=16)
    session_max_age_s: int = Field(12 * 3600, ge=60, description="web session lifetime")
    cookie_secure: bool = Field(False, description="send the session cookie over HTTPS only")
    token_cache_s: float = Field(5.0, ge=0.0, description="how long a checked token is trusted without a lookup")
    max_page_size: int = Field(500, ge=1)
    db_pool_size: int = Field(8, ge=1, le=64, description="pooled SQLite connections of the service")
    worker_threads: int = Field(
        8, ge=1, le=256,
        description="threads running the (blocking) handlers; more than the pooled connections only adds GIL"
                    " contention and connection churn")
    server_timing: bool = Field(True, description="add a Server-Timing header with the handler time")
