"""The one place where errors become HTTP responses (status codes and a JSON problem body)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from assetgrade.errors import (
    AssetgradeError,
    ConflictError,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    ValidationError,
)

__all__ = ["STATUS_CODES", "AuthenticationError", "PayloadTooLargeError", "error_response",
           "install_error_handlers", "status_for"]


class AuthenticationError(AssetgradeError):
    """No credentials, or credentials that are unknown, revoked or expired (HTTP 401)."""


class PayloadTooLargeError(AssetgradeError):
    """The request body is larger than the configured limit (HTTP 413)."""

    def __init__(self, size: int | None, limit: int) -> None:
        self.size = size
        self.limit = limit
        got = "more" if size is None else f"{size} bytes"
        super().__init__(f"request body too large: {got} sent, the limit is {limit} bytes")


STATUS_CODES: dict[type[AssetgradeError], int] = {
    ValidationError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    PermissionDeniedError: 403,
    AuthenticationError: 401,
    PayloadTooLargeError: 413,
    MissingExtraError: 501,
    StoreError: 503,
}


def status_for(exc: AssetgradeError) -> int:
    """The HTTP status of an error: the most specific class in STATUS_CODES wins, else 500."""
    for klass in type(exc).__mro__:
        if klass in STATUS_CODES:
            return STATUS_CODES[klass]
    return 500


def error_response(exc: AssetgradeError) -> JSONResponse:
    """``{"error": <class>, "detail": <message>, "where": ...}`` with the mapped status."""
    status = status_for(exc)
    body: dict[str, Any] = {"error": type(exc).__name__, "detail": str(exc)}
    if isinstance(exc, ValidationError):
        body["where"] = exc.where
        body["reason"] = exc.reason
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: assetgrade errors by class, request-schema errors as 422."""

    async def on_assetgrade(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AssetgradeError)
        handler = getattr(request.app.state, "html_error_handler", None)
        if handler is not None and request.url.path.startswith("/ui"):
            resp: Response = handler(request, exc, status_for(exc))
            return resp
        return error_response(exc)

    async def on_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        err = ValidationError(str(first.get("msg")), where=where or None)
        resp = error_response(err)
        return resp

    app.add_exception_handler(AssetgradeError, on_assetgrade)
    app.add_exception_handler(RequestValidationError, on_request_validation)
