"""A blob store's temp files (spool copies): where they lie, how a live writer claims them, how a collection tells.

Every temp file a blob store writes is ``<SPOOL_PREFIX><claim>-<random>.part``, in the store's ``tmp/`` on a
local disk or in :func:`system_spool_dir` for an object store. ``<claim>`` names the writing process's claim
on that folder: a file ``<SPOOL_PREFIX><claim>.held`` the process keeps open under a shared ``flock`` while
it has any copy there. So copies in flight cost one open file per folder and process, not one each (an
ingest row group of more large files than ``ulimit -n`` stopped with "Too many open files" when each copy held
its own), and a killed writer's copies read as free (the kernel drops a dead process's locks).

Copies named by earlier versions are still told apart: ``<SPOOL_PREFIX><random>.part`` (from 8f84424 on)
held its own ``flock``; an object store's ``assetgrade-blob-<random>.part`` (:data:`LEGACY_SPOOL_PREFIX`,
before 8f84424) held none, so only its age protects it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LEGACY_SPOOL_PREFIX", "SPOOL_PREFIX", "Claim", "new_temp", "remove_unheld_claim", "system_spool_dir",
           "temp_in_use"]

SPOOL_PREFIX = "assetgrade-spool-"
"""How the name of every temp file a blob store writes begins (``<prefix><claim>-<random>.part``)."""

LEGACY_SPOOL_PREFIX = "assetgrade-blob-"
"""How an object store's spool copies were named before 8f84424: ``tempfile.mkstemp`` in the system temp folder,
``assetgrade-blob-<random>.part``, without a lock."""

_COPY_RE = re.compile(rf"{re.escape(SPOOL_PREFIX)}([0-9a-f]{{16}})-[0-9a-f]{{16}}\.part")
_HOLDER_RE = re.compile(rf"{re.escape(SPOOL_PREFIX)}[0-9a-f]{{16}}\.held")
_NO_FLOCK = (errno.ENOLCK, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP)


def system_spool_dir() -> Path:
    """The folder of an object store's spool copies on this machine: ``assetgrade-spool-<uid>`` in the system temp
    folder (one per user: a shared temp folder would let one user's folder block another's ingest)."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    return Path(tempfile.gettempdir()) / ("assetgrade-spool" if uid is None else f"assetgrade-spool-{uid}")


def _locked(path: Path) -> bool:
    """Whether some open file holds a ``flock`` on ``path`` (False: none, gone, or no ``flock`` there)."""
    if fcntl is None:  # pragma: no cover - Windows: an open file cannot be deleted there anyway
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also releases the lock taken here
    return False


def temp_in_use(path: Path) -> bool:
    """Whether a live writer holds the temp file ``path``: its claim's ``flock`` (a copy of a previous version:
    its own).

    A writer that was killed holds nothing: the kernel dropped its lock. A copy whose claim file is gone is
    no live writer's (a claim outlives its copies). False where ``flock`` does not exist or the file system
    refuses it (then only the file's age protects it), and for a file that is gone.
    """
    m = _COPY_RE.fullmatch(path.name)
    return _locked(path.with_name(f"{SPOOL_PREFIX}{m[1]}.held") if m else path)


def remove_unheld_claim(path: Path) -> bool:
    """Remove the claim file ``path`` when no process holds it (a killed writer's); whether it was removed.

    It is removed under an exclusive lock: a writer that created it and is about to lock it waits, then
    finds it gone and claims under a new name (a live writer's copies never lose their claim file).
    """
    if fcntl is None:  # pragma: no cover - Windows: no claim files
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not os.path.samestat(os.fstat(fd), path.stat()):
            return False
        path.unlink()
    except OSError:  # held (BlockingIOError), gone, or no flock here: left alone
        return False
    finally:
        os.close(fd)
    return True


@dataclass
class _Holder:
    """This process's claim on one folder: the ``.held`` file, open under a shared lock, and its copies' count."""

    path: Path | None
    token: str
    fd: int | None
    pid: int
    count: int = 0


_guard = threading.RLock()  # re-entrant: a Claim dropped by the garbage collector may close inside a guarded block
_holders: dict[Path, _Holder] = {}


def _after_fork() -> None:
    """A forked child starts with no claims: the parent's stay the parent's (their files stay open here, which
    only keeps them held longer), and a lock another thread held at the fork would never be released."""
    global _guard, _holders
    _guard, _holders = threading.RLock(), {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _new_holder(folder: Path, private: bool) -> _Holder:
    token = secrets.token_hex(8)
    if fcntl is None:  # pragma: no cover - Windows: no lock to hold, only the age protects a copy
        return _Holder(None, token, None, os.getpid())
    for attempt in range(5):
        folder.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
        path = folder / f"{SPOOL_PREFIX}{token}.held"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
        except FileNotFoundError:  # the last copy's discard removed the empty folder in between
            if attempt == 4:
                raise
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except OSError as exc:  # a file system without flock: the grace period alone protects the copies
            if exc.errno not in _NO_FLOCK:
                os.close(fd)
                path.unlink(missing_ok=True)
                raise
        try:
            same = os.path.samestat(os.fstat(fd), path.stat())
        except FileNotFoundError:
            same = False
        if same:
            return _Holder(path, token, fd, os.getpid())
        # a collection with a grace period of 0 found the file unlocked, just created, and removed it: again
        os.close(fd)
        token = secrets.token_hex(8)
    raise OSError(errno.EAGAIN, "could not claim the temp folder", str(folder))


class Claim:
    """One copy's share of its process's claim on a temp folder; :meth:`close` once the copy is gone.

    The last share closed removes the claim file, then lets its lock go. A share taken before a ``fork``
    closes nothing in the child (the claim is the parent's).
    """

    def __init__(self, holder: _Holder) -> None:
        self._holder: _Holder | None = holder

    @property
    def token(self) -> str:
        assert self._holder is not None
        return self._holder.token

    def close(self) -> None:
        with _guard:
            h, self._holder = self._holder, None
            if h is None or h.pid != os.getpid():
                return
            h.count -= 1
            if h.count > 0:
                return
            if h.path is not None and _holders.get(h.path.parent) is h:
                del _holders[h.path.parent]
            if h.path is not None:
                h.path.unlink(missing_ok=True)  # first: a claim file found is always a held one
            if h.fd is not None:
                os.close(h.fd)

    def __del__(self) -> None:  # a copy dropped without discard: its claim goes with it, as its open file did
        with contextlib.suppress(Exception):
            self.close()


def _claim(folder: Path, private: bool) -> Claim:
    with _guard:
        h = _holders.get(folder)
        if h is None:
            h = _new_holder(folder, private)
            if h.path is not None:
                _holders[folder] = h
        h.count += 1
        return Claim(h)


def new_temp(folder: Path) -> tuple[Path, IO[bytes], Claim]:
    """A new temp file ``<folder>/<SPOOL_PREFIX><claim>-<random>.part``, open for writing, and its claim.

    Close the file when written (it holds no lock); close the claim once the file is gone (renamed into
    place or removed): until then garbage collection (:func:`temp_in_use`) never removes the file,
    however old; a killed writer's claim is gone with it.
    """
    # private in the shared system temp folder; in a store's own tmp/ as open as the blob it becomes (umask)
    private = folder == system_spool_dir()
    claim = _claim(folder, private)
    name = folder / f"{SPOOL_PREFIX}{claim.token}-{secrets.token_hex(8)}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        try:
            fd = os.open(name, flags, 0o600 if private else 0o666)
        except FileNotFoundError:  # no claim file keeps the folder (no flock): another copy's discard removed it
            folder.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
            fd = os.open(name, flags, 0o600 if private else 0o666)
    except BaseException:
        claim.close()
        raise
    return name, os.fdopen(fd, "wb"), claim
