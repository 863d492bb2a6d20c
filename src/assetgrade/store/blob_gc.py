"""Blob garbage collection: delete blobs that no row names any more, never one a writer may still need.

Blobs are written before the rows that name them (``store.md``), so a crash between the two,
or a batch rolled back after its blobs were stored, leaves an *orphan*: a blob no evidence row,
label mask or prediction overlay refers to. :func:`collect_blob_garbage` finds and deletes them.

Safety rules:

* **Referenced** means named by ``evidence.blob_sha``, ``labels.mask_sha`` or a prediction's
  ``payload["overlays"]`` (the heat-map PNGs of the review UI), read from committed rows.
* **Grace period.** A blob younger than ``grace_s`` (modification time) is kept even when
  unreferenced: its writer may not have committed its rows yet. On a local disk a writer that
  finds its blob already stored refreshes the blob's modification time
  (:meth:`BlobStore.put_bytes`), so re-using an old orphan makes it young again; the age is
  read again just before each deletion.
* Object stores cannot refresh a time stamp in place: there a writer that re-uses a blob older
  than :data:`~assetgrade.store.blobs.REFRESH_AFTER_S` (an hour) writes it again, which makes
  it young. A grace period shorter than that is refused on an object store, so a collection
  never deletes a blob an ingest in flight re-uses.
* **No window before the delete** (local disks). A blob to delete is first moved aside (renamed
  into ``tmp/`` as ``<sha>.<random>.gc-trash``), its age is read again from the moved file, and only
  then is it deleted; a writer that re-used it before the move refreshed that very file, so the
  collection sees it young and puts it back; a writer that looks after the move finds it gone and
  writes it again (:meth:`BlobStore._refresh`). A collection killed between the move and the
  delete leaves the file in ``tmp/``: the next one puts it back when a row names it or it is
  young, and deletes it otherwise. Object stores cannot move an object atomically: there the
  age read just before the delete is the last check (see ``store.md``).
* Interrupted temporary files (``tmp/*.part``, and an object store's spool copies
  ``assetgrade-spool-*.part`` in :func:`~assetgrade.store.spool.system_spool_dir` of the machine
  the collection runs on) older than the grace period are removed too, but never one a running
  writer holds (:func:`~assetgrade.store.spool.temp_in_use`); so are the claim files of killed
  writers (``assetgrade-spool-*.held``, not counted). An object store's copies named before 8f84424
  (``assetgrade-blob-*.part`` in the system temp folder, no lock) go the same way when this user
  owns them: moved aside, their age read again (a writer of that version may still be writing),
  then deleted or put back.
* **Nothing referenced.** When the store names no blob at all but the blob store holds some old
  enough to delete, the workspace is most likely opened against the wrong or an empty database
  (a team workspace without ``$ASSETGRADE_STORE``, a lost ``assetgrade.db``): the collection
  refuses unless ``force`` is given, instead of deleting every blob.
* A blob that cannot be deleted (permissions, a read-only store) is counted in ``failed`` with
  its error; the collection goes on and the caller still records what was deleted.

The collection is recorded as one ``blobs.gc`` audit event (counts and bytes, not the names).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetgrade.errors import ConflictError, ValidationError
from assetgrade.store.blobs import _SHA_RE, REFRESH_AFTER_S, BlobStore
from assetgrade.store.schema import Evidence, Label, Prediction
from assetgrade.store.spool import (
    _HOLDER_RE,
    LEGACY_SPOOL_PREFIX,
    SPOOL_PREFIX,
    remove_unheld_claim,
    system_spool_dir,
    temp_in_use,
)

__all__ = ["GcReport", "collect_blob_garbage", "record_blob_gc", "referenced_blobs"]


@dataclass
class GcReport:
    """What one collection found and did (``deleted`` is 0 in a dry run)."""

    store: str
    local: bool
    dry_run: bool
    grace_s: float
    stored: int = 0
    referenced: int = 0
    orphans: int = 0
    kept_young: int = 0
    deleted: int = 0
    freed_bytes: int = 0
    orphan_bytes: int = 0
    stale_tmp: int = 0
    """Interrupted temp files (``tmp/*.part``, an object store's spool copies, also those named before 8f84424)
    older than the grace period and held by no writer (removed unless a dry run)."""
    missing: int = 0
    """Referenced blobs that are not in the store (a damaged store; ``golden verify`` names them)."""
    missing_examples: list[str] = field(default_factory=list)
    failed: int = 0
    """Blobs or temp files that could not be deleted (kept; ``failed_examples`` says why)."""
    failed_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def referenced_blobs(session: Session) -> set[str]:
    """Every blob sha256 named by a committed row: evidence, label masks, prediction overlays."""
    refs: set[str] = set()
    for column in (Evidence.blob_sha, Label.mask_sha):
        refs.update(str(v) for (v,) in session.execute(select(column).where(column.is_not(None))))
    rows = session.execute(select(Prediction.payload).execution_options(yield_per=500))
    for (payload,) in rows:
        overlays = payload.get("overlays") if isinstance(payload, dict) else None
        if isinstance(overlays, dict):
            refs.update(v for v in overlays.values() if isinstance(v, str))
    return {r for r in refs if isinstance(r, str) and _SHA_RE.match(r)}


def _stored(blobs: BlobStore) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(sha, path, info) of every blob under the store's ``ab/cd/`` fan-out (temp files excluded).

    Listed one folder at a time (``fs.walk``), so a store of millions of blobs is never held as one
    listing in memory.
    """
    root = blobs.root.rstrip("/")
    for _folder, _dirs, files in blobs.fs.walk(root, detail=True):
        for info in files.values():
            path = str(info["name"])
            rel = path[len(root) :].lstrip("/") if path.startswith(root) else path
            parts = rel.split("/")
            if len(parts) == 3 and parts[0] == parts[2][:2] and parts[1] == parts[2][2:4] and _SHA_RE.match(parts[2]):
                yield parts[2], path, info


_TRASH = ".gc-trash"


def _young(blobs: BlobStore, path: str, clock: float, grace_s: float) -> bool:
    """Whether the file at ``path`` is younger than the grace period (or of unknown age) now."""
    stamp = blobs.modified(path)
    return stamp is None or clock - stamp < grace_s


def _put_back(trash: str, final: str) -> None:
    """Return a blob moved aside to its name; a copy a writer stored there meanwhile (same bytes) stays."""
    if Path(final).exists():
        Path(trash).unlink(missing_ok=True)
    else:
        Path(trash).replace(final)


def _delete_local(blobs: BlobStore, sha: str, path: str, clock: float,
                  grace_s: float) -> Literal["deleted", "young", "gone"]:
    """Delete an old orphan on a local disk with no window for a writer: move aside, read its age again, delete.

    A writer's refresh lands on the file before the move (then it is read young here and put back) or
    finds the name empty after it (then the writer stores the blob again).
    """
    trash = f"{blobs.root.rstrip('/')}/tmp/{sha}.{uuid.uuid4().hex}{_TRASH}"
    Path(trash).parent.mkdir(parents=True, exist_ok=True)
    try:
        blobs.fs.mv(path, trash)
    except FileNotFoundError:  # another collector got there first
        return "gone"
    try:
        if _young(blobs, trash, clock, grace_s):
            _put_back(trash, path)
            return "young"
        blobs.fs.rm_file(trash)
    except BaseException:
        _put_back(trash, path)  # never leave a blob aside that could not be deleted
        raise
    return "deleted"


def _settle_trash(blobs: BlobStore, referenced: set[str], clock: float, grace_s: float, rep: GcReport) -> None:
    """Blobs a killed collection left moved aside: back when named or young, else deleted (local disks)."""
    tmp = Path(blobs.root) / "tmp"
    if not tmp.is_dir():
        return
    for moved in tmp.glob(f"*{_TRASH}"):
        sha = moved.name.split(".", 1)[0]
        if not _SHA_RE.match(sha):
            continue
        final = blobs.path_for(sha)
        try:
            if sha in referenced or _young(blobs, str(moved), clock, grace_s):
                Path(final).parent.mkdir(parents=True, exist_ok=True)
                _put_back(str(moved), final)
                continue
            size = moved.stat().st_size
            moved.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            rep.failed += 1
            rep.failed_examples.append(f"{moved}: {exc.strerror or exc}")
            continue
        rep.deleted += 1
        rep.freed_bytes += size


def _stale_temp(blobs: BlobStore, clock: float, grace_s: float) -> Iterator[tuple[str, bool]]:
    """(path, on this machine's disk) of each interrupted temp file older than ``grace_s`` s and held by no writer:
    the store's ``tmp/*.part``, and for an object store the spool copies in :func:`system_spool_dir`."""
    tmp_dir = f"{blobs.root.rstrip('/')}/tmp"
    if blobs.fs.exists(tmp_dir):
        for path, info in blobs.fs.find(tmp_dir, detail=True).items():
            stamp = blobs.modified(str(path), info)
            if (str(path).endswith(".part") and stamp is not None and clock - stamp >= grace_s
                    and not (blobs.is_local and temp_in_use(Path(path)))):
                yield str(path), blobs.is_local
    if blobs.is_local:
        return
    spool = system_spool_dir()
    if not spool.is_dir():
        return
    for part in spool.glob(f"{SPOOL_PREFIX}*.part"):
        try:
            old = clock - part.stat().st_mtime >= grace_s
        except FileNotFoundError:
            continue
        if old and not temp_in_use(part):
            yield str(part), True


def _drop_unheld_claims(folder: Path, clock: float, grace_s: float) -> None:
    """Claim files (:mod:`~assetgrade.store.spool`) older than ``grace_s`` s that no process holds: a killed
    writer's. Removed, not counted: they are empty, and the copies they named are counted on their own."""
    if not folder.is_dir():
        return
    for held in folder.glob(f"{SPOOL_PREFIX}*.held"):
        age = _own_age(held, clock, anyone=True)
        if _HOLDER_RE.fullmatch(held.name) and age is not None and age >= grace_s:
            remove_unheld_claim(held)


_LEGACY_RE = re.compile(rf"{re.escape(LEGACY_SPOOL_PREFIX)}[a-z0-9_]+\.part(?:\.[0-9a-f]{{32}}{re.escape(_TRASH)})?")


def _own_age(path: Path, clock: float, *, anyone: bool = False) -> float | None:
    """The age of a regular file, when this user owns it (``anyone``: whoever does); None: gone, a link or
    folder, or another user's (the system temp folder is shared: a collection run as root leaves others' be)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode) or (not anyone and hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return None
    return clock - st.st_mtime


def _legacy_spool(path: Path, clock: float, grace_s: float, dry_run: bool) -> bool:
    """Whether a copy of the scheme before 8f84424 (:data:`~assetgrade.store.spool.LEGACY_SPOOL_PREFIX`) is removed
    (a dry run: would be): old, ours and held by no writer; moved aside, its age read again, then deleted, or put
    back when a writer wrote to it meanwhile. One a killed collection left aside is settled the same way."""
    aside = path.name.endswith(_TRASH)
    home = path.with_name(path.name.split(".part.", 1)[0] + ".part") if aside else path
    age = _own_age(path, clock)
    if age is None:
        return False
    stale = age >= grace_s and not temp_in_use(path)
    if dry_run:
        return stale
    if not stale:
        if aside:
            _put_back(str(path), str(home))
        return False
    if not aside:  # no window for a writer of that version: it held no lock, its writes are the only sign
        trash = path.with_name(f"{path.name}.{uuid.uuid4().hex}{_TRASH}")
        try:
            path.rename(trash)
        except FileNotFoundError:
            return False
        path = trash
    try:
        age = _own_age(path, clock)
        if age is None or age < grace_s or temp_in_use(path):
            _put_back(str(path), str(home))
            return False
        path.unlink()
    except BaseException:
        with contextlib.suppress(OSError):
            _put_back(str(path), str(home))
        raise
    return True


def collect_blob_garbage(
    blobs: BlobStore,
    referenced: set[str],
    *,
    grace_s: float = 24 * 3600.0,
    dry_run: bool = False,
    now: float | None = None,
    max_examples: int = 10,
    force: bool = False,
) -> GcReport:
    """Delete (or, with ``dry_run``, only count) blobs not in ``referenced`` and older than ``grace_s`` s.

    ``referenced`` comes from :func:`referenced_blobs` on a session closed before this runs, so
    no database lock is held while the store is scanned. A blob whose age the store cannot tell
    is kept. Record the outcome with :func:`record_blob_gc`. With nothing referenced and blobs
    stored, ConflictError unless ``dry_run`` or ``force`` (see the module's safety rules).

    Examples
    --------
    >>> store = BlobStore("memory://doctest-gc")
    >>> keep, drop = store.put_bytes(b"named"), store.put_bytes(b"orphan")
    >>> rep = collect_blob_garbage(store, {keep}, grace_s=0.0)
    >>> rep.deleted, store.exists(keep), store.exists(drop)
    (1, True, False)
    """
    if not (math.isfinite(grace_s) and grace_s >= 0):  # NaN compares False with every age: all orphans would go
        raise ValidationError(f"grace period {grace_s} s must be a finite number >= 0", where="grace_s")
    if not blobs.is_local and 0 < grace_s < REFRESH_AFTER_S:
        raise ValidationError(
            f"grace period {grace_s:g} s is shorter than the {REFRESH_AFTER_S:g} s after which a re-used blob on an"
            " object store is written again: a collection could delete a blob an ingest in flight re-uses",
            where="grace_s")
    t0 = time.perf_counter()
    clock = time.time() if now is None else now
    rep = GcReport(store=blobs.url, local=blobs.is_local, dry_run=dry_run, grace_s=grace_s)
    rep.referenced = len(referenced)
    def old_enough(path: str, info: dict[str, Any]) -> bool:
        stamp = blobs.modified(path, info)
        return stamp is not None and clock - stamp >= grace_s

    if not referenced and not dry_run and not force and any(old_enough(p, i) for _sha, p, i in _stored(blobs)):
        raise ConflictError(
            f"the store names no blob, but {blobs.url} holds blobs old enough to delete: this looks like the wrong"
            " or an empty "
            "database (a team workspace opened without $ASSETGRADE_STORE or --store, a lost assetgrade.db), "
            "and collecting would delete every blob; check the store, try --dry-run, or pass --force if "
            "every blob really is garbage")
    present: set[str] = set()  # the referenced blobs found (not every blob: a large store would fill memory)

    def failed(path: str, exc: OSError) -> None:
        rep.failed += 1
        if len(rep.failed_examples) < max_examples:
            rep.failed_examples.append(f"{path}: {exc.strerror or exc}")

    if blobs.is_local and not dry_run:
        _settle_trash(blobs, referenced, clock, grace_s, rep)
    for sha, path, info in _stored(blobs):
        rep.stored += 1
        if sha in referenced:
            present.add(sha)
            continue
        rep.orphans += 1
        size = int(info.get("size") or 0)
        rep.orphan_bytes += size
        stamp = blobs.modified(path, info)
        if stamp is None or clock - stamp < grace_s:
            rep.kept_young += 1
            continue
        if dry_run:
            continue
        try:
            if blobs.is_local:
                outcome = _delete_local(blobs, sha, path, clock, grace_s)
                if outcome == "young":
                    rep.kept_young += 1
                if outcome != "deleted":
                    continue
            else:
                if _young(blobs, path, clock, grace_s):  # a writer may have just re-used it: read its age again
                    rep.kept_young += 1
                    continue
                blobs.fs.rm_file(path)
        except FileNotFoundError:  # another collector got there first
            continue
        except OSError as exc:  # permissions, a read-only store: keep going, say so
            failed(path, exc)
            continue
        rep.deleted += 1
        rep.freed_bytes += size
    missing = sorted(referenced - present)
    rep.missing = len(missing)
    rep.missing_examples = missing[:max_examples]
    for path, on_disk in _stale_temp(blobs, clock, grace_s):
        if not dry_run:
            try:
                if on_disk:
                    Path(path).unlink()
                else:
                    blobs.fs.rm_file(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failed(path, exc)
                continue
        rep.stale_tmp += 1
    if not blobs.is_local:
        for part in Path(tempfile.gettempdir()).glob(f"{LEGACY_SPOOL_PREFIX}*"):
            if not _LEGACY_RE.fullmatch(part.name):
                continue
            try:
                rep.stale_tmp += _legacy_spool(part, clock, grace_s, dry_run)
            except OSError as exc:
                failed(str(part), exc)
    if not dry_run:
        spool_dir = Path(blobs.root) / "tmp" if blobs.is_local else system_spool_dir()
        _drop_unheld_claims(spool_dir, clock, grace_s)
        if not blobs.is_local:  # leave no empty folder in the system temp folder
            with contextlib.suppress(OSError):
                spool_dir.rmdir()
    rep.seconds = time.perf_counter() - t0
    return rep


def record_blob_gc(session: Session, report: GcReport, *, actor: str = "system") -> None:
    """Append the ``blobs.gc`` audit event (counts and bytes; no blob names) in the caller's transaction."""
    from assetgrade.store.audit import append_event

    payload = {k: v for k, v in report.to_dict().items()
               if k not in ("missing_examples", "failed_examples", "seconds", "store")}
    append_event(session, actor=actor, action="blobs.gc", entity="blob_store", entity_id=report.store,
                 payload=payload)
