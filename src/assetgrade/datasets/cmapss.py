"""Reader of NASA's C-MAPSS turbofan run-to-failure files in their original names and layout.

Each sub-set ``FDxxx`` has three whitespace-separated text files, plain or gzipped:
``train_FDxxx.txt`` (complete run-to-failure histories), ``test_FDxxx.txt`` (histories cut at a
random cycle) and ``RUL_FDxxx.txt`` (the true remaining useful life at the last cycle of each test
unit). The 26 columns are: unit, cycle, three operating settings, 21 sensors (Saxena et al. 2008,
"Damage propagation modeling for aircraft engine run-to-failure simulation", PHM 2008).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from assetgrade.datasets.paths import dataset_dir
from assetgrade.errors import NotFoundError, ValidationError

__all__ = [
    "CMAPSS_COLUMNS",
    "SENSOR_COLUMNS",
    "SETTING_COLUMNS",
    "CmapssSubset",
    "load_cmapss",
    "read_cmapss_table",
    "unit_histories",
]

SETTING_COLUMNS: tuple[str, ...] = ("setting_1", "setting_2", "setting_3")
SENSOR_COLUMNS: tuple[str, ...] = tuple(f"s{i}" for i in range(1, 22))
CMAPSS_COLUMNS: tuple[str, ...] = ("unit", "cycle", *SETTING_COLUMNS, *SENSOR_COLUMNS)
_SUBSET = re.compile(r"^FD\d{3}$")


@dataclass(frozen=True)
class CmapssSubset:
    """One C-MAPSS sub-set: train and test histories and the true RUL of each test unit.

    ``train`` and ``test`` have the columns of :data:`CMAPSS_COLUMNS`, sorted by unit and cycle;
    ``test_rul`` is indexed by test unit id.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"unit": [1, 1], "cycle": [1, 2]})
    >>> s = CmapssSubset("FD001", t, t, pd.Series([5], index=[1]))
    >>> s.n_test_units
    1
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    test_rul: pd.Series

    @property
    def n_test_units(self) -> int:
        """How many test units the sub-set has."""
        return len(self.test_rul)

    def train_histories(self) -> list[pd.DataFrame]:
        """The training units as one cycle-indexed frame each (settings + sensors)."""
        return unit_histories(self.train)

    def test_histories(self) -> list[pd.DataFrame]:
        """The test units as one cycle-indexed frame each, in the order of ``test_rul``."""
        return unit_histories(self.test)


def unit_histories(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """One cycle-indexed frame (settings + sensors) per unit of a :func:`read_cmapss_table` frame, by unit id."""
    out = []
    for _unit, g in frame.groupby("unit", sort=True):
        h = g.drop(columns=["unit"]).set_index("cycle")
        h.index = h.index.astype(float)
        out.append(h)
    return out


def _find(folder: Path, stem: str) -> Path:
    for cand in (folder / f"{stem}.txt", folder / f"{stem}.txt.gz"):
        if cand.exists():
            return cand
    raise NotFoundError(f"{stem}.txt (or .txt.gz) not found in {folder}")


def _read_numbers(path: Path) -> pd.DataFrame:
    """A whitespace-separated file of numbers; whatever pandas, gzip or the decoder raises names the file."""
    try:
        return pd.read_csv(path, sep=r"\s+", header=None, engine="c", dtype=float)
    except pd.errors.EmptyDataError:
        raise ValidationError("file is empty", where=str(path)) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValidationError(f"cannot parse as whitespace-separated numbers: {exc}", where=str(path)) from exc
    except (EOFError, OSError) as exc:  # a truncated or corrupt .gz (gzip.BadGzipFile is an OSError)
        raise ValidationError(f"cannot read (truncated or corrupt file?): {exc}", where=str(path)) from exc


def read_cmapss_table(path: Path) -> pd.DataFrame:
    """One train or test file as a frame with :data:`CMAPSS_COLUMNS`; a bad layout names the file.

    Unit and cycle must be whole numbers, and each unit's cycles must run 1, 2, 3... without a gap
    (the RUL targets count rows, so a missing row would shift every target before it).

    Parameters
    ----------
    path
        ``train_FDxxx.txt`` or ``test_FDxxx.txt``, plain or ``.gz``.
    """
    raw = _read_numbers(path)
    if raw.shape[1] != len(CMAPSS_COLUMNS):
        raise ValidationError(
            f"expected {len(CMAPSS_COLUMNS)} columns (unit, cycle, 3 settings, 21 sensors), found {raw.shape[1]}",
            where=str(path),
        )
    raw.columns = list(CMAPSS_COLUMNS)
    bad = (~np.isfinite(raw.to_numpy())).any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise ValidationError("missing or infinite value", where=f"{path}:row {row}")
    for col in ("unit", "cycle"):
        v = raw[col].to_numpy()
        odd = np.flatnonzero((v != np.round(v)) | (v < 1))
        if odd.size:
            raise ValidationError(f"{col} {v[odd[0]]:g} is not a whole number >= 1",
                                  where=f"{path}:row {int(odd[0]) + 1}")
    raw["unit"] = raw["unit"].astype(int)
    raw["cycle"] = raw["cycle"].astype(int)
    order = np.lexsort((raw["cycle"].to_numpy(), raw["unit"].to_numpy()))  # stable: by unit, then cycle
    line = order + 1  # the file row of each sorted sample
    raw = raw.iloc[order].reset_index(drop=True)
    unit, cycle = raw["unit"].to_numpy(), raw["cycle"].to_numpy()
    first = np.r_[True, unit[1:] != unit[:-1]]
    expected = np.where(first, 1, np.r_[0, cycle[:-1]] + 1)
    wrong = np.flatnonzero(cycle != expected)
    if wrong.size:
        k = int(wrong[0])
        what = ("is duplicated" if not first[k] and cycle[k] == cycle[k - 1]
                else f"follows cycle {cycle[k - 1]}" if not first[k] else "is its first cycle")
        raise ValidationError(f"unit {unit[k]}: cycle {cycle[k]} {what}; cycles must run 1, 2, 3... without a gap",
                              where=f"{path}:row {int(line[k])}")
    return raw


def load_cmapss(subset: str, data_dir: Path | None = None) -> CmapssSubset:
    """Load sub-set ``subset`` (e.g. ``"FD001"``) from ``data_dir`` or the shared ``cmapss/`` folder.

    Raises
    ------
    ValidationError
        The sub-set name is not ``FDxxx``, a file is truncated or not numbers, a unit's cycles have
        a gap, a true RUL is negative or missing, or the files do not fit together (named).
    NotFoundError
        A file is missing.
    """
    subset = subset.upper()
    if not _SUBSET.match(subset):
        raise ValidationError(f"sub-set must look like FD001, got {subset!r}", where="--subset")
    folder = dataset_dir("cmapss", data_dir)
    train = read_cmapss_table(_find(folder, f"train_{subset}"))
    test = read_cmapss_table(_find(folder, f"test_{subset}"))
    rul_path = _find(folder, f"RUL_{subset}")
    rul_raw = _read_numbers(rul_path)
    if rul_raw.shape[1] != 1:
        raise ValidationError(f"expected one column of true RUL, found {rul_raw.shape[1]}", where=str(rul_path))
    rul = rul_raw.iloc[:, 0].to_numpy()
    bad = np.flatnonzero(~np.isfinite(rul) | (rul < 0))
    if bad.size:
        raise ValidationError(f"true RUL {rul[bad[0]]:g} must be a finite number >= 0",
                              where=f"{rul_path}:row {int(bad[0]) + 1}")
    units = np.sort(test["unit"].unique())
    if len(units) != len(rul_raw):
        raise ValidationError(f"{len(rul_raw)} RUL values for {len(units)} test units", where=str(rul_path))
    test_rul = pd.Series(rul, index=units, name="rul")
    return CmapssSubset(subset, train, test, test_rul)
