"""Web UI routes (server-rendered Jinja2 + htmx): login/logout, queue, label requests, asset page, review, dashboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from assetgrade.errors import (
    AssetgradeError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    ValidationError,
)
from assetgrade.grading.visible import CONTROL_PICTURES
from assetgrade.rest.auth import (
    Principal,
    authenticate,
    end_session,
    hash_token,
    read_session_cookie,
    sign_session_cookie,
)
from assetgrade.rest.deps import (
    SESSION_COOKIE,
    app_state,
    current_principal,
    origin_key,
    own_origin,
    refuse_cross_site,
)
from assetgrade.rest.errors import AuthenticationError, status_for
from assetgrade.rest.queries import dashboard_series, evidence_changed_last, review_queue
from assetgrade.rest.routes.review import queue_item, queue_label_round, round_job_out
from assetgrade.rest.schemas import SQL_INT_MAX, LabelRoundIn, LabelRoundJobOut
from assetgrade.rest.writes import grade_now, submit_review
from assetgrade.store.repository import get_asset, unstorable_text
from assetgrade.store.requests import get_label_request, list_label_requests
from assetgrade.store.results import list_reviews
from assetgrade.store.schema import Evidence
from assetgrade.store.withdrawals import Reinstatement, reinstate_evidence, reinstatements_of, withdraw_evidence
from assetgrade.web.helpers import FAVICON, PAGE_HEADERS, asset_url, bdi, exact, review_body, utc, visible
from assetgrade.web.page import load_asset_page, load_log_entry
from assetgrade.web.svg import line_chart, stacked_bars

__all__ = ["install_ui", "router"]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["asset_url"] = asset_url
templates.env.filters["bdi"] = bdi
templates.env.filters["exact"] = exact  # a value the browser sends back: not shown, so kept as it is
templates.env.finalize = visible  # every text a page writes: control characters and bidi controls shown
# the same table for the texts review.js writes (an image id in a message, a box's defect and image)
templates.env.globals["control_pictures"] = {chr(c): chr(p) if isinstance(p, int) else p
                                             for c, p in CONTROL_PICTURES.items()}
templates.env.filters["utc"] = utc
router = APIRouter(prefix="/ui", include_in_schema=False)


def _reviewer(request: Request) -> Principal:
    who = current_principal(request)
    if not who.can("admin", "reviewer"):
        raise PermissionDeniedError(f"{who.name!r} has role {who.role!r}; the review UI needs reviewer or admin")
    return who


def _saved(request: Request, who: Principal) -> str | None:
    """The asset a ``?saved=`` link names, when its newest review is this reviewer's: a link cannot make the
    page say "Review of <any text> saved." (the text was the link's own).

    Newest is the review of the highest asset version (:func:`list_reviews`), not the latest ``created_at``:
    a review written by a server whose clock is behind is still the newest when it made the newest version.
    """
    asset_id = request.query_params.get("saved")
    if not asset_id or len(asset_id) > 200:
        return None
    with app_state(request).workspace.session(readonly=True) as s:
        newest = list_reviews(s, asset_id, limit=1)
    return asset_id if newest and newest[0].reviewer == who.name else None


def _same_origin(request: Request) -> None:
    """Refuse a form post that another site's page made (cross-site request forgery; :func:`refuse_cross_site`)."""
    refuse_cross_site(request, "form post")


def _said(request: Request, exc: AssetgradeError) -> str:
    """An error's message as a page shows it: without the server's paths (written ``<workspace>``, ``<blob store>``),
    by the same function as the API's JSON error bodies."""
    return app_state(request).redact(str(exc))


def _render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    ctx.setdefault("who", getattr(request.state, "principal", None))
    # no-store: the browser's back button must ask again, not show an asset page (and its form) from
    # before a review was saved, nor a reviewer's pages after they logged out
    return templates.TemplateResponse(request, name, ctx, status_code=status, headers=PAGE_HEADERS)


@router.get("/favicon.svg")
def favicon() -> Response:
    """The pages' icon (else every browser asks for /favicon.ico and logs its 404)."""
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


SESSION_ENDED = ("Your session has ended (it was logged out or timed out, or its token was revoked or expired):"
                 " log in again.")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/ui/queue", ended: int = 0) -> HTMLResponse:
    # a fixed sentence, never text from the link: /ui/login?error=... let any link print its own message here
    return _render(request, "login.html", {"next": next, "error": SESSION_ENDED if ended else None, "who": None})


@router.post("/login")
async def login(request: Request) -> Response:
    _same_origin(request)
    form = await request.form()
    token = str(form.get("token", "")).strip()
    nxt = str(form.get("next", "/ui/queue"))
    if not nxt.startswith("/ui/"):
        nxt = "/ui/queue"
    state = app_state(request)
    h = hash_token(token)
    try:
        def check() -> Principal:
            with state.workspace.session(readonly=True) as s:
                return authenticate(s, h, state.tokens)

        who = await run_in_threadpool(check)
        if not who.can("admin", "reviewer"):
            raise PermissionDeniedError("station tokens cannot use the review UI")
    except (AuthenticationError, PermissionDeniedError) as exc:
        return _render(request, "login.html", {"next": nxt, "error": _said(request, exc), "who": None}, status=401)
    resp = RedirectResponse(nxt, status_code=303)
    resp.set_cookie(SESSION_COOKIE, sign_session_cookie(h, state.settings.session_secret,
                                                         state.settings.session_max_age_s),
                    max_age=state.settings.session_max_age_s, httponly=True, samesite="strict",
                    secure=state.settings.cookie_secure, path="/")
    return resp


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session in the store (a copy of the cookie is refused from now on, by every service process), then
    delete the cookie in the browser. A post without Origin or Sec-Fetch-Site passes: it only ends the session the
    cookie names, also for whoever holds a leaked copy and wants it dead."""
    _same_origin(request)
    state = app_state(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = read_session_cookie(cookie, state.settings.session_secret) if cookie else None
    if session is not None:  # an expired or forged cookie names no session to end
        with state.workspace.session() as s:
            end_session(s, session)
    resp = RedirectResponse("/ui/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, offset: int = 0, limit: int = 50) -> HTMLResponse:
    who = _reviewer(request)
    state = app_state(request)
    limit, offset = max(1, min(limit, state.settings.max_page_size)), min(max(0, offset), SQL_INT_MAX)
    with state.workspace.session(readonly=True) as s:
        rows, total = review_queue(s, limit=limit, offset=offset)
        items = [queue_item(r) for r in rows]
    tpl = "_queue_rows.html" if request.headers.get("hx-request") else "queue.html"
    return _render(request, tpl, {"items": items, "total": total, "offset": offset, "limit": limit,
                                  "saved": _saved(request, who), "cost_unit": _cost_unit(request)})


def _requests_ctx(request: Request, offset: int = 0, limit: int = 50, round_form: dict[str, Any] | None = None,
                  round_error: str | None = None) -> dict[str, Any]:
    from assetgrade.review.selection import available_strategies

    state = app_state(request)
    limit, offset = max(1, min(limit, state.settings.max_page_size)), min(max(0, offset), SQL_INT_MAX)
    with state.workspace.session(readonly=True) as s:
        items, total = list_label_requests(s, limit=limit, offset=offset)
    defaults = {"k": "20", "strategy": "budget_switch", "replace": ""}
    return {"items": items, "total": total, "offset": offset, "limit": limit, "strategies": available_strategies(),
            "round_form": {**defaults, **(round_form or {})}, "round_error": round_error}


def _round_message(job: LabelRoundJobOut) -> tuple[str, str]:
    """(css class, text) of the banner for a round asked from the form."""
    rnd = job.round
    if job.status in ("queued", "running"):
        since = job.started_at or job.queued_at
        doing = f" Now: {job.step}." if job.step else ""
        return "ok", (f"Round {job.job_id} is {job.status} (since {since.strftime('%H:%M:%S')} UTC): the grader is "
                      f"ranking every asset; this page refreshes until it is done.{doing}")
    if job.status == "failed":
        return "error", f"Round {job.job_id} failed: {job.error}"
    if job.status == "lost" or rnd is None:
        return "error", f"Round {job.job_id} was lost: the server stopped before it finished. Ask again."
    done = [f"{len(rnd.added)} added", f"{len(rnd.refreshed)} moved into it",
            f"{len(rnd.withdrawn)} earlier ones withdrawn"]
    if rnd.skipped:
        done.append(f"{len(rnd.skipped)} skipped (labelled meanwhile)")
    if rnd.added or rnd.refreshed:
        return "ok", f"New round {rnd.batch_id}: {', '.join(done)}."
    return "ok", (f"Round {rnd.batch_id} found no unlabelled asset to ask about"
                  + (f"; {len(rnd.withdrawn)} earlier ones withdrawn." if rnd.withdrawn else "."))


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, offset: int = 0, limit: int = 50,
                  job_id: str | None = Query(None, alias="job", max_length=64)) -> HTMLResponse:
    who = _reviewer(request)
    ctx = _requests_ctx(request, offset, limit)
    ctx["saved"] = _saved(request, who)
    if job_id and who.can("admin"):  # back from the round form: how the round is doing, or what it did
        try:
            job = round_job_out(app_state(request), job_id)
        except NotFoundError:
            ctx["round_message"], ctx["round_class"] = f"No round job {job_id}.", "error"
        else:
            ctx["round_class"], ctx["round_message"] = _round_message(job)
            ctx["refresh"] = job.status in ("queued", "running")
    return _render(request, "requests.html", ctx)


@router.post("/requests/round")
async def post_label_round(request: Request) -> Response:
    who = _reviewer(request)
    _same_origin(request)
    if not who.can("admin"):
        raise PermissionDeniedError(f"{who.name!r} has role {who.role!r}; asking for a new round needs admin")
    state = app_state(request)
    raw = await request.form()
    form = {"k": str(raw.get("k", "")), "strategy": str(raw.get("strategy", "")),
            "replace": "on" if raw.get("replace") else ""}
    try:
        try:
            k = int(form["k"]) if form["k"] else 20  # a form sends text; the API's schema takes JSON integers only
        except ValueError:
            raise ValidationError(f"must be a whole number from 1 to 1000, got {form['k']!r}", where="k") from None
        try:
            body = LabelRoundIn.model_validate({"k": k, "strategy": form["strategy"] or "budget_switch",
                                                "replace": bool(form["replace"])})
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            raise ValidationError(str(first["msg"]), where=".".join(str(p) for p in first["loc"])) from exc
        job_id = await run_in_threadpool(queue_label_round, state, who, body)
    except (ValidationError, NotFoundError, StoreError) as exc:  # a bundle.json that does not read: StoreError
        ctx = await run_in_threadpool(_requests_ctx, request, 0, 50, form, _said(request, exc))
        return _render(request, "requests.html", ctx, status=status_for(exc))
    return RedirectResponse(f"/ui/requests?job={quote(job_id)}", status_code=303)


@router.get("/next")
def next_in_queue(request: Request) -> Response:
    _reviewer(request)
    with app_state(request).workspace.session(readonly=True) as s:
        rows, _ = review_queue(s, limit=1)
    target = asset_url(rows[0].asset_id) if rows else "/ui/queue?done=1"
    return RedirectResponse(target, status_code=303)


def _cost_unit(request: Request) -> str:
    """What the pages' expected costs are in: the workspace's ``costs: currency:``, else "cost units" (also while the
    ``costs:`` section does not read; ``assetgrade config check`` names its problem)."""
    from assetgrade.config import ConfigError
    from assetgrade.decision.costs import NO_CURRENCY, cost_unit
    from assetgrade.workspace import workspace_costs

    state = app_state(request)
    try:
        return cost_unit(workspace_costs(state.workspace.config, tuple(state.ontology().grades.names)).currency)
    except ConfigError:
        return NO_CURRENCY


def _asset_ctx(request: Request, asset_id: str, form: dict[str, Any] | None = None,
               message: str | None = None, message_kind: str = "info", show_all: bool = False,
               whole_text: str | None = None) -> dict[str, Any]:
    state = app_state(request)
    page = load_asset_page(state.workspace, asset_id, show_all=show_all, whole_text=whole_text)
    ont = state.ontology()
    defaults = {"grade": page.prediction.grade if page.prediction else "", "note": "",
                "defects_json": json.dumps(page.candidate_defects),
                "expected_version": page.asset.version,
                "based_on_prediction_id": page.prediction.id if page.prediction else ""}
    return {"p": page, "form": {**defaults, **(form or {})}, "grades": list(ont.grades.grades),
            "defects": sorted(ont.defects.values(), key=lambda d: d.id), "message": message,
            "message_kind": message_kind, "cost_unit": _cost_unit(request),
            "withdraw_form": {"evidence_id": "", "reason": ""}, "reinstate_form": {"evidence_id": "", "reason": ""}}


@router.get("/assets/{asset_id:path}", response_class=HTMLResponse)
def asset_page(request: Request, asset_id: str, graded: bool = False,
               show_all: bool = Query(False, alias="all"),
               text: str | None = Query(None, max_length=200),
               withdrew: str | None = Query(None, max_length=200),
               reinstated: str | None = Query(None, max_length=200)) -> HTMLResponse:
    """The asset page; ``text`` (an evidence id) draws that log entry whole, and with htmx (its "show all" control)
    the response is that entry alone, to replace the part of it the page showed."""
    saved = _saved(request, _reviewer(request))
    if text is not None and request.headers.get("hx-request"):
        return _render(request, "_log_entry.html",
                       {"lg": load_log_entry(app_state(request).workspace, asset_id, text)})
    msg = Markup("Review of {} saved.").format(bdi(saved)) if saved else None
    ctx = _asset_ctx(request, asset_id, message=msg, message_kind="ok", show_all=show_all, whole_text=text)
    done = next((w for w, _ in ctx["p"].withdrawn if w.evidence_id == withdrew), None) if withdrew else None
    if done is not None and msg is None:  # said from the stored withdrawal, never from the link's text
        ctx["message"] = Markup("Withdrawn: {} ({} by {}: {}). It is left out of grading and training from now on.") \
            .format(bdi(done.evidence_id), utc(done.at), bdi(done.by), bdi(done.reason))
    if reinstated and ctx["message"] is None:
        back = _reinstated(request, asset_id, reinstated)
        if back is not None:  # said from the stored reinstatement, as a withdrawal is
            ctx["message"] = Markup("Reinstated: {} ({} by {}: {}). It is used for grading and training again.") \
                .format(bdi(back.evidence_id), utc(back.at), bdi(back.by), bdi(back.reason))
    pred = ctx["p"].prediction
    if graded and pred is not None:
        ctx["message"] = f"Graded now with {pred.model_version}: {pred.grade} ({pred.decision})."
    return _render(request, "asset.html", ctx)


@router.post("/assets/{asset_id:path}/grade")
async def post_grade_now(request: Request, asset_id: str) -> Response:
    who = _reviewer(request)
    _same_origin(request)
    if not who.can("admin"):
        raise PermissionDeniedError(f"{who.name!r} has role {who.role!r}; grading an asset needs admin")
    try:
        await run_in_threadpool(grade_now, app_state(request), who, asset_id)
    except NotFoundError as exc:  # no trained grader (an unknown asset fails again below, as a plain 404)
        ctx = await run_in_threadpool(_asset_ctx, request, asset_id)
        ctx["grade_error"] = _said(request, exc)
        return _render(request, "asset.html", ctx, status=404)
    return RedirectResponse(f"{asset_url(asset_id)}?graded=1", status_code=303)


def _check_evidence_of(s: Session, asset_id: str, evidence_id: str) -> None:
    """Refuse a page form's ``evidence_id`` that is not an item of ``asset_id`` (an unknown asset: 404)."""
    get_asset(s, asset_id)
    ev = s.get(Evidence, evidence_id) if evidence_id and unstorable_text(evidence_id) is None else None
    if ev is None or ev.asset_id != asset_id:
        raise ValidationError(f"evidence {evidence_id!r} is not evidence of asset {asset_id!r}", where="evidence_id")


def _withdraw_from_page(request: Request, who: Principal, asset_id: str, form: dict[str, str]) -> None:
    """Withdraw one item of ``asset_id`` as the page's form asks (store.withdrawals), the admin as who and actor."""
    evidence_id = form["evidence_id"]
    with app_state(request).workspace.session() as s:
        _check_evidence_of(s, asset_id, evidence_id)
        withdraw_evidence(s, [evidence_id], reason=form["reason"], by=who.name, actor=who.name)


async def _admin_evidence_form(request: Request, doing: str) -> tuple[Principal, dict[str, str]]:
    """The admin who posted an evidence form of the asset page (403 for another role), and its two fields."""
    who = _reviewer(request)
    _same_origin(request)
    if not who.can("admin"):
        raise PermissionDeniedError(f"{who.name!r} has role {who.role!r}; {doing} evidence needs admin")
    raw = await request.form()
    return who, {"evidence_id": str(raw.get("evidence_id", "")), "reason": str(raw.get("reason", ""))}


@router.post("/assets/{asset_id:path}/withdraw")
async def post_withdraw(request: Request, asset_id: str) -> Response:
    """Withdraw an evidence item of the asset (admin; store.md, "Withdrawn evidence"), then show the page again; a
    refused reason is said under the form, which keeps the input."""
    who, form = await _admin_evidence_form(request, "withdrawing")
    try:
        await run_in_threadpool(_withdraw_from_page, request, who, asset_id, form)
    except ValidationError as exc:
        ctx = await run_in_threadpool(_asset_ctx, request, asset_id)
        ctx["withdraw_form"], ctx["withdraw_error"] = form, _said(request, exc)
        return _render(request, "asset.html", ctx, status=422)
    return RedirectResponse(f"{asset_url(asset_id)}?withdrew={quote(form['evidence_id'], safe='')}",
                            status_code=303)


def _reinstated(request: Request, asset_id: str, evidence_id: str) -> Reinstatement | None:
    """The reinstatement of ``evidence_id``, an item of ``asset_id`` in use now after one (else None)."""
    if unstorable_text(evidence_id) is not None:
        return None
    with app_state(request).workspace.session(readonly=True) as s:
        ev = s.get(Evidence, evidence_id)
        if ev is None or ev.asset_id != asset_id:
            return None
        return reinstatements_of(s, [evidence_id]).get(evidence_id)


def _reinstate_from_page(request: Request, who: Principal, asset_id: str, form: dict[str, str]) -> None:
    """Reinstate one withdrawn item of ``asset_id`` as the page's list asks, the admin as who and actor."""
    evidence_id = form["evidence_id"]
    with app_state(request).workspace.session() as s:
        _check_evidence_of(s, asset_id, evidence_id)
        rep = reinstate_evidence(s, [evidence_id], reason=form["reason"], by=who.name, actor=who.name)
        if not rep.reinstated:
            raise ConflictError(f"evidence {evidence_id!r} is not withdrawn; nothing was reinstated")


@router.post("/assets/{asset_id:path}/reinstate")
async def post_reinstate(request: Request, asset_id: str) -> Response:
    """Reinstate a withdrawn item of the asset (admin; store.md, "Withdrawn evidence"), then show the page again; a
    refused reason, or an item whose source has another item in use, is said under the list, which keeps the
    input."""
    who, form = await _admin_evidence_form(request, "reinstating")
    try:
        await run_in_threadpool(_reinstate_from_page, request, who, asset_id, form)
    except (ValidationError, ConflictError) as exc:
        ctx = await run_in_threadpool(_asset_ctx, request, asset_id, show_all=True)
        ctx["reinstate_form"], ctx["reinstate_error"] = form, _said(request, exc)
        return _render(request, "asset.html", ctx, status=422 if isinstance(exc, ValidationError) else 409)
    return RedirectResponse(f"{asset_url(asset_id)}?reinstated={quote(form['evidence_id'], safe='')}",
                            status_code=303)


@router.post("/assets/{asset_id:path}/review")
async def post_review(request: Request, asset_id: str) -> Response:
    who = _reviewer(request)
    _same_origin(request)
    state = app_state(request)
    raw = await request.form()
    form = {k: str(raw.get(k, "")) for k in ("grade", "note", "defects_json", "expected_version",
                                               "based_on_prediction_id")}
    htmx = bool(request.headers.get("hx-request"))
    try:
        body = review_body(form, list(state.ontology().grades.names))
        review = (await run_in_threadpool(submit_review, state.workspace, state.ontology(), who, asset_id,
                                          body)).review  # a resubmit of a saved review answers it (replayed)
    except (ConflictError, ValidationError) as exc:
        status = 409 if isinstance(exc, ConflictError) else 422
        kind = "conflict" if status == 409 else "error"
        ctx = await run_in_threadpool(_asset_ctx, request, asset_id, form, _said(request, exc), kind)
        if isinstance(exc, ValidationError):  # the reason is said again next to the field it concerns
            ctx["field_error"] = _field_error(request, exc)
        if isinstance(exc, ConflictError):  # keep the reviewer's input; a resubmit now answers the new version
            ctx["form"]["expected_version"] = ctx["p"].asset.version
            ctx["oob"] = htmx  # htmx swaps the panel only: the header's version and the history come along
            if await run_in_threadpool(_evidence_after_reviews, request, asset_id):
                ctx["new_evidence"] = "elsewhere" if htmx else "here"  # htmx swaps the panel only
        return _render(request, "_review_panel.html" if htmx else "asset.html", ctx, status=status)
    with state.workspace.session(readonly=True) as s:
        answered = get_label_request(s, asset_id)
        if answered is not None and answered.review_id == review.id:  # it answered a label request: next request
            opened, _ = list_label_requests(s, limit=1)
            target = (f"{asset_url(opened[0].asset_id)}?saved={quote(asset_id)}" if opened
                      else f"/ui/requests?done=1&saved={quote(asset_id)}")
        else:
            rows, _ = review_queue(s, limit=1)
            target = (f"{asset_url(rows[0].asset_id)}?saved={quote(asset_id)}" if rows
                      else f"/ui/queue?done=1&saved={quote(asset_id)}")
    if htmx:
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _evidence_after_reviews(request: Request, asset_id: str) -> bool:
    """Whether the asset's newest change is evidence added after its newest review: then a conflict was caused by
    that evidence, and the panel must not offer an older review as "their review". After is by the asset version
    (:func:`evidence_changed_last`), not by the clocks of the servers that wrote them."""
    with app_state(request).workspace.session(readonly=True) as s:
        return evidence_changed_last(s, asset_id)


def _field_error(request: Request, exc: ValidationError) -> tuple[str, str] | None:
    """(form field, text) for a refused review: the grade, the defect list or the note, whose input the form
    marks as invalid with the reason beside it; None for what the reviewer did not type (the asset's version)."""
    where = exc.where or ""
    if where in ("grade", "note"):
        return where, app_state(request).redact(exc.reason)
    if where.startswith("defects"):
        return "defects", _said(request, exc)  # which defect ("defects[0].id") matters here
    return None


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    _reviewer(request)
    state = app_state(request)
    with state.workspace.session(readonly=True) as s:
        d = dashboard_series(s)
    grades = list(state.ontology().grades.names)
    extra = sorted({g for m in d["grade_mix"] for g in m} - set(grades))
    plots = [
        stacked_bars(d["days"], d["grade_mix"], grades + extra, title="Grade mix of predictions per day",
                     scale=len(grades)),
        line_chart(d["days"], d["auto_accept_rate"], title="Auto-accept rate", y_max=1.0, percent=True),
        line_chart(d["days"], d["expected_cost"], title=f"Mean expected cost per prediction ({_cost_unit(request)})"),
        line_chart(d["days"], d["override_rate"], title="Reviewer override rate", y_max=1.0, percent=True),
    ]
    return _render(request, "dashboard.html", {"plots": plots, "d": d})


def _html_error(request: Request, exc: AssetgradeError, status: int) -> Response:
    if isinstance(exc, AuthenticationError):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        ended = "&ended=1" if SESSION_COOKIE in request.cookies else ""  # a session there was: say it ended
        if request.headers.get("hx-request"):
            # an htmx request (the queue's refresh, the review form): a redirect would be followed inside
            # the request and the login page swapped into the table. A refresh sends the whole page to the
            # login page (and back to the page it showed); a form post is answered 401, and review.js says
            # so above the form and keeps the input.
            # only a page of this service's own origin: scheme, host and port, as Origin is checked (RFC 6454)
            shown = urlsplit(request.headers.get("hx-current-url", ""))
            key = origin_key(f"{shown.scheme}://{shown.netloc}")
            if key is not None and key == origin_key(own_origin(request)) and shown.path.startswith("/ui/"):
                here = shown.path + (f"?{shown.query}" if shown.query else "")
            if request.method == "GET":
                return Response(status_code=401,
                                headers={"HX-Redirect": f"/ui/login?next={quote(here, safe='/')}{ended}"})
        elif request.method == "GET":
            return RedirectResponse(f"/ui/login?next={quote(here, safe='/')}{ended}", status_code=303)
        return _render(request, "login.html", {"next": "/ui/queue", "error": _said(request, exc), "who": None},
                       status=401)
    return _render(request, "error.html", {"status": status, "error": _said(request, exc), "who": _who_if_any(request)},
                   status=status)


def _who_if_any(request: Request) -> Principal | None:
    """The logged-in reviewer or admin on an error page, so its top bar still leads on: an unknown path or a bad
    query string fails before any route has looked at the session."""
    who = getattr(request.state, "principal", None)
    if who is None and SESSION_COOKIE in request.cookies:
        try:
            who = current_principal(request)
        except AssetgradeError:  # no valid session (or the store does not answer): a page without the links
            return None
    return who if isinstance(who, Principal) and who.can("admin", "reviewer") else None


def install_ui(app: FastAPI) -> None:
    """Mount the UI routes, the static files (htmx, CSS, the box tool) and the HTML error pages."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.html_error_handler = _html_error
