"""One SQLite writer at a time, across threads and processes, queued on locks instead of on SQLite's back-off.

SQLite allows one write transaction at a time. A writer that finds the database locked waits in
SQLite's busy handler, which sleeps between retries (1, 2, 5 ... 100 ms); under concurrency those
sleeps, not the work, set the write latency. Here writers queue instead: threads of one process on
a re-entrant lock, processes (several service workers, a batch job beside the service) on an
advisory ``flock`` of a file next to the database. The kernel wakes the next waiter as soon as the
lock is released, and a waiting thread does not hold the GIL.

Where ``flock`` does not exist (Windows) only the thread lock is taken and other processes fall
back to SQLite's busy timeout, as before.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from assetgrade.errors import StoreError

__all__ = ["WriterLock", "sqlite_lock_path"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def sqlite_lock_path(url: str) -> Path | None:
    """The lock file for a file SQLite URL (``DB + '.writer-lock'``); None for memory or other stores.

    Examples
    --------
    >>> str(sqlite_lock_path("sqlite:////tmp/ws/assetgrade.db"))
    '/tmp/ws/assetgrade.db.writer-lock'
    >>> sqlite_lock_path("sqlite://") is None, sqlite_lock_path("postgresql://h/db") is None
    (True, True)
    >>> str(sqlite_lock_path("sqlite:////tmp/a%3Fb/assetgrade.db?timeout=30"))
    '/tmp/a?b/assetgrade.db.writer-lock'
    """
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    try:
        db = make_url(url).database  # percent-decoded: a folder named "a?b" is written a%3Fb in the URL
    except Exception:  # not a URL SQLAlchemy reads: connecting fails with its own error
        return None
    if not db or db == ":memory:":
        return None
    return Path(db).with_name(Path(db).name + ".writer-lock")


class WriterLock:
    """A re-entrant lock held by one thread of one process at a time (context manager).

    Parameters
    ----------
    path : the lock file shared by every process writing the database; None: threads only

    Examples
    --------
    >>> import tempfile
    >>> lock = WriterLock(Path(tempfile.mkdtemp()) / "db.writer-lock")
    >>> with lock, lock:          # re-entrant in one thread
    ...     lock.held
    True
    >>> lock.held
    False
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = os.getpid()

    @property
    def held(self) -> bool:
        """Whether some thread of this process holds the lock now."""
        return self._depth > 0

    def _file_fd(self) -> int | None:
        if self.path is None or fcntl is None:
            return None
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own descriptor
            self._pid = os.getpid()
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:  # a read-only folder or mount: say which file and why, not a bare OSError
                self._fd = None
                raise StoreError(f"cannot open the store's writer lock {self.path}: {exc.strerror or exc} (writing"
                                 " the store needs its folder writable)") from exc
        return self._fd

    def __enter__(self) -> WriterLock:
        self._thread_lock.acquire()
        if self._depth == 0:
            try:
                fd = self._file_fd()
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # blocks without the GIL until the other process is done
            except BaseException:
                self._thread_lock.release()
                raise
        self._depth += 1
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        """Close the lock file's descriptor (the lock must not be held)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
