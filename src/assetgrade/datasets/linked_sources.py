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

from assetgrade.datasets.cmapss import load_cmapss, read_cmapss_table, unit_histories
from assetgrade.datasets.elpv import ELPV_CLASSES, load_elpv
from assetgrade.datasets.image_folder import LabelledImages
from assetgrade.datasets.linked_rubric import maintie_severity
from assetgrade.datasets.maintie import load_maintie_items
from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import ValidationError

__all__ = ["FLEET_RUL_CAP", "SAMPLES_DIR", "elpv_table", "load_sources", "make_samples", "sample_fleet"]

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLE_CMAPSS = "cmapss_train_FD001_sample.txt.gz"
SAMPLE_MAINTIE = "maintie_gold_sample.json"
SAMPLE_FLEET = "cmapss_test_FD001_sample.txt.gz"
SAMPLE_FLEET_RUL = "cmapss_RUL_FD001_sample.txt"
FLEET_RUL_CAP = 150.0
"""Cap of a fleet RUL model's target for these assets: above the rubric's highest band edge (125 cycles)."""


def elpv_table() -> tuple[LabelledImages, pd.DataFrame]:
    """The ELPV package's cells (:func:`~assetgrade.datasets.elpv.load_elpv`) and their labels as a table.

    Row ``i`` of the table (path under the package's data folder, defect probability, cell type,
    level 0..3) is ``refs[i]`` of the cells.
    """
    cells = load_elpv()
    frame = pd.DataFrame(
        {
            "path": [str(a["file"]) for a in cells.attributes],
            "probability": np.array([a["defect_probability"] for a in cells.attributes], dtype=np.float64),
            "type": [str(a["cell_type"]) for a in cells.attributes],
            "level": np.array([ELPV_CLASSES.index(lab) for lab in cells.labels], dtype=np.int64),
        }
    )
    return cells, frame


def load_sources(
    source: str, data_dir: Path | None, subsets: Sequence[str]
) -> tuple[dict[tuple[str, int], pd.DataFrame], list[dict[str, Any]]]:
    """C-MAPSS training units by (subset, unit) and the MaintIE texts, from ``source`` (``shared`` or ``sample``).

    ``shared`` reads them with :func:`~assetgrade.datasets.cmapss.load_cmapss` (a sub-set's train,
    test and RUL files) and :func:`~assetgrade.datasets.maintie.load_maintie_items`, whose checks
    (layout, byte-order mark, cycle gaps, malformed texts) name the file.
    """
    units: dict[tuple[str, int], pd.DataFrame] = {}
    if source == "sample":
        tables = {"FD001": read_cmapss_table(SAMPLES_DIR / SAMPLE_CMAPSS)}
        texts = load_maintie_items(SAMPLES_DIR / SAMPLE_MAINTIE)
    elif source == "shared":
        cm = dataset_dir("cmapss", None if data_dir is None else data_dir / "cmapss")
        tables = {sub: load_cmapss(sub, cm).train for sub in subsets}
        texts = load_maintie_items(dataset_dir("maintie", None if data_dir is None else data_dir / "maintie"))
    else:
        raise ValidationError(f"source={source!r}; allowed: 'shared', 'sample'", where="source")
    for sub, table in tables.items():
        for u, frame in table.groupby("unit"):
            units[(sub, int(u))] = frame.reset_index(drop=True)  # type: ignore[call-overload]
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
    texts = load_maintie_items(dataset_dir("maintie", None if data_dir is None else data_dir / "maintie"))
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
