"""The ingest writer: validates items, writes blobs first, then each row group's rows in one audited transaction.

Order of work per row group (so a crash or Ctrl-C at any point leaves a consistent store and
a resumable ingest): (1) hash each item and skip those already stored with the same content
before any decoding; (2) validate and write the new blobs (an orphan blob is harmless);
(3) in one transaction re-check what exists, insert assets, evidence, provenance and labels
in bulk and append one audit event. A row that fails any step is reported and skipped; a
unique-key race with another process rolls the group back and retries it. A row whose parent
evidence is not stored yet waits (its blob written) and is written after the last group, since
its parent may be a later row of the input.

The work is split by concept: :mod:`~assetgrade.ingest.preparation` checks and hashes each item,
marks the ones already stored and writes their blobs (steps 1 and 2), and
:mod:`~assetgrade.ingest.commit` writes a row group's rows in its transaction (step 3); the
:class:`Ingestor` here drives the row groups, retries a group after a race, and keeps the batch
record and the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError, OperationalError

from assetgrade.errors import AssetgradeError, IngestError, StoreError, ValidationError
from assetgrade.ingest.batches import hold_ctrl_c, mark_lost_batches, row_groups
from assetgrade.ingest.claims import Claims
from assetgrade.ingest.commit import _write
from assetgrade.ingest.entry_changes import Changed, changes_notice
from assetgrade.ingest.export_gaps import SourceRows, export_gaps
from assetgrade.ingest.items import ItemSpec
from assetgrade.ingest.preparation import _mark_existing, _prepare, _Prepared, _validate_and_store
from assetgrade.ingest.report import IngestNotice, IngestReport, RowError
from assetgrade.ingest.series_overlap import stored_overlaps
from assetgrade.ingest.terms import TermChecker
from assetgrade.store.audit import append_event
from assetgrade.store.liveness import this_process
from assetgrade.store.schema import IngestBatch, utcnow

if TYPE_CHECKING:
    from assetgrade.workspace import Workspace

__all__ = ["Ingestor"]

_Item = ItemSpec | RowError | IngestNotice

_RETRIES = 5


class Ingestor:
    """Takes :class:`ItemSpec` items (or RowErrors from a parser) into a workspace in row groups.

    Parameters
    ----------
    ws
        The workspace written to.
    kind, source
        What kind of import this is (``manifest``, ``voc``...) and from where, for the batch record.
    group_size
        Items per transaction (default: the workspace's ``ingest_group_size``).
    terms
        Ontology term checker (default: the workspace's ontology).
    on_progress
        Called with the number of input items finished after each row group.
    supersede
        Store a newer export of a stored source (same file name, other content) and withdraw the stored item
        in the same transaction (:mod:`~assetgrade.ingest.supersede`); without it such a row is refused.
    check_export
        The input is an export of its source whose ids come from the content (work orders): once it is read,
        name the stored items of that source for its assets that none of its rows gave
        (:mod:`~assetgrade.ingest.export_gaps`), when it shares any with the store, and the rows that are a
        stored entry with other values in other columns (:mod:`~assetgrade.ingest.entry_changes`; with
        ``supersede`` they replace it).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from assetgrade.workspace import Workspace
    >>> ws = Workspace.init(Path(tempfile.mkdtemp()) / "ws")
    >>> item = ItemSpec(where="doc", asset_id="pump-7", kind="log", text="bearing noisy", source_key="k1")
    >>> Ingestor(ws, kind="doc", source="doctest").run([item]).added["evidence"]
    1
    >>> Ingestor(ws, kind="doc", source="doctest").run([item]).skipped_existing
    1
    """

    def __init__(
        self, ws: Workspace, *, kind: str, source: str, group_size: int | None = None,
        terms: TermChecker | None = None, actor: str = "ingest",
        on_progress: Callable[[int], None] | None = None, supersede: bool = False, check_export: bool = False,
    ) -> None:
        self.ws = ws
        self.kind = kind
        self.source = source
        if group_size is not None and group_size < 1:
            raise ValidationError(f"group size must be at least 1, not {group_size}", where="--group-size")
        self.group_size = group_size or ws.config.ingest_group_size
        self.terms = terms
        self.actor = actor
        self.on_progress = on_progress
        self.supersede = supersede
        self.check_export = check_export
        self._source_rows = SourceRows.empty()  # what the rows gave, by source and asset (check_export)
        self._changes: list[Changed] = []  # rows that are a stored entry with other values in other columns (idem)
        self.report = IngestReport(batch_id=utcnow().strftime("%Y%m%dT%H%M%S") + "-" + _rand(), kind=kind,
                                   source=source)
        self._deferred: list[_Prepared] = []  # rows waiting for their parent evidence (see _write_deferred)
        # this run's series items, (evidence id, sha256): the importer compares them (series_overlap)
        self._series_ids: set[tuple[str, str]] = set()
        # each evidence id this run's rows gave, and the first row to give it (a temporary file: claims.py)
        self._claims = Claims(source=source)

    # -- driver -----------------------------------------------------------------------------
    def run(self, items: Iterable[_Item]) -> IngestReport:
        """Ingest everything; returns the report (also written to the workspace's ``reports/``)."""
        if self.terms is None:
            self.terms = TermChecker(self.ws.ontology())
        t0 = time.perf_counter()
        rep = self.report
        self._claims.open()  # a temporary folder that cannot take it stops the run before anything is written
        with self.ws.session() as s:
            mark_lost_batches(s, self.actor)
            s.add(IngestBatch(id=rep.batch_id, kind=self.kind, source=self.source, status="running",
                              counts={"owner": this_process()}))
            append_event(s, actor=self.actor, action="ingest.start", entity="ingest_batch",
                         entity_id=rep.batch_id, payload={"kind": self.kind, "source": self.source})
        try:
            for group in row_groups(items, self.group_size):
                specs: list[ItemSpec] = []
                rows = 0
                for it in group:
                    if isinstance(it, IngestNotice):
                        rep.notices.append(it)
                        continue
                    rows += 1
                    if isinstance(it, RowError):
                        rep.errors.append(it)
                    else:
                        specs.append(it)
                if specs:
                    self._group(specs)
                if self.on_progress is not None:
                    self.on_progress(rows)
            self._write_deferred()
            if self.check_export:
                rep.notices.extend(changes_notice(self._changes, supersede=self.supersede))
                rep.notices.extend(export_gaps(self.ws, self._source_rows, file=self.source))
            rep.status = "done" if rep.ok else "done_with_errors"
        except KeyboardInterrupt:
            rep.status = "interrupted"
            raise
        except BaseException:
            rep.status = "failed"
            raise
        finally:
            self._claims.close()
            rep.wall_s = time.perf_counter() - t0
            self._finish()
        return rep

    def _finish(self) -> None:
        rep = self.report
        try:
            with self.ws.session() as s:
                batch = s.get(IngestBatch, rep.batch_id)
                if batch is not None:
                    batch.finished_at = utcnow()
                    batch.status = rep.status
                    batch.counts = {**rep.added, "skipped_existing": rep.skipped_existing,
                                    "errors": len(rep.errors)}
                    if rep.superseded:
                        batch.counts["superseded"] = len(rep.superseded)
                append_event(s, actor=self.actor, action="ingest.finish", entity="ingest_batch",
                             entity_id=rep.batch_id, payload={"status": rep.status, **rep.added,
                                                              "skipped_existing": rep.skipped_existing,
                                                              "errors": len(rep.errors)})
        except (OperationalError, KeyboardInterrupt):  # best effort: the rows themselves are consistent
            pass
        rep.write(self.ws.reports_dir)

    # -- one row group ----------------------------------------------------------------------
    def _fail(self, spec: ItemSpec, exc: Exception, fieldname: str | None = None) -> None:
        self.report.errors.append(RowError.from_exception(exc, spec.file or spec.where, spec.row, fieldname))

    def _group(self, specs: list[ItemSpec]) -> None:
        assert self.terms is not None
        prepared: list[_Prepared] = []
        try:
            for spec in specs:
                try:
                    prepared.append(_prepare(self.terms, spec, self.ws.blobs))
                except StoreError:  # the store, not the row: stop the run (rows already written stay whole)
                    raise
                except AssetgradeError as exc:
                    self._fail(spec, exc, getattr(exc, "field", None))
                except OSError as exc:
                    self._fail(spec, IngestError(f"cannot read: {exc}"), "path")
            ready: list[_Prepared] = []
            for p in _mark_existing(self.ws, prepared, self._fail, supersede=self.supersede,
                                      claims=self._claims, changes=self._changes if self.check_export else None):
                try:
                    if not p.existing:
                        _validate_and_store(self.ws, p)
                    ready.append(p)
                except StoreError:
                    raise
                except AssetgradeError as exc:
                    self._fail(p.spec, exc, getattr(exc, "field", "path"))
                except OSError as exc:
                    self._fail(p.spec, IngestError(f"cannot read: {exc}"), "path")
            self._series_ids.update((p.evidence_id, p.sha) for p in prepared if p.spec.kind == "series")
            if self.check_export:
                for p in prepared:
                    self._source_rows.add(p.spec.provenance.source, p.spec.asset_id, p.spec.kind, p.evidence_id,
                                          existing=p.existing)
            stored_overlaps(self.ws, ready, self._series_ids)  # said once a row is committed
        finally:  # a large file's copy not stored (already stored, rejected, or the run stopped) goes
            for p in prepared:
                p.discard()
        self._commit(ready, defer=self._deferred)

    def _commit(self, ready: list[_Prepared], *, defer: list[_Prepared] | None) -> None:
        """Write ``ready`` in one transaction, again after a unique-key race with another process."""
        for attempt in range(_RETRIES):
            kept: list[_Prepared] = []
            try:
                with hold_ctrl_c():  # a group the store commits is always counted in the report
                    _write(self.ws, self.report, ready, actor=self.actor, defer=None if defer is None else kept)
                if defer is not None:
                    for p in kept:
                        p.data = None  # its blob is written; only the rows wait
                    defer.extend(kept)
                return
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _write_deferred(self) -> None:
        """Rows whose parent evidence was not stored when their group was written, once the input is read.

        The parent may be a later row (a manifest listing an augmented image before its source), so
        such rows wait and are written after the others, again while that lands more of them, so the
        result does not depend on the order of the rows; a row whose parent never lands is then
        rejected naming it.
        """
        pending, self._deferred = self._deferred, []
        while pending:
            for chunk in row_groups(pending, self.group_size):
                self._commit(chunk, defer=self._deferred)
            if len(self._deferred) == len(pending):  # no parent landed in this pass: they never will
                for chunk in row_groups(self._deferred, self.group_size):
                    self._commit(chunk, defer=None)
                self._deferred = []
                return
            pending, self._deferred = self._deferred, []



def _rand() -> str:
    import uuid

    return uuid.uuid4().hex[:8]
