"""Request dependencies: the app's state (workspace, settings, caches) and the calling principal."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import Request

from assetgrade.errors import AssetgradeError, NotFoundError, PermissionDeniedError, StoreError, ValidationError
from assetgrade.rest.auth import (
    Principal,
    TokenCache,
    authenticate,
    hash_token,
    read_session_cookie,
    require,
    session_ended,
)
from assetgrade.rest.errors import AuthenticationError, path_redactor
from assetgrade.rest.settings import RestSettings

if TYPE_CHECKING:
    from assetgrade.grader import Grader
    from assetgrade.ontology import Ontology
    from assetgrade.review.rounds import RoundRunner
    from assetgrade.workspace import Workspace

__all__ = ["SESSION_COOKIE", "WRITE_METHODS", "AppState", "app_state", "current_principal", "grader_bundle_info",
           "load_workspace_grader", "origin_key", "own_origin", "refuse_cross_site", "roles", "unusable_grader"]

SESSION_COOKIE = "assetgrade_session"


@dataclass
class AppState:
    """Everything the handlers share: one workspace (one engine), the settings, the token cache, the path redactor.

    Examples
    --------
    >>> AppState.__dataclass_fields__["settings"].name
    'settings'
    """

    workspace: Workspace
    settings: RestSettings
    tokens: TokenCache
    redact: Callable[[str], str] = field(default_factory=lambda: path_redactor({}), repr=False)
    """Takes the server's paths (workspace, blob store) out of a message shown to a client: the one function
    (:func:`~assetgrade.rest.errors.path_redactor`) that JSON error bodies, the web UI's error pages and its
    messages all use; unchanged text by default."""
    _ontology: Ontology | None = field(default=None, repr=False)
    _rounds: RoundRunner | None = field(default=None, repr=False)
    _rounds_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _grader: Grader | None = field(default=None, repr=False)
    grading_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Held while this process grades: a Grader's caches serve one caller at a time."""

    def ontology(self) -> Ontology:
        """The workspace ontology, loaded once."""
        if self._ontology is None:
            self._ontology = self.workspace.ontology()
        return self._ontology

    def currency(self) -> str | None:
        """What the API's expected costs are in: the workspace config's ``costs: currency:``, the source the web UI
        names (None: unset, or the ``costs:`` section does not read; ``assetgrade config check`` names its problem).

        Stored predictions are read here, not through a loaded grader, so this is the config's currency, not
        necessarily that of the grader that computed them (``payload["currency"]`` of a prediction is that one).
        """
        from assetgrade.config import ConfigError
        from assetgrade.workspace import workspace_costs

        try:
            return workspace_costs(self.workspace.config, tuple(self.ontology().grades.names)).currency
        except ConfigError:
            return None

    def rounds(self) -> RoundRunner:
        """The process's runner of background label rounds (one worker thread), started on first use."""
        from assetgrade.review.rounds import RoundRunner

        with self._rounds_lock:
            if self._rounds is None:
                self._rounds = RoundRunner(self.workspace)
            return self._rounds

    def grader(self) -> Grader:
        """The workspace's trained grader (``models/grader``) with its evidence store; call with ``grading_lock`` held.

        Loaded on first use and again when the saved bundle changes (a retrained grader), by
        :func:`load_workspace_grader`: a workspace without one is a NotFoundError saying what to label first or
        to train, a saved grader that cannot be used a StoreError (503).
        """
        sha = grader_bundle_info(self.workspace).get("pickle_sha256")
        if self._grader is None or getattr(self._grader, "bundle_sha_", None) != sha:
            if self._grader is not None:
                self._grader.cache.close()
                self._grader = None
            self._grader = load_workspace_grader(self.workspace, self.ontology())  # the scale: once per model
        return self._grader

    def close(self) -> None:
        """Stop the round runner, if one was started (queued rounds not yet started are dropped)."""
        with self._rounds_lock:
            if self._rounds is not None:
                self._rounds.close()
                self._rounds = None
        with self.grading_lock:
            if self._grader is not None:
                self._grader.cache.close()
                self._grader = None


def unusable_grader(exc: AssetgradeError) -> StoreError:
    """The StoreError (503) for a saved grader that cannot be used: the fault is the server's, not the request's,
    so it is not a 422 (or a 404) a client would take as its own."""
    return StoreError(f"the workspace's grader (models/grader) cannot be used: {exc}; an admin must retrain it"
                      " (assetgrade train) or restore it (assetgrade models rollback)")


def grader_bundle_info(workspace: Workspace) -> dict[str, Any]:
    """``bundle.json`` of the workspace's grader: a StoreError when it does not read (503), and a NotFoundError
    (404) when there is none, saying what to label first while ``assetgrade train`` cannot make one yet, else to
    train (:func:`~assetgrade.review.suggest.no_grader_error`, the message of ``assetgrade review suggest``)."""
    from assetgrade.grading.bundle import read_bundle_info
    from assetgrade.review.suggest import no_grader_error

    try:
        return read_bundle_info(workspace.grader_dir)
    except NotFoundError as exc:
        raise no_grader_error(workspace, exc) from exc
    except ValidationError as exc:
        raise unusable_grader(exc) from exc


def load_workspace_grader(workspace: Workspace, ontology: Ontology) -> Grader:
    """The workspace's trained grader (``models/grader``), with its evidence store, checked against the grade scale.

    Every route that uses it loads it here: a workspace without one is a NotFoundError (404) saying what to
    label first or to train (:func:`grader_bundle_info`); a saved grader that cannot be used (damaged or
    half-copied files, a file it names missing, another grade scale than the ontology's) is a StoreError (503)
    saying to retrain or roll back.
    """
    from assetgrade.grader import Grader
    from assetgrade.grading.bundle import INFO_NAME

    grader_bundle_info(workspace)
    try:
        try:
            grader = Grader.load(workspace.grader_dir, evidence_store=workspace.evidence_cache_path,
                                 evidence_store_max_bytes=workspace.evidence_cache_max_bytes)
        except NotFoundError as exc:  # bundle.json is there (read above), a file it names is not: damaged
            raise ValidationError(f"a file of the saved grader is missing ({exc})",
                                  where=str(workspace.grader_dir / INFO_NAME)) from exc
        try:
            grader.check_scale(ontology)
        except ValidationError:
            grader.cache.close()
            raise
    except ValidationError as exc:
        raise unusable_grader(exc) from exc
    return grader


def app_state(request: Request) -> AppState:
    """The app's shared state."""
    state: AppState = request.app.state.assetgrade
    return state


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""The methods a request made with the session cookie must come from the service's own pages for."""


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a serialized origin (RFC 6454: scheme, host, port, nothing else), the default
    port filled in and the host in lower case; None when it is not one (``null``, another scheme, a path, a user).

    Two origins are the same when their keys are equal (:func:`refuse_cross_site`, the web UI's HX-Current-URL).

    >>> origin_key("HTTP://Plant.example"), origin_key("https://plant.example:8443/")
    (('http', 'plant.example', 80), ('https', 'plant.example', 8443))
    >>> origin_key("null") is None, origin_key("https://plant.example/ui") is None
    (True, True)
    """
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


def own_origin(request: Request) -> str:
    """The service's origin as the browser sees it: the request's ``Host``, with ``https`` when the session cookie
    is sent over HTTPS only (``cookie_secure``: a TLS-terminating proxy in front speaks plain HTTP to the service,
    whose ``proxy_headers=False`` takes no ``X-Forwarded-Proto``), else the scheme the request came in with."""
    scheme = "https" if app_state(request).settings.cookie_secure else request.url.scheme
    return f"{scheme}://{request.headers.get('host', '')}"


def refuse_cross_site(request: Request, what: str = "form post", hint: str = "", *, browser_only: bool = False) -> None:
    """Refuse a request another site's page made (cross-site request forgery): PermissionDeniedError (403).

    A browser's own ``Sec-Fetch-Site`` decides where it sends one (HTTPS and localhost): only
    ``same-origin`` and ``none`` (the user's own action, e.g. reloading a posted page) pass, so a
    page on a sibling subdomain (``same-site``, which a SameSite cookie does not stop) is refused. It
    compares origins as the browser saw them, so a TLS proxy in front, which sends its own ``Host``,
    does not make every post look foreign. Without it, the ``Origin`` header must be the service's own
    origin (:func:`own_origin`): the same scheme, host and port (``http://host`` is not ``https://host``;
    a default port may be left out); ``Origin: null`` is refused too: a sandboxed frame on another site
    sends it (a login forced onto someone else's token over plain HTTP), while the UI's own pages, served
    with ``Referrer-Policy: same-origin``, always send their origin. With neither header, ``browser_only``
    (a write made with the session cookie) refuses: every current browser sends ``Sec-Fetch-Site`` with
    every request and ``Origin`` with every cross-origin POST, so such a write comes from a client holding
    a copied cookie, which must use its own bearer token. Otherwise (the login and logout forms) it passes:
    a script such as curl cannot carry another site's forgery. This is the OWASP CSRF prevention cheat
    sheet's "verifying origin with standard headers" ("if neither is present, block") and "Fetch Metadata"
    defence.
    """
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise PermissionDeniedError(f"cross-site {what} refused (Sec-Fetch-Site {site}, Origin {origin}){hint}")
        return
    if origin is None:
        if browser_only:
            raise PermissionDeniedError(f"{what} refused: it carries neither Origin nor Sec-Fetch-Site, which every"
                                        f" current browser sends, so it did not come from this service's pages{hint}")
        return
    own = own_origin(request)
    key = origin_key(origin)
    if key is None or key != origin_key(own):
        raise PermissionDeniedError(f"cross-site {what} refused (Origin {origin}; this service is {own}){hint}")


_COOKIE_WRITE_HINT = ("; the session cookie is accepted for writes only from this service's own pages: an API client"
                      " or script sends 'Authorization: Bearer <token>'")


def _credentials(request: Request, state: AppState) -> tuple[str, str | None]:
    """The token hash the request authenticates with, and the session id when that is the session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        return hash_token(token.strip()), None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = read_session_cookie(cookie, state.settings.session_secret)
        if session is None:
            raise AuthenticationError("the session expired or is not valid; log in again")
        if request.method in WRITE_METHODS:
            # the browser sends the cookie with any request to this site, also one a page on a sibling subdomain
            # (same site, so SameSite=strict lets it through) makes: a bodiless POST .../grade with an admin's cookie
            if request.url.path.startswith("/ui/"):
                refuse_cross_site(request, "form post", _COOKIE_WRITE_HINT, browser_only=True)
            else:
                refuse_cross_site(request, "API write with the session cookie", _COOKIE_WRITE_HINT, browser_only=True)
        return session.token_hash, session.session_id
    raise AuthenticationError("no credentials: send 'Authorization: Bearer <token>' or log in")


def current_principal(request: Request) -> Principal:
    """The caller, from a bearer token or the signed session cookie; 401 when absent, unknown, or a session that
    was logged out.

    A session cookie costs one primary-key lookup of its session id in ``ended_sessions`` on every
    request (never cached: another service process may have ended it a moment ago); the token itself
    comes from the token cache when it is fresh there.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    state = app_state(request)
    h, session_id = _credentials(request, state)
    principal = state.tokens.get(h)
    if principal is None or session_id is not None:
        with state.workspace.session(readonly=True) as s:
            if session_id is not None and session_ended(s, session_id):
                raise AuthenticationError("this session was logged out; log in again")
            if principal is None:
                principal = authenticate(s, h, state.tokens)
    request.state.principal = principal
    return principal


def roles(*allowed: str) -> Callable[[Request], Principal]:
    """A dependency that lets only ``allowed`` roles through (403 names the role needed)."""

    def dependency(request: Request) -> Principal:
        return require(current_principal(request), *allowed)

    dependency.__name__ = f"requires_{'_or_'.join(allowed)}"
    return dependency
