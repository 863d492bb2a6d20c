"""Retraining triggers: drift alarms per station, the reviewer override rate, and new reviewed labels.

Three signals, each compared with a threshold from :class:`RetrainPolicy` (the
``lifecycle: retrain:`` section of the workspace config):

* **drift**: a station's :class:`~assetgrade.audit.drift.DriftMonitor` asked for retraining
  (``retrain_after`` alarms within its last ``window`` batches), see
  :mod:`assetgrade.lifecycle.telemetry`;
* **override rate**: the share of reviews of the champion's predictions where the expert chose
  another grade. Its predictions are those stored under the model's own version id (a
  Grader's ``version_``, e.g. ``grader-aef420494f76``) or under its registry name
  (:attr:`~assetgrade.lifecycle.registry.ModelInfo.prediction_versions`). With fewer than
  ``override_min_n`` reviews it is not tested (a single overridden review is a 100% rate);
  with enough it fires when it exceeds ``max_override_rate`` or when it is higher than the
  champion's golden-set error rate by Cohen's h > ``override_min_h`` with a two-proportion
  z-test p < ``alpha`` (the same effect-size-and-significance rule as the drift library);
* **new labels**: at least ``min_new_labels`` reviewed grade labels the champion did not train on:
  those the store received after its training labels were read. A version made by
  :func:`~assetgrade.lifecycle.retrain.retrain`, or a Grader fitted on a workspace (``Grader.fit(ws)``,
  ``assetgrade train``: its ``bundle.json``, copied at registration), records ``labels_seq`` in its
  lineage, the audit chain's position just before it read the labels (:func:`labels_seq`); a review's
  grade label is new when the ``label.add`` event that recorded it comes later. Events are numbered
  under the chain's write lock as their transactions commit, so that is the store's own arrival order:
  a review written by a host whose clock is behind (or stored with the time another server gave it)
  is still counted, and one the model trained on is not counted however far ahead its writer's clock
  was. Without ``labels_seq`` (a version registered before retrain and fit recorded it, a model fitted
  on a list of records, another loader's) the count is by time, ``created_at`` after
  :func:`labels_cutoff`: the ``labels_as_of`` time retrain (or ``Grader.fit`` on a workspace) took
  just before it read the labels; else the ``trained_at`` time its ``bundle.json`` records (when
  fitting ended, so labels added while it trained are not counted); else its registration time.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from assetgrade.audit.drift import two_proportion_test
from assetgrade.store.precedence import is_machine_label, label_event
from assetgrade.store.schema import AuditEvent, Label, Prediction, Review

if TYPE_CHECKING:
    from assetgrade.lifecycle.registry import ModelInfo
    from assetgrade.lifecycle.telemetry import StationDrift

__all__ = [
    "RetrainPolicy", "Trigger", "TriggerReport", "check_triggers", "labels_cutoff", "labels_seq", "new_reviewed_labels",
    "override_stats",
]


class RetrainPolicy(BaseModel):
    """Thresholds of the retraining triggers.

    Examples
    --------
    >>> RetrainPolicy().min_new_labels
    50
    """

    model_config = ConfigDict(extra="forbid")

    min_new_labels: int = Field(50, ge=1)
    max_override_rate: float = Field(0.25, gt=0, le=1)
    override_min_n: int = Field(30, ge=1)
    override_min_h: float = Field(0.2, gt=0)
    alpha: float = Field(0.01, gt=0, lt=1)


@dataclass
class Trigger:
    """One trigger's verdict."""

    name: str
    fired: bool
    value: float | None
    threshold: float
    message: str
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TriggerReport:
    """All triggers; ``fired`` when any asks for retraining."""

    triggers: list[Trigger]
    model_version: str | None

    @property
    def fired(self) -> bool:
        """Whether any trigger fired."""
        return any(t.fired for t in self.triggers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"fired": self.fired, "model_version": self.model_version,
                "triggers": [t.__dict__ for t in self.triggers]}


def override_stats(session: Session, *, model_version: str | Collection[str] | None = None) -> tuple[int, int]:
    """(reviews with a grade based on a prediction [of ``model_version``: one id or several], of those overridden)."""
    q = (select(Review.grade, Prediction.grade).join(Prediction, Prediction.id == Review.based_on_prediction_id)
         .where(Review.grade.is_not(None)))
    if model_version is not None:
        ids = [model_version] if isinstance(model_version, str) else list(model_version)
        q = q.where(Prediction.model_version.in_(ids))
    rows = session.execute(q).all()
    return len(rows), sum(1 for r, p in rows if r != p)


def new_reviewed_labels(session: Session, since: datetime | None = None, *, after_seq: int | None = None) -> int:
    """Grade labels from persons' reviews stored after audit position ``after_seq``, or created after ``since``.

    With ``after_seq``: a label counts when the ``label.add`` event that recorded it has a greater
    ``seq`` (the order the store received it, whatever the writing host's clock said); a label no
    such event records (written around the store's write functions) counts when created after
    ``since`` (every one when None). Without it: labels created after ``since`` (all when None; a
    naive time is taken as UTC).
    A review posted under a machine's name (``Model``, ``pseudo``:
    :func:`~assetgrade.store.precedence.is_machine_label`) is a machine label and not counted, as retrain
    does not count it as reviewed.
    ``since`` is converted to UTC first: SQLite keeps the UTC clock time without its offset and
    compares the text, so the same instant given in another time zone counted other labels.
    A label created at ``since`` exactly, or recorded at ``after_seq`` exactly, is not counted.
    """
    q = (select(Label.annotator, func.count()).where(Label.kind == "grade", Label.source == "review")
         .group_by(Label.annotator))
    if after_seq is not None:
        recorded = exists().where(label_event())
        later = exists().where(label_event(), AuditEvent.seq > after_seq)
        q = q.where(or_(later, ~recorded if since is None else and_(~recorded, Label.created_at > _utc(since))))
    elif since is not None:
        q = q.where(Label.created_at > _utc(since))
    return sum(int(n) for annotator, n in session.execute(q).tuples() if not is_machine_label("review", annotator))


def _utc(value: Any) -> datetime | None:
    """An ISO time (or datetime) as an aware UTC datetime; a naive one is taken as UTC; None when unreadable."""
    try:
        t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def labels_cutoff(model: ModelInfo) -> tuple[datetime | None, str]:
    """The time after which a grade label is one ``model`` did not train on, and where that time comes from.

    The trigger counts by time only where :func:`labels_seq` gives no audit position (and, with one,
    for labels the audit log does not record).

    In order: ``labels_as_of`` (when the labels were read: recorded by retrain, and by
    ``Grader.fit`` on a workspace), then ``trained_at`` (when fitting ended), each from the
    lineage or, for a version registered before the lineage kept them, the bundle's
    ``bundle.json``; else the registration time (``created_at``). The source is ``"labels_as_of"``,
    ``"trained_at"`` or ``"registered"``.
    """
    from assetgrade.lifecycle.bundles import bundle_info

    lineage = model.lineage or {}
    saved: dict[str, Any] | None = None

    def recorded(key: str) -> Any:  # the lineage's, else (registered before the lineage kept it) bundle.json's
        nonlocal saved
        if key in lineage:
            return lineage[key]
        if saved is None:
            saved = bundle_info(model.bundle_dir if model.entry == "." else model.bundle_dir / model.entry)
        return saved.get(key)

    if (t := _utc(recorded("labels_as_of"))) is not None:
        return t, "labels_as_of"
    trained = recorded("trained_at")
    if (t := _utc(trained)) is not None:
        return t, "trained_at"
    return (None if model.created_at is None else _utc(model.created_at)), "registered"


def labels_seq(session: Session, model: ModelInfo) -> tuple[int | None, str | None]:
    """The audit chain position after which a grade label is one ``model`` did not train on, and a note.

    ``labels_seq`` in the lineage (recorded by retrain, or by ``Grader.fit`` on a workspace and copied from its
    ``bundle.json`` at registration, just before the labels were read), when this
    store issued it: the event at that position must have the ``labels_seq_hash`` recorded with it
    (a position names an event of one store's chain only). None when the lineage holds none (the
    count is then by time, :func:`labels_cutoff`), or, with the note saying why, one this store
    did not issue or that is not a position.
    """
    lineage = model.lineage or {}
    seq = lineage.get("labels_seq")
    if seq is None:
        return None, None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        return None, f"labels_seq {seq!r} in the lineage is not an audit chain position: counted by time"
    if seq == 0:  # the chain was empty: every label came later
        return 0, None
    stored = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq)).scalar()
    if stored is None or stored != lineage.get("labels_seq_hash"):
        return None, (f"labels_seq {seq} in the lineage is not an event of this store (its hash differs or it"
                      " is missing): counted by time")
    return seq, None


_SINCE_SAID = {"labels_seq": "the champion's training labels were read",
               "labels_as_of": "the champion's training labels were read", "trained_at": "the champion was trained",
               "registered": "the champion was registered (its bundle records no training time)"}


def check_triggers(
    session: Session, *, champion: ModelInfo | None, drift: Sequence[StationDrift] = (),
    policy: RetrainPolicy | None = None, golden: str = "default",
) -> TriggerReport:
    """Evaluate the three triggers for ``champion`` (None: no model yet; only new labels count)."""
    pol = policy or RetrainPolicy()
    out: list[Trigger] = []
    stations = [d.station for d in drift if d.retrain]
    alarms = {d.station: d.alarms for d in drift}
    out.append(Trigger("drift", bool(stations), float(len(stations)), 1.0,
                       f"stations asking for retraining: {', '.join(stations)}" if stations
                       else f"no station asks for retraining ({len(drift)} monitored)",
                       {"stations": stations, "alarms": alarms}))
    version = champion.version if champion is not None else None
    n, k = override_stats(session, model_version=champion.prediction_versions) if champion is not None else (0, 0)
    rate = k / n if n else None
    base_err, base_n = None, 0
    g = (champion.golden or {}).get(golden) if champion is not None else None
    overall = (g or {}).get("overall") or {}
    acc = overall.get("accuracy")
    if acc is not None and math.isfinite(float(acc)):  # NaN (a row stored before NaN became null): no figure
        base_n = int(overall.get("n") or 0)
        base_err = 1.0 - float(acc)
    fired, why = False, "no reviews of this model's predictions yet"
    info: dict[str, Any] = {"n_reviews": n, "n_overrides": k, "golden_error_rate": base_err,
                            "prediction_versions": list(champion.prediction_versions) if champion else []}
    if rate is not None and n < pol.override_min_n:
        # one overridden review is a 100% override rate: too few to judge the model by
        why = f"override rate {rate:.1%} over {n} reviews; not tested below override_min_n={pol.override_min_n}"
    elif rate is not None:
        why = f"override rate {rate:.1%} over {n} reviews"
        if rate > pol.max_override_rate:
            fired, why = True, why + f" > {pol.max_override_rate:.0%}"
        elif base_err is not None and base_n:
            # one-sided: only a rise fires, so a two-sided p would test at alpha / 2
            diff, h, p = two_proportion_test(round(base_err * base_n), base_n, k, n, alternative="greater")
            info.update(cohen_h=h, p_value=p)
            if diff > 0 and h > pol.override_min_h and p < pol.alpha:
                fired, why = True, why + f" vs golden error {base_err:.1%} (h={h:.2f}, p={p:.2g})"
    out.append(Trigger("override_rate", fired, rate, pol.max_override_rate, why, info))
    since, source = labels_cutoff(champion) if champion is not None else (None, None)
    seq, note = labels_seq(session, champion) if champion is not None else (None, None)
    m = new_reviewed_labels(session, since, after_seq=seq)
    if seq is not None:
        source, when = "labels_seq", f" (audit event {seq})"
    else:
        when = f" ({since.isoformat(timespec='seconds')})" if since is not None else ""
    label_info: dict[str, Any] = {"since": None if since is None else since.isoformat(), "since_source": source,
                                  "since_seq": seq}
    if note:
        label_info["note"] = note
    out.append(Trigger("new_labels", m >= pol.min_new_labels, float(m), float(pol.min_new_labels),
                       f"{m} reviewed grade labels since {_SINCE_SAID[source] if source else 'the start'}{when}",
                       label_info))
    return TriggerReport(out, version)
