"""The Makefile's install installs PyTorch's CPU build before the project, so pip keeps it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _planned_install(*assignments: str) -> list[str]:
    """The commands `make install` would run on a fresh clone (`-B`: as if nothing were installed)."""
    if shutil.which("make") is None or not (ROOT / "Makefile").is_file():
        pytest.skip("needs make and the project's Makefile (a source checkout)")
    out = subprocess.run(["make", "-n", "-B", "install", *assignments], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if "pip install" in line]


def test_torch_comes_first_pinned_with_the_cpu_index_and_the_project_after_it() -> None:
    lines = _planned_install()
    torch_at = next(i for i, line in enumerate(lines) if "torch==2.13.0" in line)
    project_at = next(i for i, line in enumerate(lines) if line.endswith("-e ."))
    assert torch_at < project_at
    assert f"--extra-index-url {CPU_INDEX}" in lines[torch_at]
    assert "--index-url" not in lines[torch_at].replace("--extra-index-url", "")  # PyPI stays for the rest


def test_an_empty_torch_index_leaves_pip_to_its_own_configuration() -> None:
    torch_line = next(line for line in _planned_install("TORCH_INDEX=") if "torch==2.13.0" in line)
    assert "index-url" not in torch_line
