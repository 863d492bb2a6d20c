"""How sensor series files are read (:class:`SeriesOptions`) and which column holds their time."""

from __future__ import annotations

from dataclasses import dataclass, field

from assetgrade.errors import IngestError

__all__ = ["NUMERIC_TIME", "SeriesOptions"]

_TIME_NAMES = ("timestamp", "time", "datetime", "date", "t", "cycle")

NUMERIC_TIME = ("auto", "number")
"""The ways of reading a numeric time column (:attr:`SeriesOptions.numeric_time`)."""


@dataclass(frozen=True)
class SeriesOptions:
    """How to read and check series files.

    Examples
    --------
    >>> SeriesOptions(units={"temp": "degC"}, repair=True).repair
    True
    """

    time_col: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    repair: bool = False
    max_gap: int | None = None
    asset_col: str | None = None
    encoding: str | None = None
    max_bytes: int = 512 * 1024 * 1024
    """Largest series file read (it is read whole: a CSV's channels are parsed as numbers, and its peak memory was
    about 4 times the file at 100 MiB of ISO timestamps and six channels, 7 at 18 MiB, 8-9 for 16 MiB of 4-character
    cells, 8 to 12 before; measured 2026-12-02, docs/ingest.md, Performance; test_series_numeric_read.py)."""
    numeric_time: str = "auto"
    """How a numeric time column is read: ``"auto"`` takes one whose every value lies between 2000 and
    2100 counted in s, ms, us or ns since 1970 as Unix time (stored as UTC datetimes, with a notice);
    ``"number"`` keeps it as plain numbers (cycles, or time since power-on that happens to fall in
    that range)."""

    def __post_init__(self) -> None:
        if self.numeric_time not in NUMERIC_TIME:
            raise IngestError(f"numeric time must be one of {', '.join(NUMERIC_TIME)}, not {self.numeric_time!r}",
                              where="--numeric-time")


def _time_column(cols: list[str], opts: SeriesOptions) -> str:
    """``opts.time_col``, else the first column named like time, else the first column that is not the asset's."""
    if opts.time_col:
        return opts.time_col
    rest = [c for c in cols if c != opts.asset_col] or cols
    return next((c for c in rest if c.lower() in _TIME_NAMES), rest[0])
