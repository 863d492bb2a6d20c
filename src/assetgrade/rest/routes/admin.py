"""Routes: health, the ontology, audit events and chain verification, API tokens."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from assetgrade.errors import StoreError
from assetgrade.rest.auth import Principal, create_token, list_tokens, revoke_token
from assetgrade.rest.deps import app_state, current_principal, roles
from assetgrade.rest.routes import answer_head
from assetgrade.rest.schemas import (
    SQL_INT_MAX,
    AuditEventOut,
    AuditPage,
    ChainReportOut,
    HealthOut,
    ModelOut,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from assetgrade.store.audit import list_events, verify_chain
from assetgrade.store.engine import current_revision

__all__ = ["ontology_dict", "router"]

router = APIRouter(prefix="/api/v1", tags=["admin"])


def ontology_dict(ont: Any) -> dict[str, Any]:
    """The ontology as plain JSON data (grades best first, defects, components, abbreviations, rubric)."""
    return {
        "name": ont.name,
        "version": ont.version,
        "grades": [dataclasses.asdict(g) for g in ont.grades.grades],
        "defects": {k: dataclasses.asdict(d) for k, d in ont.defects.items()},
        "components": {k: dataclasses.asdict(c) for k, c in ont.components.items()},
        "abbreviations": dict(ont.abbreviations),
        "rubric": {"default_grade": ont.rubric.default_grade,
                   "rules": [dataclasses.asdict(r) for r in ont.rubric.rules]},
    }


@router.get("/health", response_model=HealthOut, summary="Liveness (no token needed)")
def health_route(request: Request) -> HealthOut:
    """``ok`` and the store's schema revision; 503 when the store does not answer or holds no assetgrade schema
    (its file was deleted or replaced: SQLite then opens an empty one)."""
    revision = current_revision(app_state(request).workspace.engine)
    if revision is None:
        raise StoreError("the store holds no assetgrade tables (its database was removed or replaced)")
    return HealthOut(status="ok", schema_revision=revision)


@router.get("/model", response_model=ModelOut, summary="The grader that answers grade requests")
def model_route(request: Request, _: Principal = Depends(current_principal)) -> ModelOut:
    """Its id (the ``model_version`` on predictions), its registry version and status when registered, its grades.

    Reloaded like every grade request: after a promotion or rollback this names the new champion.
    404 when the workspace has no trained grader: it says what to label first while ``assetgrade train`` cannot
    make one yet (no assets, no human grade label, one grade only), else to train.
    """
    from assetgrade.lifecycle.serving import registered_version_of

    state = app_state(request)
    with state.grading_lock:
        grader = state.grader()
        out = ModelOut(model_version=grader.version_, registry_version=None, registry_status=None,
                       grades=list(grader.grades_), ontology_version=grader.ontology_version_,
                       code_version=grader.code_version_, n_train=grader.n_train_)
    info = registered_version_of(state.workspace, out.model_version)
    if info is not None:
        out.registry_version, out.registry_status = info.version, info.status
    return out


@router.get("/ontology", summary="The current ontology")
def ontology_route(request: Request, _: Principal = Depends(current_principal)) -> dict[str, Any]:
    """Grades, defect taxonomy, components, abbreviations and the rubric, with the content-hash version."""
    return ontology_dict(app_state(request).ontology())


@router.get("/audit/events", response_model=AuditPage, summary="Audit events (admin)")
def audit_events_route(request: Request, after_seq: int = Query(0, ge=0, le=SQL_INT_MAX),
                       limit: int = Query(100, ge=1, le=SQL_INT_MAX),
                       action: str | None = None, entity_id: str | None = None, actor: str | None = None,
                       _: Principal = Depends(roles("admin"))) -> AuditPage:
    """Events after ``after_seq`` in chain order, optionally filtered (a damaged row: 503 naming it)."""
    limit = min(limit, 1000)
    with app_state(request).workspace.session(readonly=True) as s:
        events = list_events(s, action=action, entity_id=entity_id, actor=actor, after_seq=after_seq, limit=limit)
        items = [AuditEventOut.model_validate(e) for e in events]
    return AuditPage(items=items, next_after_seq=items[-1].seq if len(items) == limit else None)


@router.get("/audit/verify", response_model=ChainReportOut, summary="Verify the hash chain (admin)")
def audit_verify_route(request: Request, _: Principal = Depends(roles("admin"))) -> ChainReportOut:
    """Recompute the chain; names the first edited, deleted or reordered event."""
    with app_state(request).workspace.session(readonly=True) as s:
        rep = verify_chain(s)
    return ChainReportOut(ok=rep.ok, n_events=rep.n_events, first_bad_seq=rep.first_bad_seq, reason=rep.reason)


@router.get("/tokens", response_model=list[TokenOut], summary="API tokens (admin; never the secrets)")
def list_tokens_route(request: Request, _: Principal = Depends(roles("admin"))) -> list[TokenOut]:
    """Every token's name, role and dates."""
    with app_state(request).workspace.session(readonly=True) as s:
        return [TokenOut.model_validate(t) for t in list_tokens(s)]


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Create an API token (admin)")
def create_token_route(body: TokenIn, request: Request, who: Principal = Depends(roles("admin"))) -> TokenCreated:
    """A new token; the plain token is in this response only."""
    with app_state(request).workspace.session() as s:
        token, row = create_token(s, name=body.name, role=body.role, actor=who.name,
                                  expires_in_days=body.expires_in_days)
        out = TokenCreated(name=row.name, role=row.role, created_at=row.created_at, revoked_at=None,
                           expires_at=row.expires_at, token=token)
    return out


@router.delete("/tokens/{name:path}", response_model=TokenOut, summary="Revoke an API token (admin)")
def revoke_token_route(name: str, request: Request, who: Principal = Depends(roles("admin"))) -> TokenOut:
    """Revoke a token; it stops working at once.

    The last admin token that still works cannot be revoked here: that would leave the service
    with no one who can manage tokens through the API (409; create another admin token first,
    or revoke it with ``assetgrade tokens revoke`` on the server).
    """
    state = app_state(request)
    with state.workspace.session() as s:
        row = revoke_token(s, name, actor=who.name, keep_an_admin=True)
        out = TokenOut.model_validate(row)
    state.tokens.clear()
    return out


answer_head(router)
