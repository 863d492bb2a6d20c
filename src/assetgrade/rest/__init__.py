"""The REST service: ``create_app(workspace, settings)`` builds the FastAPI app (API + web UI)."""

from assetgrade.rest.app import create_app
from assetgrade.rest.auth import Principal, create_token, hash_token, revoke_token
from assetgrade.rest.errors import STATUS_CODES, AuthenticationError, PayloadTooLargeError, status_for
from assetgrade.rest.settings import RestSettings

__all__ = [
    "STATUS_CODES",
    "AuthenticationError",
    "PayloadTooLargeError",
    "Principal",
    "RestSettings",
    "create_app",
    "create_token",
    "hash_token",
    "revoke_token",
    "status_for",
]
