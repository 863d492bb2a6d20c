"""Is a worker that left a job behind still alive? A PostgreSQL advisory lock answers from any host.

A background job (a label round) is queued by one process and may be read by another, on another
machine. Its events say whether it ended; when they do not, the reader must tell "still running"
from "its process died". A :class:`LivenessLock` is a PostgreSQL session-level advisory lock on a
random 63-bit key, taken on a connection the worker holds for as long as it lives. The worker
records the key beside its jobs. PostgreSQL releases the lock when that connection ends, a killed
or crashed process included, so a reader that can take the lock itself (and gives it back at once,
:func:`lock_is_free`) knows the worker is gone, whichever host it ran on.

SQLite has no such lock (and a SQLite store is one machine's): :meth:`LivenessLock.acquire`
returns None there and callers keep to host and process-id checks.

A dropped connection (the server restarted, a network cut) also frees the lock, so a job can read
as gone and later record its end after all: readers should let a recorded end win.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from typing import Any

from sqlalchemy import Connection, Engine, text

__all__ = ["LivenessLock", "lock_is_free", "process_gone", "this_process"]


class LivenessLock:
    """A PostgreSQL session-level advisory lock held on its own connection until :meth:`release`.

    Use :meth:`acquire`, which answers None on stores without advisory locks.
    """

    def __init__(self, conn: Connection, key: int) -> None:
        self.key = key
        self._conn: Connection | None = conn
        self._guard = threading.Lock()

    @classmethod
    def acquire(cls, engine: Engine) -> LivenessLock | None:
        """Take a fresh lock on a connection checked out of ``engine`` for the lock's life (None: not PostgreSQL)."""
        if engine.dialect.name != "postgresql":
            return None
        key = secrets.randbits(63)  # a positive bigint: collisions between live workers are negligible
        conn = engine.connect()
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()  # the lock outlives the transaction; the connection must not idle inside one
        except BaseException:  # never hand a connection that may hold the lock back to the pool
            conn.invalidate()
            conn.close()
            raise
        return cls(conn, key)

    @property
    def held(self) -> bool:
        """True until :meth:`release` (a dropped connection is not noticed here)."""
        return self._conn is not None

    def release(self) -> None:
        """Give the lock back and return its connection; safe to call more than once, from any thread."""
        with self._guard:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            conn.commit()
        except Exception:  # the lock must not go back to the pool with its connection: end the connection
            conn.invalidate()
            raise
        finally:
            conn.close()


def lock_is_free(conn: Connection, key: int) -> bool:
    """True when no session holds ``key``: this connection takes it and gives it back at once.

    ``conn`` must not itself hold the lock (a session re-takes its own lock, which would read as free).
    """
    got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
    if got:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    return got


def this_process() -> dict[str, Any]:
    """``{"host": ..., "pid": ...}`` of the calling process, to record beside work it leaves behind."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def process_gone(host: object, pid: object) -> bool:
    """True only when that process is known to be gone: same host, not this process, and no such process."""
    if host != socket.gethostname() or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists under another user (PermissionError), or cannot tell
        return False
    return False
