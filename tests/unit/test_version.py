"""The code version stamped on bundles and benchmark reports names the commit of the code that runs, or none."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from assetgrade.version import commit_of


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def test_a_checkout_gives_its_commit_and_an_installed_copy_inside_one_gives_none(tmp_path: Path) -> None:
    try:
        _git(tmp_path, "init", "-q")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not installed")
    pkg = tmp_path / "src" / "assetgrade"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "x")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert commit_of(pkg) == head  # running from the checkout (an editable install)
    installed = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "assetgrade"
    installed.mkdir(parents=True)
    assert commit_of(installed) is None  # a venv inside the project: its commit says nothing about this copy
