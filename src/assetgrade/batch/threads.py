"""Thread limits for Ray tasks: chosen in the driver from its environment, set by each task at its start.

A local Ray's workers inherit the driver's environment (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ...),
but a cluster's workers were started by their node and have the node's: a node whose environment asks for
more threads (or a library loaded before the variables were read) would run one BLAS or OpenMP pool per task,
each as wide as the node. So :class:`RayExecutor <assetgrade.batch.ray_executor.RayExecutor>` reads the limits
once, in the driver (:meth:`ThreadLimits.from_environ`), and passes them to every task, which sets them
itself (:meth:`ThreadLimits.apply`) before it runs the shard: on any cluster, with no ``runtime_env``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assetgrade.errors import ValidationError

__all__ = ["ThreadLimits"]


def _threads(environ: Mapping[str, str], name: str) -> int | None:
    """The thread count ``environ[name]`` asks for (the first level of an OpenMP list such as ``4,2``), or None
    when unset or empty; ValidationError naming the variable when it is not a whole number >= 1."""
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    first = raw.split(",", 1)[0].strip()
    if not first.isdigit() or int(first) < 1:
        raise ValidationError(f"{name}={raw!r} must be a whole number of threads >= 1 (or unset: one per task)",
                              where="environment")
    return int(first)


def _release_openblas(controller: Any) -> None:
    """Let any thread set a pthreads OpenBLAS's process-wide limit next (threadpoolctl >= 3.8 keeps it for the
    first thread that set it; older versions have no such state)."""
    for lib in controller.lib_controllers:
        release = getattr(type(lib), "clear_controlling_thread", None)
        if release is not None:
            release(force=True)


@dataclass(frozen=True)
class ThreadLimits:
    """How many threads one Ray task may run in BLAS and in OpenMP (which includes torch's intra-op pool).

    Parameters
    ----------
    blas : threads of the BLAS library (OpenBLAS, MKL, BLIS) in the task
    openmp : threads of every OpenMP runtime in the task, and torch's intra-op threads

    Examples
    --------
    >>> ThreadLimits.from_environ({})
    ThreadLimits(blas=1, openmp=1)
    >>> ThreadLimits.from_environ({"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"})
    ThreadLimits(blas=1, openmp=2)
    >>> ThreadLimits(blas=1, openmp=2).environ()["MKL_NUM_THREADS"]
    '1'
    """

    blas: int
    openmp: int

    def __post_init__(self) -> None:
        for name in ("blas", "openmp"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name}={value!r} must be a whole number of threads >= 1",
                                      where="ThreadLimits")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ThreadLimits:
        """The driver's limits: ``OMP_NUM_THREADS`` for OpenMP and torch; ``OPENBLAS_NUM_THREADS``, else
        ``MKL_NUM_THREADS``, else ``OMP_NUM_THREADS`` for BLAS (the order OpenBLAS reads them in); 1 for
        what none of them sets, as a task holds one CPU (``num_cpus=1``)."""
        env = os.environ if environ is None else environ
        openmp = _threads(env, "OMP_NUM_THREADS")
        blas = _threads(env, "OPENBLAS_NUM_THREADS") or _threads(env, "MKL_NUM_THREADS") or openmp
        return cls(blas=blas or 1, openmp=openmp or 1)

    def environ(self) -> dict[str, str]:
        """The environment variables that carry these limits to a library loaded after they are set."""
        return {"OMP_NUM_THREADS": str(self.openmp), "OPENBLAS_NUM_THREADS": str(self.blas),
                "MKL_NUM_THREADS": str(self.blas)}

    def apply(self) -> None:
        """Set the limits in this process (a Ray task calls it before its shard) and leave them set.

        The environment variables are for what loads later in the task: an OpenMP runtime (scikit-learn's,
        LightGBM's, torch's own) or a BLAS reads them once, when it is loaded. threadpoolctl sets the
        libraries loaded already, and ``torch.set_num_threads`` torch's intra-op pool when torch is imported
        (torch is not imported for it: a task that never uses torch does not pay for loading it). OpenMP's
        limit is the calling thread's (the task's); a thread the shard starts itself gets the runtime's
        default, which the variables set when the runtime loads in the task.
        """
        from threadpoolctl import ThreadpoolController

        os.environ.update(self.environ())
        controller = ThreadpoolController()
        _release_openblas(controller)  # a thread of an earlier task may hold OpenBLAS's process-wide limit
        controller.limit(limits={"blas": self.blas, "openmp": self.openmp})
        _release_openblas(controller)  # and the shard's own threads may set it (assetgrade.blas.serial_blas)
        torch = sys.modules.get("torch")
        if torch is not None and hasattr(torch, "set_num_threads"):
            torch.set_num_threads(self.openmp)
