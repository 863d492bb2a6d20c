"""The public pieces the linked benchmark is built from: ELPV, C-MAPSS and MaintIE, full or as shipped excerpts.

``source="shared"`` reads the full C-MAPSS and MaintIE files from the shared data folder;
``source="sample"`` the excerpts in ``assetgrade/datasets/samples/`` (20 FD001 training units,
public domain; 200 MaintIE texts, MIT licence), written by :func:`make_samples`. ELPV comes from
its package either way. The 100 FD001 *test* units and their true remaining life are shipped too
(:func:`sample_fleet`): never benchmark assets, they stand for a fleet's history of earlier
failures that a remaining-life model learns from.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.datasets.cmapss import read_cmapss_table, unit_histories
from assetgrade.datasets.linked_rubric import maintie_severity
from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import NotFoundError, ValidationError

__all__ = ["FLEET_RUL_CAP", "SAMPLES_DIR", "elpv_table", "load_sources", "make_samples", "sample_fleet"]

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLE_CMAPSS = "cmapss_train_FD001_sample.txt.gz"
SAMPLE_MAINTIE = "maintie_gold_sample.json"
SAMPLE_FLEET = "cmapss_test_FD001_sample.txt.gz"
SAMPLE_FLEET_RUL = "cmapss_RUL_FD001_sample.txt"
FLEET_RUL_CAP = 150.0
"""Cap of a fleet RUL model's target for these assets: above the rubric's highest band edge (125 cycles)."""


def elpv_table() -> tuple[Path, pd.DataFrame]:
    """The ELPV package's image folder and its labels (path, defect probability, cell type, level 0..3)."""
    try:
        import elpv_dataset
    except ImportError as exc:  # pragma: no cover - a base dependency
        raise NotFoundError("the elpv-dataset package is not installed: pip install elpv-dataset") from exc
    root = Path(elpv_dataset.__file__).resolve().parent / "data"
    labels = root / "labels.csv"
    if not labels.exists():
        raise NotFoundError(f"ELPV labels not found at {labels}")
    data = np.genfromtxt(labels, dtype=["|S19", "<f8", "|S4"], names=["path", "probability", "type"])
    frame = pd.DataFrame(
        {
            "path": np.char.decode(data["path"]),
            "probability": data["probability"],
            "type": np.char.decode(data["type"]),
        }
    )
    frame["level"] = np.rint(frame["probability"] * 3).astype(int)
    return root, frame


def load_sources(
    source: str, data_dir: Path | None, subsets: Sequence[str]
) -> tuple[dict[tuple[str, int], pd.DataFrame], list[dict[str, Any]]]:
    """C-MAPSS training units by (subset, unit) and the MaintIE texts, from ``source`` (``shared`` or ``sample``)."""
    units: dict[tuple[str, int], pd.DataFrame] = {}
    if source == "sample":
        table = read_cmapss_table(SAMPLES_DIR / SAMPLE_CMAPSS)
        for u, frame in table.groupby("unit"):
            units[("FD001", int(u))] = frame.reset_index(drop=True)  # type: ignore[call-overload]
        texts = json.loads((SAMPLES_DIR / SAMPLE_MAINTIE).read_text(encoding="utf-8"))
    elif source == "shared":
        cm = dataset_dir("cmapss", None if data_dir is None else data_dir / "cmapss")
        for sub in subsets:
            path = next((p for p in (cm / f"train_{sub}.txt.gz", cm / f"train_{sub}.txt") if p.exists()), None)
            if path is None:
                raise NotFoundError(f"C-MAPSS train_{sub}.txt(.gz) not found in {cm}")
            table = read_cmapss_table(path)
            for u, frame in table.groupby("unit"):
                units[(sub, int(u))] = frame.reset_index(drop=True)  # type: ignore[call-overload]
        mi = dataset_dir("maintie", None if data_dir is None else data_dir / "maintie")
        texts = json.loads((mi / "data" / "gold_release.json").read_text(encoding="utf-8"))
    else:
        raise ValidationError(f"source={source!r}; allowed: 'shared', 'sample'", where="source")
    return units, texts


def _write_cmapss_rows(part: pd.DataFrame, path: Path) -> None:
    """C-MAPSS rows in their original whitespace layout, gzipped reproducibly (no time stamp)."""
    buf = io.StringIO()
    for row in part.itertuples(index=False):
        vals = [str(int(row[0])), str(int(row[1]))] + [repr(float(x)) for x in row[2:]]
        buf.write(" ".join(vals) + "\n")
    with gzip.GzipFile(path, "wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode("ascii"))


def sample_fleet() -> tuple[list[pd.DataFrame], list[float]]:
    """The shipped fleet: each FD001 test unit's history (cycle-indexed) and the true RUL after its last cycle.

    These engines are never assets of the linked benchmark or the demo (both cut *training* units),
    so a remaining-life model trained on them has not seen any graded asset's future.
    """
    table = read_cmapss_table(SAMPLES_DIR / SAMPLE_FLEET)
    rul_path = SAMPLES_DIR / SAMPLE_FLEET_RUL
    rul = [float(v) for v in rul_path.read_text(encoding="ascii").split()]
    histories = unit_histories(table)
    if len(rul) != len(histories):
        raise ValidationError(f"{len(rul)} RUL values for {len(histories)} units", where=str(rul_path))
    return histories, rul


def make_samples(
    data_dir: Path | None = None,
    out_dir: Path = SAMPLES_DIR,
    *,
    n_units: int = 20,
    n_texts: int = 200,
    n_fleet_units: int = 100,
    seed: int = 0,
) -> list[Path]:
    """Write the shipped excerpts from the shared data (maintainers only): C-MAPSS units + MaintIE texts.

    ``n_units`` FD001 training units (the assets' histories), the first ``n_fleet_units`` FD001 test
    units with their true RUL (the fleet, :func:`sample_fleet`), ``n_texts`` MaintIE texts.
    """
    from assetgrade.datasets.cmapss import load_cmapss

    rng = np.random.default_rng(seed)
    cm = dataset_dir("cmapss", None if data_dir is None else data_dir / "cmapss")
    sub = load_cmapss("FD001", cm)
    table = sub.train
    keep_units = sorted(int(u) for u in table["unit"].unique())[:n_units]
    out_dir.mkdir(parents=True, exist_ok=True)
    cpath = out_dir / SAMPLE_CMAPSS
    _write_cmapss_rows(table[table["unit"].isin(keep_units)], cpath)
    fleet_units = [int(u) for u in sub.test_rul.index[:n_fleet_units]]
    fpath = out_dir / SAMPLE_FLEET
    _write_cmapss_rows(sub.test[sub.test["unit"].isin(fleet_units)], fpath)
    rpath = out_dir / SAMPLE_FLEET_RUL
    rpath.write_text("".join(f"{int(sub.test_rul[u])}\n" for u in fleet_units), encoding="ascii")
    mi = dataset_dir("maintie", None if data_dir is None else data_dir / "maintie")
    texts = json.loads((mi / "data" / "gold_release.json").read_text(encoding="utf-8"))
    sev = np.array([maintie_severity(t) for t in texts])
    share = {0: n_texts // 2, 1: n_texts // 4, 2: n_texts - n_texts // 2 - n_texts // 4}
    idx: list[int] = []
    for lv, k in share.items():
        pool = np.flatnonzero(sev == lv)
        idx += sorted(rng.choice(pool, size=min(k, len(pool)), replace=False).tolist())
    sample = [
        {
            "text": texts[i]["text"],
            "tokens": texts[i]["tokens"],
            "entities": texts[i]["entities"],
            "gold_release_index": i,
        }
        for i in sorted(idx)
    ]
    mpath = out_dir / SAMPLE_MAINTIE
    mpath.write_text(json.dumps(sample, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return [cpath, fpath, rpath, mpath]
