"""The Makefile's install asks PyTorch's CPU index for torch before the project, when it answers."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tools" / "torch_index.py"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _planned_install(*assignments: str) -> list[str]:
    """The pip commands `make install` would run on a fresh clone (`-B`: as if nothing were installed)."""
    if shutil.which("make") is None or not (ROOT / "Makefile").is_file():
        pytest.skip("needs make and the project's Makefile (a source checkout)")
    out = subprocess.run(["make", "-n", "-B", "install", *assignments], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if "pip install" in line]


def _probe(url: str) -> subprocess.CompletedProcess[str]:
    if not PROBE.is_file():
        pytest.skip("tools/torch_index.py is in source checkouts only")
    return subprocess.run([sys.executable, str(PROBE), url], capture_output=True, text=True, timeout=60)


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback with a simple-index page for torch."""
    (tmp_path / "whl" / "cpu" / "torch").mkdir(parents=True)
    (tmp_path / "whl" / "cpu" / "torch" / "index.html").write_text("<a href='x'>torch-2.13.0+cpu</a>", encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **k: object) -> None:
            super().__init__(*a, directory=str(tmp_path), **k)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    finally:
        server.shutdown()
        server.server_close()


def test_torch_comes_first_pinned_and_asks_the_cpu_index_through_the_probe() -> None:
    lines = _planned_install()
    torch_at = next(i for i, line in enumerate(lines) if "torch==2.13.0" in line)
    project_at = next(i for i, line in enumerate(lines) if line.endswith("-e ."))
    assert torch_at < project_at
    assert f'tools/torch_index.py "{CPU_INDEX}"' in lines[torch_at]
    other = next(line for line in _planned_install("TORCH_INDEX=http://mirror.example/cpu") if "torch==" in line)
    assert 'tools/torch_index.py "http://mirror.example/cpu"' in other


def test_an_index_that_answers_becomes_an_extra_index(index_server: str) -> None:
    done = _probe(index_server)
    assert done.returncode == 0
    assert done.stdout.split() == ["--extra-index-url", index_server]  # extra: PyPI stays for the rest
    assert done.stderr == ""


def test_an_index_that_does_not_answer_adds_nothing_and_says_why() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = _probe(f"http://127.0.0.1:{port}/whl/cpu")
    assert (done.returncode, done.stdout) == (0, "")
    assert f"http://127.0.0.1:{port}/whl/cpu cannot be reached" in done.stderr
    assert "pip's own configuration picks the build" in done.stderr


def test_an_empty_index_adds_nothing_silently() -> None:
    done = _probe("")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def _recipe_env(name: str, env: dict[str, str]) -> str:
    """The value of ``$name`` in the environment of a recipe the Makefile runs (its exports applied)."""
    if shutil.which("make") is None or not (ROOT / "Makefile").is_file():
        pytest.skip("needs make and the project's Makefile (a source checkout)")
    out = subprocess.run(["make", "-s", "--eval", f"show-env: ; @echo \"[$${name}]\"", "show-env"], cwd=ROOT,
                         check=True, capture_output=True, text=True, env=env).stdout
    return out.strip()


def test_make_runs_openmp_threads_with_a_short_spin_unless_the_caller_says_otherwise() -> None:
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    assert _recipe_env("GOMP_SPINCOUNT", base) == "[10000]"  # make demo / make test: spin briefly, then sleep
    assert _recipe_env("GOMP_SPINCOUNT", {**base, "GOMP_SPINCOUNT": "300000"}) == "[300000]"
    assert _recipe_env("OMP_WAIT_POLICY", base) == "[]"  # PASSIVE (no spin) stays the caller's choice
    assert _recipe_env("MALLOC_MMAP_MAX_", base) == "[0]"
