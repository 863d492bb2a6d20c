"""BLAS on one thread: :func:`serial_blas`, one process-wide limit shared by every thread inside it."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["serial_blas"]


@functools.cache
def _blas_controller() -> Any:
    """The process's threadpoolctl controller (finding the loaded BLAS libraries once)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _release_blas_control() -> None:
    """Let the calling thread set OpenBLAS's thread count (threadpoolctl >= 3.8 otherwise lets only one thread do it).

    threadpoolctl gives a pthreads OpenBLAS's process-wide limit to the first Python thread
    that sets it, for as long as that thread lives, and ignores the others; :class:`_SharedBlasLimit`
    already coordinates the threads, so it releases that control before it sets or restores.
    """
    for lib in _blas_controller().lib_controllers:
        release = getattr(type(lib), "clear_controlling_thread", None)
        if release is not None:
            release(force=True)


class _SharedBlasLimit:
    """One process-wide "BLAS on one thread" limit shared by every thread inside :func:`serial_blas`.

    The first thread in sets the limit and the last one out restores the original thread
    counts; the lock is held only while the count changes, so threads inside run at the same
    time (each on one BLAS thread) and none restores the default while another is inside. This
    is right for a BLAS whose limit is process-wide, as the pthreads OpenBLAS in pip's numpy and
    scipy; where the limit is per thread (OpenBLAS built with OpenMP, MKL) only the first thread
    in is limited and the others run with the default while it is inside (slower at worst).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    def enter(self) -> None:
        with self._lock:
            if self._users == 0:
                _release_blas_control()
                self._limiter = _blas_controller().limit(limits=1, user_api="blas")
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                _release_blas_control()  # the last one out may not be the thread that set the limit
                self._limiter.restore_original_limits()
                self._limiter = None
                _release_blas_control()  # and no thread keeps control once the default is back


_SHARED_BLAS_LIMIT = _SharedBlasLimit()


@contextlib.contextmanager
def serial_blas() -> Iterator[None]:
    """A context in which BLAS (OpenBLAS under numpy and scipy) runs on one thread.

    The heads' solvers multiply a few hundred to a few thousand rows by a handful of weight
    vectors hundreds of times; OpenBLAS's threads cost more than they give there. On the 2-core
    reference machine the demo's grader trained in half the time with one thread
    (docs/performance.md). It also makes a fit independent of how many cores the
    machine has (the rounding of a threaded product can depend on it). The thread limit is
    process-wide and shared: threads inside run at the same time, the first in sets it and the
    last out restores it, so a server's prediction does not wait for a head fit of a label round
    running in another thread. Nested use is fine.
    """
    _SHARED_BLAS_LIMIT.enter()
    try:
        yield
    finally:
        _SHARED_BLAS_LIMIT.leave()
