"""Where the shared real data sets are: ``$ASSETGRADE_DATA`` or ``../shared/data`` from the project root."""

from __future__ import annotations

import os
from pathlib import Path

from assetgrade.errors import NotFoundError

__all__ = ["LAYOUTS", "dataset_dir", "shared_data_dir"]

LAYOUTS: dict[str, str] = {
    "cmapss": "train_FDxxx.txt, test_FDxxx.txt and RUL_FDxxx.txt (plain or .gz)",
    "neu-det": "images/<class>/*.jpg (6 class folders) and annotations/*.xml",
    "maintie": "data/gold_release.json",
    "maintnorm": "train.norm, val.norm and test.norm (directly, under <subset>/ or under data/<subset>/)",
    "excavator-work-orders": "excavators.csv and excavators-cleaned.csv",
}
"""What each shared data set's folder holds, for the messages that cannot find it."""


def _candidates() -> list[Path]:
    """Where the shared data folder is looked for without ``$ASSETGRADE_DATA``, first found wins."""
    here = Path.cwd()
    repo_root = Path(__file__).resolve().parents[3]
    return [here / ".." / "shared" / "data", here / "shared" / "data", repo_root / ".." / "shared" / "data"]


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
    for c in _candidates():
        if c.is_dir():
            return c.resolve()
    return None


def dataset_dir(name: str, data_dir: Path | None = None) -> Path:
    """The folder of data set ``name`` (``data_dir`` wins when given).

    When absent, the error names the folder (or the places looked at), the data set and what its
    folder holds (:data:`LAYOUTS`).
    """
    holds = f" (it holds {LAYOUTS[name]})" if name in LAYOUTS else ""
    if data_dir is not None:
        if not data_dir.exists():
            raise NotFoundError(f"{name} data folder {data_dir} does not exist{holds}")
        return data_dir
    root = shared_data_dir()
    if root is None:
        looked = ", ".join(str(c.resolve()) for c in _candidates())
        raise NotFoundError(f"data set {name!r} not found: no shared data folder ({looked}); pass --data-dir, or set "
                            f"ASSETGRADE_DATA to the folder holding {name}/{holds}")
    if not (root / name).exists():
        origin = " (from ASSETGRADE_DATA)" if os.environ.get("ASSETGRADE_DATA") else ""
        raise NotFoundError(f"data set {name!r} not found: no {name}/ in {root}{origin}; pass --data-dir, or add "
                            f"{name}/ there{holds}")
    return root / name
