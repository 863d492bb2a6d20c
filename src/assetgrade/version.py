"""The package's version, and the git commit of the checkout it runs from (None when installed from a wheel)."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = ["__version__", "git_commit"]

__version__ = "0.1.0"


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The git commit of the checkout this package runs from, or None (installed from a wheel, no git)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else None
