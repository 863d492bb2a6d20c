"""The one place where errors become HTTP responses (status codes and a JSON problem body)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DatabaseError, DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assetgrade.errors import (
    AssetgradeError,
    ConflictError,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    ValidationError,
)

__all__ = ["STATUS_CODES", "AuthenticationError", "HTTPError", "InternalError", "PayloadTooLargeError",
           "error_response", "install_error_handlers", "nul_refused", "path_redactor", "status_for",
           "store_unavailable"]

_log = logging.getLogger("assetgrade.rest")


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
    """The HTTP status of an error: its own (routing errors), else the most specific class in STATUS_CODES, else 500."""
    if isinstance(exc, HTTPError):
        return exc.status
    for klass in type(exc).__mro__:
        if klass in STATUS_CODES:
            return STATUS_CODES[klass]
    return 500


def path_redactor(places: dict[str, str]) -> Callable[[str], str]:
    """A function that replaces each server location in ``places`` (path → its name) in a message by its name.

    Longer paths are replaced first, so a folder inside another keeps its own name.

    >>> redact = path_redactor({"/srv/ws": "<workspace>", "/srv/ws/blobs": "<blob store>"})
    >>> redact("blob ab is not in the blob store /srv/ws/blobs; see /srv/ws/models/grader")
    'blob ab is not in the blob store <blob store>; see <workspace>/models/grader'
    """
    pairs = sorted(((k, v) for k, v in places.items() if k and k not in ("/", ".")), key=lambda kv: -len(kv[0]))

    def redact(text: str) -> str:
        for path, name in pairs:
            text = text.replace(path, name)
        return text

    return redact


def error_response(exc: AssetgradeError, redact: Callable[[str], str] | None = None) -> JSONResponse:
    """``{"error": <class>, "detail": <message>, "where": ...}`` with the mapped status; ``redact`` removes the
    server's own paths from the message."""
    status = status_for(exc)
    clean = redact or (lambda text: text)
    body: dict[str, Any] = {"error": type(exc).__name__, "detail": clean(str(exc))}
    if isinstance(exc, ValidationError):
        body["where"] = None if exc.where is None else clean(exc.where)
        body["reason"] = clean(exc.reason)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


class HTTPError(AssetgradeError):
    """A routing-level error (no such path, method not allowed) with its HTTP status."""

    def __init__(self, message: str, status: int, error: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class InternalError(AssetgradeError):
    """An unexpected failure in the server (HTTP 500); the traceback is in the server's log."""


def store_unavailable(exc: BaseException) -> bool:
    """Whether a database error says the store cannot serve now (connection lost, file gone or damaged,
    locked, read-only, disk full), rather than that a statement was wrong.

    >>> store_unavailable(OperationalError("SELECT 1", {}, Exception("unable to open database file")))
    True
    """
    return isinstance(exc, (OperationalError, InterfaceError)) or type(exc) is DatabaseError


def nul_refused(exc: BaseException) -> bool:
    """Whether PostgreSQL's driver refused a text holding a NUL character (U+0000), which its text cannot hold.

    Request bodies are checked before (422 naming the field); this catches the rest, such as an id in
    a path or a filter in a query (``/assets/a%00b``), which was a 500.

    >>> nul_refused(DataError("SELECT 1", {}, Exception("PostgreSQL text fields cannot contain NUL (0x00) bytes")))
    True
    """
    return isinstance(exc, DataError) and "NUL (0x00)" in str(exc.orig)


_PARSE_FAILED = "There was an error parsing the body"
"""FastAPI's 400 for a JSON body its parser gave up on without a JSONDecodeError."""


def _unreadable_body(exc: StarletteHTTPException) -> RequestValidationError | None:
    """FastAPI's bare 400 for a body the JSON parser could not read (nested too deeply, a number of thousands
    of digits, bytes that are not UTF-8) as a request error naming the body and why, else None."""
    cause = exc.__cause__
    if exc.status_code != 400 or exc.detail != _PARSE_FAILED or cause is None:
        return None
    if isinstance(cause, RecursionError):
        why = "it is nested too deeply"
    elif isinstance(cause, UnicodeDecodeError):
        why = f"it is not UTF-8 text (byte {cause.start})"
    elif isinstance(cause, ValueError) and "digits" in str(cause):
        why = "a number in it has too many digits"
    else:
        why = "the parser failed"
    return RequestValidationError([{"type": "body_unreadable", "loc": ("body",), "msg": why}])


def _request_error(exc: RequestValidationError) -> ValidationError:
    """The first schema error as a ValidationError naming the field (or the body, for JSON that does not parse)."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":  # loc is ("body", character offset)
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        ctx = first.get("ctx")
        why = ctx.get("error", "") if isinstance(ctx, dict) else ""
        return ValidationError(f"the body is not valid JSON{at}" + (f": {why}" if why else ""), where="body")
    if first.get("type") == "body_unreadable":
        return ValidationError(f"the body cannot be read as JSON: {first.get('msg')}", where="body")
    msg = str(first.get("msg"))
    if first.get("type") in _STRICT_TYPES and "input" in first:  # "a valid integer" alone puzzles who sent "1"
        msg += f", not {_as_json(first['input'])}"
    return ValidationError(msg, where=".".join(str(p) for p in loc) or None)


_STRICT_TYPES = ("int_type", "float_type", "bool_type")
"""Schema errors of a strict number or boolean field (rest/schemas.py) given a value of another JSON type."""


def _as_json(value: object) -> str:
    """A value as the client wrote it in JSON (``true``, ``"1"``, ``null``), shortened.

    >>> _as_json(True), _as_json("1"), _as_json(1.5), _as_json("x" * 100)[-4:]
    ('true', '"1"', '1.5', 'xx…"')
    """
    import json

    try:
        text = json.dumps(value)  # ASCII escapes: a lone surrogate sent in a string must not break the answer
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= 60:
        return text
    return text[:58] + '…"' if text.startswith('"') else text[:59] + "…"


def install_error_handlers(app: FastAPI, *, identify: Callable[[Request], object] | None = None,
                           redact: Callable[[str], str] | None = None) -> None:
    """Register the handlers: every error, also an unknown route or a crash, is one ``ErrorOut`` JSON body
    (an HTML page under ``/ui``): assetgrade errors by class, request-schema errors as 422.

    ``identify(request)`` checks the caller's credentials (raising AuthenticationError): the framework
    reads a JSON body before any route dependency runs, so without it a caller with no valid token
    would learn that its body does not parse (422) before being told it is not authenticated (401).
    ``redact(message)`` takes the server's paths (workspace, blob store) out of JSON error bodies: a
    missing grader or blob is named by its place in the workspace, not by where the server keeps it.
    """

    def respond(request: Request, exc: AssetgradeError, status: int) -> Response:
        handler = getattr(request.app.state, "html_error_handler", None)
        if handler is not None and request.url.path.startswith("/ui"):
            resp: Response = handler(request, exc, status)
            return resp
        if isinstance(exc, HTTPError):  # named like the status ("NotFound"), not like the class
            return JSONResponse({"error": exc.error, "detail": str(exc)}, status_code=status)
        return error_response(exc, redact)

    async def on_assetgrade(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AssetgradeError)
        return respond(request, exc, status_for(exc))

    async def on_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        err = _request_error(exc)
        first = exc.errors()[0] if exc.errors() else {}
        if err.where == "body" and isinstance(first.get("input"), bytes):  # FastAPI left a non-JSON type unread
            got = request.headers.get("content-type") or "none"
            err = ValidationError(f"the body was not read as JSON: send it with Content-Type: application/json"
                                  f" (got {got!r})", where="body")
        if identify is not None and err.where == "body":
            try:
                identify(request)
            except AssetgradeError as auth_exc:
                return respond(request, auth_exc, status_for(auth_exc))
        return respond(request, err, 422)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        unreadable = _unreadable_body(exc)
        if unreadable is not None:
            return await on_request_validation(request, unreadable)
        try:
            phrase = HTTPStatus(exc.status_code).phrase
        except ValueError:
            phrase = "Error"
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
        if exc.status_code == 404 and detail is None:
            detail = f"no such path: {request.url.path}"
        elif exc.status_code == 405 and detail is None:
            detail = f"{request.method} is not allowed on {request.url.path}"
        err = HTTPError(detail or phrase, exc.status_code, phrase.replace(" ", ""))
        resp = respond(request, err, exc.status_code)
        for k, v in (exc.headers or {}).items():  # e.g. Allow on 405
            resp.headers[k] = v
        return resp

    async def on_crash(request: Request, exc: Exception) -> Response:
        err = InternalError("internal server error; the server's log has the details")
        return respond(request, err, 500)

    async def on_database(request: Request, exc: Exception) -> Response:
        if nul_refused(exc):
            return respond(request, ValidationError(
                "the request holds the NUL character U+0000 in a text (an id, a filter, a field), which the store"
                " cannot hold or look up; remove it"), 422)
        if not store_unavailable(exc):
            raise exc  # a fault of ours (a bad statement): the 500 above, with the traceback in the log
        _log.error("the store failed on %s %s", request.method, request.url.path, exc_info=exc)
        err = StoreError("the store did not answer (gone, damaged, locked or read-only); try again later,"
                         " the server's log has the details")
        return respond(request, err, 503)

    app.add_exception_handler(AssetgradeError, on_assetgrade)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
    app.add_exception_handler(DBAPIError, on_database)
