"""A real ``assetgrade serve`` (uvicorn) in a child process on 127.0.0.1, for load runs and fault tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from assetgrade.errors import AssetgradeError

__all__ = ["ServiceProcess", "free_port", "shared_machine"]

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def shared_machine(load_before: list[float] | None, load_after: list[float] | None, *, sharing: str) -> dict[str, Any]:
    """A bench's ``shared_machine`` record: CPU count and the load average before and after its run.

    ``sharing`` names what ran on this machine's CPUs together (the client, the server...); the load
    averages come from :func:`assetgrade.bench.report.load_average` (None where the platform has none).
    """
    return {"cpus": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": load_after,
            "note": f"{sharing} share this machine's CPUs; a load average above the CPU count means they queued"
                    " for CPU"}


class ServiceProcess:
    """``python -m assetgrade.cli serve`` on the loopback interface, started and stopped on demand.

    Parameters
    ----------
    workspace : the workspace folder to serve
    store_url : store URL override (``--store``); None: the workspace's own
    port : TCP port (default: a free one, kept across restarts)
    log_path : where the server's stdout/stderr go (default: ``WORKSPACE/reports/service.log``)
    workers : server worker processes (``assetgrade serve --workers N``)
    threads : handler threads per worker (``--threads``)

    Examples
    --------
    >>> with ServiceProcess(ws_path) as svc:                 # doctest: +SKIP
    ...     httpx.get(svc.url + "/api/v1/health").status_code
    200
    """

    def __init__(self, workspace: Path, *, store_url: str | None = None, port: int | None = None,
                 log_path: Path | None = None, env: dict[str, str] | None = None, workers: int = 1,
                 threads: int = 4) -> None:
        self.workspace = Path(workspace)
        self.store_url = store_url
        self.port = port or free_port()
        self.log_path = log_path or self.workspace / "reports" / "service.log"
        self.env = env or {}
        self.workers = workers
        self.threads = threads
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8123``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout_s: float = 60.0) -> ServiceProcess:
        """Start the server and wait until ``/api/v1/health`` answers 200."""
        env = {**os.environ, **self.env}
        cmd = [sys.executable, "-m", "assetgrade.cli", "serve", "-w", str(self.workspace), "--host", LOOPBACK,
               "--port", str(self.port), "--log-level", "warning", "--workers", str(self.workers),
               "--threads", str(self.threads)]
        if self.store_url:
            cmd += ["--store", self.store_url]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._log_start = log.tell()  # the log is appended to: the error message shows this run's lines only
        # its own process group, so kill() takes the supervisor and every worker down at once
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssetgradeError(f"the service exited with code {self.proc.returncode}{self._log_tail()}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise AssetgradeError(f"the service did not answer on {self.url} within {timeout_s:.0f} s{self._log_tail()}")

    def _log_tail(self, lines: int = 12) -> str:
        """The last lines of the server's log, for an error message (the log may sit in a folder deleted after)."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._log_start)
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return f"; no log at {self.log_path}"
        tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
        if not tail:
            return f"; it logged nothing ({self.log_path})"
        return f"; last lines of its log ({self.log_path}):\n" + "\n".join(tail)

    def kill(self) -> None:
        """SIGKILL the server and its workers (a crash: no shutdown handlers run)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (uvicorn's graceful shutdown), then SIGKILL after ``timeout_s``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.proc = None

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
