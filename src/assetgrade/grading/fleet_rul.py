"""A fleet's remaining-life model for the sensors extractor: read histories, train, save, load.

A workspace's assets are usually live: their sensor histories stop before any failure. What
teaches a remaining-life model is the fleet's *past*: units that ran to failure, or whose
recording stopped some known number of cycles (hours...) before a failure that was logged later.
:func:`read_fleet_histories` reads such histories from a folder, one series file per unit, with
the same reader and checks as ``assetgrade ingest series`` (so the frames look exactly like the
store's), plus an optional CSV ``file,end_rul`` giving the life left after each file's last row
(files it does not list ran to failure). A file that fails the checks (unreadable, too short,
time stamps out of order...) is named and left out; the channels are those usable in more than
half of the readable files (:func:`~assetgrade.modalities.sensors.health.majority_columns`:
the choice does not depend on which file sorts first), the others are named and dropped, and a
file lacking one of them is named and left out. :func:`fit_fleet_rul` trains a
:class:`~assetgrade.modalities.sensors.health.RulModel`; :func:`save_fleet_rul` writes it as a
bundle (``rul_model.pkl`` + ``bundle.json`` with the pickle's sha256), which the Grader loads
when its sensors settings name it (``extractor_settings: {sensors: {rul_model: PATH}}``).

Histories of the very assets being graded must not be in the fleet: a model that has seen an
asset's own future grades it too well (the linked benchmark trains on other engines; fusion.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from assetgrade.errors import AssetgradeError, NotFoundError, ValidationError
from assetgrade.grading.bundle import INFO_NAME, load_bundle, save_bundle
from assetgrade.modalities.sensors.health import MIN_HISTORY_LENGTH, RulModel, majority_columns
from assetgrade.modalities.sensors.validate import check_series

if TYPE_CHECKING:
    from assetgrade.store.records import AssetRecord

__all__ = [
    "RUL_BUNDLE_KIND",
    "RUL_PICKLE",
    "SERIES_SUFFIXES",
    "FleetHistories",
    "fit_fleet_rul",
    "load_fleet_rul",
    "read_fleet_histories",
    "rul_channel_gaps",
    "save_fleet_rul",
    "series_files",
]

RUL_PICKLE = "rul_model.pkl"
RUL_BUNDLE_KIND = "rul-model"
SERIES_SUFFIXES = (".csv", ".tsv", ".parquet")
"""The files :func:`read_fleet_histories` reads as histories (directly in its folder, one unit each)."""


def series_files(folder: Path, *, where: str = "folder") -> list[Path]:
    """The series files directly in ``folder`` (sorted); none is bad input (ValidationError naming ``where``).

    The message names the folder, what it holds instead, the suffixes looked for and any
    sub-folder that holds series files (sub-folders are not searched), the likely mistake.
    """
    entries = sorted(Path(folder).iterdir())
    files = [p for p in entries if p.is_file() and p.suffix.lower() in SERIES_SUFFIXES]
    if files:
        return files
    looked = (f"looked for {', '.join(SERIES_SUFFIXES[:-1])} or {SERIES_SUFFIXES[-1]} files (one unit each) "
              "directly in it")
    if not entries:
        raise ValidationError(f"{folder} is empty; {looked}", where=where)
    n_files = sum(1 for p in entries if p.is_file())
    below = [sub.name for sub in entries if sub.is_dir() and _holds_series(sub)]
    hint = f"; sub-folders are not searched, and series files are in: {', '.join(below)}" if below else ""
    raise ValidationError(f"no series file in {folder} ({n_files} other file(s), {len(entries) - n_files} "
                          f"sub-folder(s)); {looked}{hint}", where=where)


def _holds_series(folder: Path) -> bool:
    try:
        return any(p.is_file() and p.suffix.lower() in SERIES_SUFFIXES for p in folder.iterdir())
    except OSError:  # a sub-folder we may not list is only a hint's worth
        return False


@dataclass(frozen=True)
class FleetHistories:
    """Histories read from a folder: frames in file-name order, the life left after each, what was left out.

    ``errors`` names each file or ``end_rul`` row left out and each channel dropped (also listed
    in ``dropped_channels``); every frame has the same channels.
    """

    names: list[str]
    frames: list[pd.DataFrame]
    end_rul: list[float]
    errors: list[str] = field(default_factory=list)
    dropped_channels: list[str] = field(default_factory=list)


def _read_end_rul(path: Path, names: set[str]) -> tuple[dict[str, float], list[str], set[str]]:
    """``file -> end_rul`` from the CSV, the errors (each naming its row) and the files whose row was bad.

    A file listed twice with different values is bad (which one holds is unknown); listed twice
    with the same value, the second row is only reported.
    """
    from assetgrade.ingest.inputs import CsvRow, read_csv_rows

    _header, rows = read_csv_rows(path, required=("file", "end_rul"))
    out: dict[str, float] = {}
    errors: list[str] = []
    bad: set[str] = set()
    twice: dict[str, float] = {}
    for row in rows:
        if not isinstance(row, CsvRow):
            errors.append(f"{path}:row {row[0]}: {row[1]}")
            continue
        where = f"{path}:row {row.line}"
        name, raw = row.values["file"], row.values["end_rul"]
        try:
            value = float(raw)
        except ValueError:
            errors.append(f"{where}: end_rul {raw!r} is not a number")
            bad.add(name)
            continue
        if not math.isfinite(value) or value < 0:
            errors.append(f"{where}: end_rul {raw!r} must be a finite number >= 0")
            bad.add(name)
        elif name not in names:
            errors.append(f"{where}: no series file {name!r} in the folder")
        elif name in out or name in twice:
            first = out[name] if name in out else twice[name]
            if first == value:
                errors.append(f"{where}: {name!r} is listed twice (same end_rul {raw}; this row ignored)")
            else:
                errors.append(f"{where}: {name!r} is listed twice with different end_rul ({first:g} and {value:g})")
                twice[name] = out.pop(name, first)
                bad.add(name)
        else:
            out[name] = value
    return out, errors, bad


def read_fleet_histories(folder: Path, *, end_rul_csv: Path | None = None, time_col: str | None = None,
                         repair: bool = False, numeric_time: str = "auto") -> FleetHistories:
    """Every ``.csv``/``.tsv``/``.parquet`` file of ``folder`` as one history (see the module docstring).

    A file that fails the series checks is skipped and named in ``errors``; so is a bad row of
    ``end_rul_csv``, whose file is then left out too (its remaining life is unknown). The frames
    keep the columns usable in more than half of the files read; a channel usable in fewer is
    dropped (named in ``errors`` and ``dropped_channels``), and a file lacking one of the kept
    channels, or where it fails the checks, is left out, naming the channel and why.

    Raises
    ------
    NotFoundError
        ``folder`` (or ``end_rul_csv``) does not exist.
    ValidationError
        ``folder`` holds no series file (:func:`series_files`), or no channel is usable in more than half
        of the files read.
    """
    from assetgrade.ingest.series import SeriesOptions, series_to_parquet
    from assetgrade.store.loading import read_series_parquet

    folder = Path(folder)
    if not folder.is_dir():
        raise NotFoundError(f"no folder {folder}")
    files = series_files(folder)
    ends: dict[str, float] = {}
    errors: list[str] = []
    if end_rul_csv is not None:
        if not Path(end_rul_csv).is_file():
            raise NotFoundError(f"no end_rul file {end_rul_csv}")
        ends, errors, bad = _read_end_rul(Path(end_rul_csv), {p.name for p in files})
        for p in files:
            if p.name in bad and p.name not in ends:
                errors.append(f"{p}: left out, its remaining life is unknown (bad end_rul row)")
        files = [p for p in files if p.name not in bad or p.name in ends]
    opts = SeriesOptions(time_col=time_col, repair=repair, numeric_time=numeric_time)
    read: list[tuple[Path, pd.DataFrame, dict[str, str]]] = []  # file, frame, unusable channel -> why
    for p in files:
        try:
            data, _info = series_to_parquet(p, opts)
            frame = read_series_parquet(data)
            check_series(frame, evidence_id=str(p), channels=[], min_length=MIN_HISTORY_LENGTH)
        except AssetgradeError as exc:
            errors.append(f"{exc} (left out)")
            continue
        read.append((p, frame, _unusable_channels(frame, str(p))))
    usable = [[str(c) for c in f.columns if str(c) not in why] for _p, f, why in read]
    keep, dropped = majority_columns(usable)
    if read and not keep:
        raise ValidationError(f"no channel is usable in more than half of the {len(read)} files read "
                              f"(channels: {dropped})", where=str(folder))
    for c in dropped:
        n = sum(c in u for u in usable)
        errors.append(f"{folder}: channel {c!r} dropped: usable in {n} of {len(read)} files, "
                      "a channel must be usable in more than half")
    names: list[str] = []
    frames: list[pd.DataFrame] = []
    for (p, frame, why), cols in zip(read, usable, strict=True):
        lack = [c for c in keep if c not in cols]
        if lack:
            errors.append(f"{p}: left out, it lacks channel(s) most files have: "
                          + "; ".join(f"{c} ({why.get(c, 'missing')})" for c in lack))
            continue
        names.append(p.name)
        frames.append(frame[keep])
    return FleetHistories(names, frames, [ends.get(n, 0.0) for n in names], errors, dropped)


def _unusable_channels(frame: pd.DataFrame, where: str) -> dict[str, str]:
    """Channel -> why, for each channel of ``frame`` that fails the series checks.

    The checks of one channel do not depend on the others (the frame's own, length and time stamps, apply
    to each alike), so a frame that passes them with every channel at once has none unusable: one check
    instead of one per channel (24 per C-MAPSS file), and the per-channel reasons only when one fails.
    """
    try:
        check_series(frame, evidence_id=where, channels=[str(c) for c in frame.columns], min_length=MIN_HISTORY_LENGTH)
    except ValidationError:
        pass
    else:
        return {}
    out: dict[str, str] = {}
    for c in frame.columns:
        try:
            check_series(frame, evidence_id=where, channels=[str(c)], min_length=MIN_HISTORY_LENGTH)
        except ValidationError as exc:
            out[str(c)] = exc.reason
    return out


def fit_fleet_rul(histories: FleetHistories, *, progress: Callable[[str], None] | None = None,
                  **settings: Any) -> RulModel:
    """A :class:`RulModel` (``settings``: its keyword arguments) trained on the histories and their ``end_rul``."""
    try:
        model = RulModel(**settings)
    except TypeError as exc:
        raise ValidationError(f"bad RUL model settings: {exc}", where="RulModel") from exc
    return model.fit(histories.frames, end_rul=histories.end_rul, names=histories.names, progress=progress)


def save_fleet_rul(model: RulModel, path: Path, *, histories: FleetHistories | None = None) -> Path:
    """Write the model as a bundle folder (``rul_model.pkl`` + ``bundle.json``) and return the folder."""
    if not hasattr(model, "point_"):
        raise ValidationError("the RUL model is not fitted", where="save_fleet_rul")
    info: dict[str, Any] = {
        "kind": RUL_BUNDLE_KIND,
        "model": repr(model),
        "cap": model.cap,
        "coverage": model.coverage,
        "channels": list(model.channels_),
        "dropped_channels": [*(histories.dropped_channels if histories else []), *model.dropped_channels_],
        "settings": list(model.settings_),
        "n_histories": model.n_histories_,
        "fingerprint": model.fingerprint_,
    }
    trained = getattr(model, "row_time_", None)
    if trained is not None:  # what one row meant: a series whose rows mean another time gets no remaining life
        info["row_time"] = {"kind": trained.kind, "step": trained.step, "step_text": trained.describe()}
    if histories is not None:
        info["files"] = histories.names
        info["end_rul"] = histories.end_rul
        info["skipped"] = histories.errors
    return save_bundle(model, info, Path(path), pickle_name=RUL_PICKLE)


def load_fleet_rul(path: Path) -> RulModel:
    """The RUL model saved by :func:`save_fleet_rul` (the pickle's hash checked first)."""
    path = Path(path)
    if not (path / INFO_NAME).exists():
        raise NotFoundError(f"no saved RUL model at {path.resolve()} ({INFO_NAME} missing); "
                            "run: assetgrade sensors fit-rul")
    obj, info = load_bundle(path, pickle_name=RUL_PICKLE)
    if info.get("kind") != RUL_BUNDLE_KIND or not isinstance(obj, RulModel):
        raise ValidationError(f"{path} holds a {info.get('kind', type(obj).__name__)!r} bundle, not a RUL model",
                              where="rul_model")
    return obj


def rul_channel_gaps(model: RulModel, records: Sequence[AssetRecord]) -> dict[str, list[str]]:
    """Asset id -> the columns ``model`` needs that the asset's series lacks (the first series, as the extractor reads).

    Records without a series, or whose series cannot be read, are not listed (the sensors
    extractor flags those itself). A series missing a column gets no RUL, so the extractor
    leaves that asset absent; when every series misses one, it cannot be fitted at all.
    """
    need = model.required_columns()
    gaps: dict[str, list[str]] = {}
    for r in records:
        if not r.series:
            continue
        try:
            columns = {str(c) for c in r.series[0].load().columns}
        except (AssetgradeError, OSError, ValueError, AttributeError):
            continue
        lacking = [c for c in need if c not in columns]
        if lacking:
            gaps[r.asset_id] = lacking
    return gaps
