"""Request size limits as pure ASGI middleware: image uploads get one limit, everything else another."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assetgrade.rest.errors import PayloadTooLargeError, error_response

__all__ = ["SizeLimitMiddleware", "limit_for"]

_UPLOAD_TYPES = ("image/", "application/octet-stream", "multipart/form-data")


def limit_for(content_type: str, *, max_json: int, max_upload: int) -> int:
    """The byte limit for a request of ``content_type``: uploads get ``max_upload``, the rest ``max_json``.

    Examples
    --------
    >>> limit_for("image/png", max_json=10, max_upload=99)
    99
    >>> limit_for("application/json", max_json=10, max_upload=99)
    10
    """
    ct = content_type.lower()
    return max_upload if ct.startswith(_UPLOAD_TYPES) else max_json


class SizeLimitMiddleware:
    """Refuse bodies over the limit with 413: early by ``Content-Length``, else while streaming.

    Examples
    --------
    >>> async def app(scope, receive, send): ...
    >>> SizeLimitMiddleware(app, max_json=1024, max_upload=4096).max_upload
    4096
    """

    def __init__(self, app: ASGIApp, *, max_json: int, max_upload: int) -> None:
        self.app = app
        self.max_json = max_json
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = limit_for(headers.get("content-type", ""), max_json=self.max_json, max_upload=self.max_upload)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(PayloadTooLargeError(int(declared), limit))(scope, receive, send)
            return
        if declared is None or not declared.isdigit():  # chunked: read it all here, within the limit
            chunks: list[bytes] = []
            seen = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                seen += len(chunks[-1])
                if seen > limit:
                    await error_response(PayloadTooLargeError(None, limit))(scope, receive, send)
                    return
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)  # the declared length is within the limit
