"""Running the service: one uvicorn process, or several worker processes that share the port.

Python runs one thread of Python code at a time per process, so one service process uses about
one core. ``serve(..., workers=N)`` starts N worker processes. On Linux each worker binds its own
listening socket with ``SO_REUSEPORT`` and the kernel spreads incoming connections across them;
with uvicorn's own ``--workers`` the processes share one socket and, under a burst of new
keep-alive connections, the first worker to wake takes most of them and keeps them (measured:
one worker at 100 % of a core, the other at 14 %). Where ``SO_REUSEPORT`` is missing, uvicorn's
workers are used.

The parent supervises: it restarts a worker that dies, stops all of them on SIGTERM/SIGINT, and
each worker stops when its parent is gone (so a killed service leaves no orphans holding the port).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ServeSpec", "app_from_env", "check_port_free", "reuseport_available", "serve"]

SPEC_ENV = "ASSETGRADE_SERVE_SPEC"


@dataclass(frozen=True)
class ServeSpec:
    """What a worker needs to build the app: the workspace, the store override and the settings (JSON-able).

    Examples
    --------
    >>> ServeSpec("/srv/ws", None, {"max_json_bytes": 1024}).settings["max_json_bytes"]
    1024
    """

    workspace: str
    store_url: str | None
    settings: dict[str, Any]


def build_app(spec: ServeSpec) -> Any:
    """Open the workspace and create the app (in the process that will serve it)."""
    from assetgrade.rest.app import create_app
    from assetgrade.rest.settings import RestSettings
    from assetgrade.workspace import Workspace

    ws = Workspace.open(spec.workspace, store_url=spec.store_url)
    return create_app(ws, RestSettings.model_validate(spec.settings))


def app_from_env() -> Any:
    """An app for ``uvicorn --factory``: the spec from ``$ASSETGRADE_SERVE_SPEC`` (JSON of a ServeSpec)."""
    return build_app(ServeSpec(**json.loads(os.environ[SPEC_ENV])))


def reuseport_available() -> bool:
    """Whether this platform can bind several listening sockets to one port and balance between them."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    """Refuse a port some process listens on, *including* another service's SO_REUSEPORT workers.

    The probe binds without SO_REUSEPORT: a socket with it would join a running multi-worker
    service's group, and the kernel would then split the traffic between the two services
    (another workspace, or an old service left running through a redeploy) without a word.
    """
    from assetgrade.errors import AssetgradeError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT leftovers are fine
        probe.bind((host, port))
    except OSError as exc:
        raise AssetgradeError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another assetgrade "
                              "serve, or another program, running on that port?)") from exc
    finally:
        probe.close()


def _watch_parent(parent_pid: int) -> None:
    """Stop this worker (gracefully, via SIGTERM to itself) once its parent is gone."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _worker(spec: ServeSpec, host: str, port: int, log_level: str, parent_pid: int) -> None:
    import uvicorn

    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="parent-watch").start()
    sock = _reuseport_socket(host, port)
    config = uvicorn.Config(build_app(spec), log_level=log_level, proxy_headers=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve(spec: ServeSpec, *, host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    """Serve until SIGTERM/SIGINT: in this process (``workers=1``) or with ``workers`` processes.

    A port that cannot be listened on (taken, a host name that does not resolve) is one
    AssetgradeError naming host and port, before the application is built: uvicorn would log it
    and exit 3, the CLI's code for "not found".
    """
    import uvicorn

    if workers > 1 and reuseport_available():
        _supervise(spec, host=host, port=port, workers=workers, log_level=log_level)
        return
    check_port_free(host, port)
    if workers <= 1:
        uvicorn.run(build_app(spec), host=host, port=port, log_level=log_level, proxy_headers=False,
                    server_header=False)
        return
    os.environ[SPEC_ENV] = json.dumps(asdict(spec))  # uvicorn's own workers (no SO_REUSEPORT here)
    uvicorn.run("assetgrade.rest.serving:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, proxy_headers=False, server_header=False)


def _supervise(spec: ServeSpec, *, host: str, port: int, workers: int, log_level: str) -> None:

    check_port_free(host, port)  # one clear error for a taken port, not N dying (or port-sharing) workers
    ctx = mp.get_context("spawn")
    stopping = threading.Event()

    def start() -> Any:
        p = ctx.Process(target=_worker, args=(spec, host, port, log_level, os.getpid()), daemon=False)
        p.start()
        return p

    def on_signal(signum: int, _frame: Any) -> None:
        stopping.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    procs = [start() for _ in range(workers)]
    try:
        while not stopping.wait(0.5):
            for i, p in enumerate(procs):
                if not p.is_alive() and not stopping.is_set():
                    print(f"assetgrade serve: worker {p.pid} exited with {p.exitcode}; starting another",
                          file=sys.stderr, flush=True)
                    procs[i] = start()
    finally:
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in procs:
            p.join(max(0.1, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(5)
        for s, h in old.items():
            signal.signal(s, h)
