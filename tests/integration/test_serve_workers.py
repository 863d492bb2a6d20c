"""``assetgrade serve --workers 2``: two worker processes answer on one port, and none outlives the service."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from assetgrade.loadtest import ServiceProcess
from assetgrade.rest.serving import reuseport_available
from assetgrade.workspace import Workspace


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _workers(pid: int) -> list[int]:
    """Children of the supervisor that listen (multiprocessing's resource tracker does not)."""
    return [c for c in _children(pid) if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_text()]


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(not reuseport_available(), reason="SO_REUSEPORT workers are Linux-only")
def test_two_workers_serve_and_die_with_the_service(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    svc = ServiceProcess(ws.path, workers=2).start()
    try:
        assert svc.pid is not None
        deadline = time.monotonic() + 60
        while len(_workers(svc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _workers(svc.pid)
        assert len(workers) == 2
        for _ in range(10):  # new connections each time: whichever worker takes one answers
            assert httpx.get(svc.url + "/api/v1/health", timeout=10).json()["status"] == "ok"
        svc.kill()  # the whole service crashes: no worker may keep the port
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(Path(f"/proc/{w}").exists() for w in workers)
        assert _refused(svc.port)
        svc.start()  # the same port again
        assert httpx.get(svc.url + "/api/v1/health", timeout=10).status_code == 200
        pid = svc.pid
        assert pid is not None
        deadline = time.monotonic() + 60
        while len(_workers(pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _workers(pid)
        svc.stop()  # SIGTERM: the supervisor stops its workers
        assert not any(Path(f"/proc/{w}").exists() for w in workers)
        assert _refused(svc.port)
    finally:
        svc.kill()


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    from assetgrade.errors import AssetgradeError
    from assetgrade.rest.serving import ServeSpec, _supervise

    if not reuseport_available():
        pytest.skip("SO_REUSEPORT workers are Linux-only")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(AssetgradeError, match=f"cannot listen on 127.0.0.1:{port}"):
            _supervise(ServeSpec(str(tmp_path), None, {}), host="127.0.0.1", port=port, workers=2, log_level="warning")


@pytest.mark.skipif(not reuseport_available(), reason="SO_REUSEPORT workers are Linux-only")
def test_a_port_held_by_another_services_workers_is_refused_not_shared() -> None:
    """A second `serve --workers N` on the port of a running one would join its SO_REUSEPORT group."""
    from assetgrade.errors import AssetgradeError
    from assetgrade.rest.serving import _reuseport_socket, check_port_free

    running = _reuseport_socket("127.0.0.1", 0)  # one worker of a service that is already up
    port = running.getsockname()[1]
    try:
        with pytest.raises(AssetgradeError, match=f"cannot listen on 127.0.0.1:{port}.*another assetgrade serve"):
            check_port_free("127.0.0.1", port)
    finally:
        running.close()
    check_port_free("127.0.0.1", port)  # free again: no error
