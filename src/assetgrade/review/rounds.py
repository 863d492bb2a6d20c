"""Label rounds in the background: checked at once, run on a worker thread, their state kept in the audit trail.

A round grades every asset of the workspace with its trained grader (:func:`label_round`). With
the features cached that takes seconds, but a first round over a large workspace extracts the
evidence of every asset and can take minutes: longer than a web request should wait. A
:class:`RoundRunner` therefore checks the settings and that a trained grader exists *before*
accepting (the same errors, naming the field, as a round run at once), appends a
``review.round_queued`` event, and runs the round on its own thread. The round's state lives in
the audit trail, not in the process: ``review.round_started``, then ``review.round_done`` (its
payload is the stored round, what ``POST /review/requests`` returns, written in the same transaction
as the round's label requests) or ``review.round_failed``
(the error), all under entity ``label_round`` and the job id. Any process that opens the store,
a second server worker included, can therefore read a job's state (:func:`read_round_job`).

A process that dies with a job queued or running leaves no end event; such a job reads ``lost``.
On a PostgreSQL store the runner holds an advisory lock for as long as it lives
(:class:`~assetgrade.store.liveness.LivenessLock`, taken at its first submit, given back when
:meth:`RoundRunner.close` has let its running job finish) and records the lock's key in the queued
event: a reader on any host that finds the lock free knows the runner is gone. On SQLite the queued
event's host and process id decide, so only a reader on the same host can tell; elsewhere such a
job stays ``queued`` or ``running``. A recorded end always wins over ``lost``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from assetgrade.errors import AssetgradeError, NotFoundError, ValidationError
from assetgrade.store.audit import append_event, list_events
from assetgrade.store.liveness import LivenessLock, lock_is_free, process_gone, this_process

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assetgrade.review.suggest import LabelRound
    from assetgrade.workspace import Workspace

__all__ = ["ROUND_ENTITY", "RoundJob", "RoundRunner", "read_round_job", "stored_round"]

log = logging.getLogger(__name__)

ROUND_ENTITY = "label_round"
QUEUED, STARTED, DONE, FAILED = ("review.round_queued", "review.round_started", "review.round_done",
                                 "review.round_failed")
JobStatus = Literal["queued", "running", "done", "failed", "lost"]


def stored_round(rnd: LabelRound, requested_by: str) -> dict[str, Any]:
    """A stored round as one flat dict: its id (the label requests' ``batch_id``), what storing did, the suggestions."""
    rep = rnd.enqueued
    if rep is None:
        raise ValidationError("the round was not stored (enqueue=False)", where="stored_round")
    return {"batch_id": rep.batch_id, "strategy": rnd.strategy, "seed": rnd.seed, "model_version": rnd.model_version,
            "requested_by": requested_by, "labelled": rnd.labelled, "assets": rnd.assets, "added": rep.added,
            "refreshed": rep.refreshed, "withdrawn": rep.withdrawn, "skipped": rep.skipped,
            "suggestions": [s.as_dict() for s in rnd.suggestions]}


@dataclass(frozen=True)
class RoundJob:
    """A background round's state, read back from its audit events."""

    job_id: str
    status: JobStatus
    requested_by: str
    settings: dict[str, Any]
    queued_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    round: dict[str, Any] | None = None
    """The stored round (:func:`stored_round`) once ``done``."""


def _runner_gone(session: Session, payload: dict[str, Any]) -> bool:
    """True only when the runner that queued the job is known to be gone (its lock is free, or its process)."""
    key = payload.get("lock")
    conn = session.connection()
    if isinstance(key, int) and conn.dialect.name == "postgresql":
        return lock_is_free(conn, key)
    return process_gone(payload.get("host"), payload.get("pid"))


def read_round_job(session: Session, job_id: str) -> RoundJob | None:
    """The job's state from its events (None: no such job)."""
    events = list_events(session, entity=ROUND_ENTITY, entity_id=job_id, limit=10)
    by_action = {e.action: e for e in events}
    queued = by_action.get(QUEUED)
    if queued is None:
        return None
    payload = dict(queued.payload or {})
    started, done, failed = by_action.get(STARTED), by_action.get(DONE), by_action.get(FAILED)
    status: JobStatus = "running" if started is not None else "queued"
    end = done or failed
    if done is not None:
        status = "done"
    elif failed is not None:
        status = "failed"
    elif _runner_gone(session, payload):
        status = "lost"
    return RoundJob(
        job_id=job_id, status=status, requested_by=queued.actor, settings=dict(payload.get("settings", {})),
        queued_at=queued.ts, started_at=None if started is None else started.ts,
        finished_at=None if end is None else end.ts,
        error=None if failed is None else str((failed.payload or {}).get("error", "")),
        round=None if done is None else dict(done.payload or {}),
    )


class RoundRunner:
    """Runs label rounds of one workspace on one worker thread, in the order they were asked for.

    Examples
    --------
    >>> import tempfile
    >>> from assetgrade.workspace import Workspace
    >>> runner = RoundRunner(Workspace.init(tempfile.mkdtemp() + "/ws"))
    >>> runner.submit(k=5, requested_by="admin")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    assetgrade.errors.NotFoundError: no saved grader at ... cannot make one yet: the workspace has no assets ...
    >>> runner.close()
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-round")
        self._futures: dict[str, Future[None]] = {}
        self._steps: dict[str, str] = {}
        self._guard = threading.Lock()
        self._liveness: LivenessLock | None = None
        self._closed = False

    def submit(self, *, k: int = 20, strategy: str = "budget_switch", per_class: float | None = None, seed: int = 0,
               replace: bool = False, requested_by: str = "system") -> str:
        """Check the settings and the trained grader now, queue the round, and return its job id."""
        from assetgrade.grading.bundle import read_bundle_info
        from assetgrade.review.suggest import check_round, no_grader_error

        lock = self._liveness_lock()  # refuses when closed, before anything is checked or written
        check_round(k=k, strategy=strategy, per_class=per_class, seed=seed, enqueue=True, replace=replace)
        try:
            read_bundle_info(self.workspace.grader_dir)
        except NotFoundError as exc:  # saying to train, or what to label first while train cannot run yet
            raise no_grader_error(self.workspace, exc) from exc
        settings = {"k": k, "strategy": strategy, "per_class": per_class, "seed": seed, "replace": replace}
        job_id = "round_" + uuid.uuid4().hex[:20]
        where: dict[str, Any] = this_process()
        if lock is not None:
            where["lock"] = lock.key
        # one submit at a time from here: two at once each rebuilt the job table from what it had read and
        # one job was lost from it (wait/step failed on it, and close gave the liveness lock back while it
        # ran); and a close between the queued event and the pool's submit left a queued job no pool held
        with self._guard:
            if self._closed:
                raise ValidationError("this round runner is closed and takes no more jobs", where="RoundRunner.submit")
            with self.workspace.session() as s:
                append_event(s, actor=requested_by, action=QUEUED, entity=ROUND_ENTITY, entity_id=job_id,
                             payload={"settings": settings, **where})
            self._futures = {j: f for j, f in self._futures.items() if not f.done()}  # finished: read their events
            self._steps = {j: m for j, m in self._steps.items() if j in self._futures}
            self._futures[job_id] = self._pool.submit(self._run, job_id, settings, requested_by)
        return job_id

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until this runner's job ``job_id`` has finished (for scripts and tests).

        A job that had finished before a later ``submit`` is no longer held: read its state with
        :func:`read_round_job` instead.
        """
        fut = self._futures.get(job_id)
        if fut is None:
            raise NotFoundError(f"no job {job_id!r} is held by this runner")
        fut.result(timeout=timeout)

    def step(self, job_id: str) -> str | None:
        """The latest progress message of a job this runner is running (None: not running here, or no step yet)."""
        fut = self._futures.get(job_id)
        return self._steps.get(job_id) if fut is not None and fut.running() else None

    def close(self) -> None:
        """Stop taking jobs; jobs not yet started are dropped.

        A running job finishes first. On PostgreSQL the runner's liveness lock is then given back, so
        the dropped jobs read ``lost`` from then on; on SQLite once the process ends.
        """
        with self._guard:  # a submit racing this one takes no lock after it (see _liveness_lock)
            self._closed = True
            lock = self._liveness
        self._pool.shutdown(wait=False, cancel_futures=True)
        if lock is None:
            return
        running = [f for f in self._futures.values() if not f.done()]  # the cancelled ones are done
        if not running:
            lock.release()
            return

        def release_when_all_done(_f: Future[None]) -> None:
            if all(f.done() for f in running):
                lock.release()

        for f in running:
            f.add_done_callback(release_when_all_done)

    def _liveness_lock(self) -> LivenessLock | None:
        """The runner's liveness lock, taken on first use (None on stores without advisory locks)."""
        with self._guard:
            if self._closed:
                raise ValidationError("this round runner is closed and takes no more jobs", where="RoundRunner.submit")
            if self._liveness is None:
                self._liveness = LivenessLock.acquire(self.workspace.engine)
            return self._liveness

    def _run(self, job_id: str, settings: dict[str, Any], requested_by: str) -> None:
        from assetgrade.review.suggest import label_round

        ws = self.workspace
        try:
            with ws.session() as s:
                append_event(s, actor=requested_by, action=STARTED, entity=ROUND_ENTITY, entity_id=job_id)

            def record_done(s: Session, rnd: LabelRound) -> None:  # in the round's own transaction
                append_event(s, actor=requested_by, action=DONE, entity=ROUND_ENTITY, entity_id=job_id,
                             payload=stored_round(rnd, requested_by))

            label_round(ws, enqueue=True, requested_by=requested_by, on_stored=record_done,
                        progress=lambda msg: self._steps.__setitem__(job_id, msg), **settings)
        except Exception as exc:  # the job's end is recorded whatever went wrong, then the thread goes on
            message = str(exc) if isinstance(exc, AssetgradeError) else f"{type(exc).__name__}: {exc}"
            log.exception("label round %s failed", job_id)
            try:
                with ws.session() as s:
                    append_event(s, actor=requested_by, action=FAILED, entity=ROUND_ENTITY, entity_id=job_id,
                                 payload={"error": message})
            except Exception:  # the store itself is failing: the job reads as running, then lost
                log.exception("could not record the failure of label round %s", job_id)
