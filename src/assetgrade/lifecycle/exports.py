"""Regulator documents from the store's own records: model documentation and a dataset datasheet, JSON and HTML.

Both documents are built once as plain data and then written as JSON and rendered as HTML
from that same data, so the two never disagree. The model documentation follows the
sections of model cards (M. Mitchell et al., "Model Cards for Model Reporting", FAT* 2019):
intended use, data composition and provenance, metrics overall and per subgroup,
limitations, human oversight (plus lineage and the audit trail's state). The datasheet
follows T. Gebru et al., "Datasheets for Datasets", CACM 64(12), 2021: motivation,
composition, collection process, labelling, synthetic data, uses, maintenance.

Free text (intended use, out-of-scope uses, known limitations, motivation) comes from the
``documentation:`` section of the workspace config, with conservative defaults; every
number is counted from the store when the document is made.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetgrade.errors import StoreError
from assetgrade.store.audit import chain_head, read_events, verify_chain
from assetgrade.store.loading import stats
from assetgrade.store.schema import Evidence, IngestBatch, Label, Prediction, Provenance, Review, utcnow
from assetgrade.store.withdrawals import not_withdrawn

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = [
    "DATASHEET_SECTIONS",
    "MODEL_DOC_SECTIONS",
    "data_composition",
    "datasheet",
    "model_documentation",
    "render_html",
    "write_documents",
]

MODEL_DOC_SECTIONS = ("model", "intended_use", "data_composition", "provenance", "metrics", "limitations",
                      "human_oversight", "audit_trail")
DATASHEET_SECTIONS = ("motivation", "composition", "collection_process", "labelling", "synthetic_data", "uses",
                      "maintenance")

DEFAULT_INTENDED_USE = (
    "Grading the condition of used industrial assets on the workspace's grade scale from inspection images,"
    " maintenance logs and sensor series, with a calibrated confidence and a conformal grade set, to support"
    " resale and refurbishment decisions. Grades whose expected misgrading cost is above the policy threshold"
    " are sent to expert review; the model does not act alone on those."
)
DEFAULT_OUT_OF_SCOPE = [
    "Safety certification or fitness-for-service decisions.",
    "Asset types, capture conditions or sites not represented in the training data (see composition).",
    "Fully automatic grading without the review queue for assets sent to review.",
]


def data_composition(session: Session) -> dict[str, Any]:
    """Counts from the store: totals and per asset type, grade, defect, class, modality, origin; origin by modality.

    Withdrawn evidence is not counted (but in ``totals.withdrawn``), as models do not see it."""
    comp: dict[str, Any] = dict(stats(session))
    rows = session.execute(
        select(Evidence.kind, Provenance.origin, func.count())
        .join(Provenance, Provenance.evidence_id == Evidence.id).where(not_withdrawn())
        .group_by(Evidence.kind, Provenance.origin)
    ).all()
    by: dict[str, dict[str, int]] = {}
    for kind, origin, n in rows:
        by.setdefault(str(kind), {})[str(origin)] = int(n)
    comp["origin_by_modality"] = by
    total = sum(comp["origin"].values())
    nonreal = sum(v for k, v in comp["origin"].items() if k != "real")
    comp["synthetic_share"] = nonreal / total if total else 0.0
    return comp


def _provenance(session: Session) -> dict[str, Any]:
    batches = [
        {"id": b.id, "kind": b.kind, "source": b.source, "started_at": b.started_at, "finished_at": b.finished_at,
         "status": b.status, "counts": b.counts}
        for b in session.execute(select(IngestBatch).order_by(IngestBatch.started_at)).scalars()
    ]
    sources = session.execute(
        select(Provenance.source, func.count()).group_by(Provenance.source).order_by(func.count().desc()).limit(20)
    ).all()
    devices = session.execute(select(Provenance.device, func.count()).where(Provenance.device.is_not(None))
                              .group_by(Provenance.device)).all()
    span = session.execute(select(func.min(Provenance.capture_time), func.max(Provenance.capture_time))).one()
    return {"ingest_batches": batches, "top_sources": {str(s): int(n) for s, n in sources},
            "devices": {str(d): int(n) for d, n in devices},
            "capture_time_range": [span[0], span[1]]}


def _synthetic(session: Session) -> dict[str, Any]:
    rows = session.execute(
        select(Provenance.origin, Provenance.generator, func.count()).where(Provenance.origin != "real")
        .group_by(Provenance.origin, Provenance.generator)
    ).all()
    return {"generators": [{"origin": o, "generator": g, "count": int(n)} for o, g, n in rows],
            "with_parent": int(session.scalar(select(func.count()).select_from(Provenance)
                                              .where(Provenance.parent_evidence_id.is_not(None))) or 0)}


def _labelling(session: Session) -> dict[str, Any]:
    by_source = session.execute(select(Label.kind, Label.source, func.count()).group_by(Label.kind, Label.source)).all()
    annotators = int(session.scalar(select(func.count(func.distinct(Label.annotator)))) or 0)
    reviews = int(session.scalar(select(func.count()).select_from(Review)) or 0)
    reviewers = int(session.scalar(select(func.count(func.distinct(Review.reviewer)))) or 0)
    out: dict[str, dict[str, int]] = {}
    for kind, source, n in by_source:
        out.setdefault(str(kind), {})[str(source)] = int(n)
    return {"labels_by_kind_and_source": out, "n_annotators": annotators, "n_reviews": reviews,
            "n_reviewers": reviewers}


def _audit_trail(session: Session) -> dict[str, Any]:
    rep = verify_chain(session)
    head = chain_head(session)
    return {"chain_ok": rep.ok, "n_events": rep.n_events, "first_bad_seq": rep.first_bad_seq, "reason": rep.reason,
            "head_seq": head[0] if head else None, "head_hash": head[1] if head else None}


def _doc_section(ws: Workspace) -> dict[str, Any]:
    return ws.config.section("documentation")


def model_documentation(ws: Workspace, version: str) -> dict[str, Any]:
    """The model documentation of registered ``version`` as plain data (sections: ``MODEL_DOC_SECTIONS``)."""
    from assetgrade.lifecycle.evaluate import PromotionPolicy
    from assetgrade.lifecycle.registry import ModelRegistry
    from assetgrade.lifecycle.triggers import override_stats

    reg = ModelRegistry(ws)
    info = reg.get(version)
    cfg = _doc_section(ws)
    ont = ws.ontology()
    with ws.session(readonly=True) as s:
        comp = data_composition(s)
        prov = _provenance(s)
        labelling = _labelling(s)
        trail = _audit_trail(s)
        # predictions carry the model's own id (lineage model_version) or its registry name: count both
        ids = list(info.prediction_versions)
        n_pred = int(s.scalar(select(func.count()).select_from(Prediction)
                              .where(Prediction.model_version.in_(ids))) or 0)
        n_review_pred = int(s.scalar(select(func.count()).select_from(Prediction).where(
            Prediction.model_version.in_(ids), Prediction.decision == "review")) or 0)
        n_rev, n_over = override_stats(s, model_version=ids)
        history = [{"seq": e.seq, "ts": e.ts, "actor": e.actor, "action": e.action, "payload": e.payload,
                    **({} if e.problem is None else {"unreadable": e.problem})}
                   for e in read_events(s, entity="model", entity_id=version, limit=1000)]
    policy = reg.policy() if ws.config.section("lifecycle") else PromotionPolicy()
    # the figures, not each golden asset's outcome (kept for paired comparisons; `models show --json` has them)
    golden = {g: {k: v for k, v in ev.items() if k != "assets"} for g, ev in (info.golden or {}).items()}
    limitations = list(cfg.get("limitations", []))
    if not golden:
        limitations.append("Not evaluated on a frozen golden set: no independent real-data figures.")
    for name, ev in golden.items():
        for key, groups in ev.get("subgroups", {}).items():
            small = [f"{key}={v} (n={int(m.get('n', 0))})" for v, m in groups.items()
                     if m.get("n", 0) < policy.min_subgroup_n]
            if small:
                limitations.append(f"Golden set {name!r}: subgroups too small for reliable figures:"
                                   f" {', '.join(small)}.")
        ece = ev.get("overall", {}).get("ece")
        if ece is not None and ece > 0.05:
            limitations.append(f"Golden set {name!r}: expected calibration error {ece:.3f} (> 0.05).")
    if comp["synthetic_share"] > 0:
        limitations.append(f"{comp['synthetic_share']:.1%} of stored evidence is synthetic or augmented.")
    if info.ontology_version and info.ontology_version != str(ont.version):
        limitations.append(f"Trained with ontology {info.ontology_version}; the workspace now uses {ont.version}.")
    missing = [m for m in ("image", "log", "series") if m not in comp["modality"]]
    if missing:
        limitations.append(f"No stored evidence of kind {', '.join(missing)}: those modalities are untested here.")
    return {
        "document": "model documentation", "generated_at": utcnow(), "workspace": str(ws.path),
        "model": {k: v for k, v in info.to_dict().items() if k not in ("golden", "metrics")},
        "intended_use": {"intended_use": cfg.get("intended_use", DEFAULT_INTENDED_USE),
                         "out_of_scope": cfg.get("out_of_scope", DEFAULT_OUT_OF_SCOPE),
                         "grades": list(ont.grades.names), "ontology_version": str(ont.version)},
        "data_composition": {"store": comp, "training": info.lineage or {}, "training_manifest_hash":
                             info.manifest_hash},
        "provenance": prov,
        "metrics": {"reported_by_model": info.metrics or {}, "golden_sets": golden},
        "limitations": limitations,
        "human_oversight": {
            "decision_policy": ws.config.policy.model_dump(), "promotion_policy": policy.model_dump(),
            "prediction_versions": ids, "predictions": n_pred, "sent_to_review": n_review_pred,
            "reviews_of_predictions": n_rev,
            "overrides": n_over, "override_rate": (n_over / n_rev) if n_rev else None,
            "labelling": labelling, "model_history": history,
        },
        "audit_trail": trail,
    }


def datasheet(ws: Workspace) -> dict[str, Any]:
    """The dataset datasheet of the workspace as plain data (sections: ``DATASHEET_SECTIONS``)."""
    from assetgrade.lifecycle.golden import list_golden_sets
    from assetgrade.lifecycle.registry import ModelRegistry

    cfg = _doc_section(ws)
    with ws.session(readonly=True) as s:
        comp = data_composition(s)
        prov = _provenance(s)
        labelling = _labelling(s)
        synth = _synthetic(s)
        goldens = [g.to_dict() for g in list_golden_sets(s)]
        trail = _audit_trail(s)
    models = [{"version": m.version, "status": m.status, "manifest_hash": m.manifest_hash}
              for m in ModelRegistry(ws).list()]
    return {
        "document": "datasheet", "generated_at": utcnow(), "workspace": str(ws.path),
        "motivation": {"purpose": cfg.get("motivation", "Training and evaluating condition grading of used"
                                          " industrial assets."), "owner": cfg.get("owner")},
        "composition": comp,
        "collection_process": prov,
        "labelling": labelling,
        "synthetic_data": {**synth, "share": comp["synthetic_share"]},
        "uses": {"golden_sets": goldens, "models": models},
        "maintenance": {"store": ws.engine.url.get_backend_name(), "audit_trail": trail,
                        "contact": cfg.get("contact")},
    }


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;
vertical-align:top}th{background:#f3f3f3}ul{margin:.2rem 0}</style></head><body>
<h1>{{ title }}</h1><p>generated {{ doc.generated_at }} from workspace {{ doc.workspace }}</p>
{% macro show(v) -%}
{%- if v is mapping -%}{% if v %}<table>{% for k, x in v.items() %}<tr><th>{{ k }}</th><td>{{ show(x) }}</td></tr>
{% endfor %}</table>{% else %}-{% endif %}
{%- elif v is string -%}{{ v }}
{%- elif v is sequence -%}{% if v %}<ul>{% for x in v %}<li>{{ show(x) }}</li>{% endfor %}</ul>{% else %}-{% endif %}
{%- elif v is none -%}-
{%- elif v is float -%}{{ '%.4g' % v }}
{%- else -%}{{ v }}{%- endif -%}
{%- endmacro %}
{% for name in sections %}<h2 id="{{ name }}">{{ name.replace('_', ' ').capitalize() }}</h2>
{{ show(doc[name]) }}
{% endfor %}</body></html>
"""


def _plain(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def render_html(doc: dict[str, Any]) -> str:
    """One self-contained, escaped HTML page of a document made by this module."""
    import jinja2

    kind = doc.get("document")
    sections = MODEL_DOC_SECTIONS if kind == "model documentation" else DATASHEET_SECTIONS
    title = f"Model documentation: {doc['model']['version']}" if kind == "model documentation" else "Datasheet"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_TEMPLATE).render(doc=_plain(doc), sections=sections, title=title)


def write_documents(ws: Workspace, version: str, out: Path) -> list[Path]:
    """Write ``model_documentation.{json,html}`` and ``datasheet.{json,html}`` into ``out``; returns the paths.

    All or nothing: both documents are built and rendered first, the four files written to
    temporary names in ``out``, and only then renamed over any earlier export. A failure (a
    document that cannot be built, a full disk) leaves an earlier export whole and no temporary
    file behind, so the folder never mixes two exports.
    """
    texts: list[tuple[str, str]] = []
    for stem, doc in (("model_documentation", model_documentation(ws, version)), ("datasheet", datasheet(ws))):
        plain = _plain(doc)
        texts += [(f"{stem}.json", json.dumps(plain, indent=2) + "\n"), (f"{stem}.html", render_html(plain) + "\n")]
    tag = uuid.uuid4().hex[:8]
    staged: list[tuple[Path, Path]] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts:
            tmp = out / f".{name}.{tag}.part"
            staged.append((tmp, out / name))
            tmp.write_text(text, encoding="utf-8")
        for tmp, final in staged:
            tmp.replace(final)
    except OSError as exc:
        raise StoreError(f"cannot write documents to {out}: {exc}") from exc
    finally:
        for tmp, _final in staged:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return [final for _tmp, final in staged]
