"""An ingest run's bookkeeping: row groups, Ctrl-C held while a group commits, batches whose process is gone."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select, update

from assetgrade.store.audit import append_event
from assetgrade.store.liveness import process_gone
from assetgrade.store.schema import IngestBatch

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["hold_ctrl_c", "mark_lost_batches", "row_groups"]

T = TypeVar("T")


@contextmanager
def hold_ctrl_c() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then deliver it; a no-op off the main thread.

    Without it, a Ctrl-C arriving just after a group's transaction commits but before the report
    counts the group leaves a report that says fewer rows were added than the store holds.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield  # off the main thread, or a handler Python did not install and could not put back
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            signal.raise_signal(signal.SIGINT)  # now handled as it would have been (KeyboardInterrupt by default)


def mark_lost_batches(session: Session, actor: str) -> None:
    """Batches still ``running`` whose process on this host is gone (killed: SIGKILL, power loss) become ``lost``.

    Their committed row groups stay (each is whole); running the same ingest again adds the rest.
    Batches of other hosts, and of versions that did not record their process, are left as they are.
    Two ingests starting at once mark a batch once: the update only changes a batch still running.
    """
    for batch_id, counts in session.execute(select(IngestBatch.id, IngestBatch.counts)
                                            .where(IngestBatch.status == "running")).tuples().all():
        owner = (counts or {}).get("owner") or {}
        if not process_gone(owner.get("host"), owner.get("pid")):
            continue
        done = session.execute(update(IngestBatch).where(IngestBatch.id == batch_id, IngestBatch.status == "running")
                               .values(status="lost"))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            append_event(session, actor=actor, action="ingest.lost", entity="ingest_batch", entity_id=batch_id,
                         payload={"owner": owner, "why": "its process is gone and it never finished"})


def row_groups(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """``items`` in lists of ``n`` (the last may be shorter).

    >>> list(row_groups(range(5), 2))
    [[0, 1], [2, 3], [4]]
    """
    it = iter(items)
    while chunk := list(islice(it, n)):
        yield chunk
