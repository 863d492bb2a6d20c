"""Where the shared real data sets are: ``$ASSETGRADE_DATA`` or ``../shared/data`` from the project root."""

from __future__ import annotations

import os
from pathlib import Path

from assetgrade.errors import NotFoundError

__all__ = ["dataset_dir", "shared_data_dir"]


def shared_data_dir() -> Path | None:
    """The shared data folder, or None when it is absent.

    ``$ASSETGRADE_DATA``, when set, is the only place looked at: a value that is not a folder is
    an error naming it (never a silent fall-back to ``../shared/data``).
    """
    env = os.environ.get("ASSETGRADE_DATA")
    if env:
        if not Path(env).is_dir():
            raise NotFoundError(f"ASSETGRADE_DATA={env!r} is not a folder; point it to the folder holding the data "
                                "sets, or unset it to use ../shared/data")
        return Path(env).resolve()
    here = Path.cwd()
    candidates = [here / ".." / "shared" / "data", here / "shared" / "data"]
    repo_root = Path(__file__).resolve().parents[3]
    candidates.append(repo_root / ".." / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def dataset_dir(name: str, data_dir: Path | None = None) -> Path:
    """The folder of data set ``name`` (``data_dir`` wins when given); a clear error when absent."""
    if data_dir is not None:
        if not data_dir.exists():
            raise NotFoundError(f"data folder {data_dir} does not exist")
        return data_dir
    root = shared_data_dir()
    if root is None or not (root / name).exists():
        raise NotFoundError(
            f"data set {name!r} not found: pass --data-dir, or set ASSETGRADE_DATA to the folder holding {name}/"
        )
    return root / name
