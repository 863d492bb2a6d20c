"""Peak memory and speed of the series reader on a seeded synthetic CSV (``assetgrade bench series-ingest``)."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assetgrade.errors import ValidationError

__all__ = ["LAYOUTS", "PeakMeter", "measure_series_read", "read_and_measure", "write_series_csv"]

LAYOUTS = ("iso", "numeric", "short")
"""``iso``: ISO timestamps (ms) and six channels of 4 decimals; ``numeric``: a rising numeric time (0.1 steps) and
the same channels; ``short``: a rising integer time and six channels of 4-character cells (``53.2``)."""

_CHANNELS = list("abcdef")
_BLOCK = 10_000  # rows generated and written at a time: the file is never held whole
_BAD_CHANNEL = "d"
_BAD_TEXT = "ERR"


def write_series_csv(path: Path, size_mib: float, layout: str, *, seed: int = 0, bad_cell_row: int | None = None,
                     ) -> int:
    """Write a series CSV of at least ``size_mib`` MiB (whole blocks of 10,000 rows) and return its data rows.

    ``bad_cell_row`` (0-based data row) holds ``ERR`` in channel ``d``; that row is on file line
    ``bad_cell_row + 2`` (one header line).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "s.csv"
    ...     (write_series_csv(p, 0.1, "short"), p.read_text().splitlines()[:2])
    (10000, ['time,a,b,c,d,e,f', '0,67.3,34.3,13.7,11.5,83.1,92.1'])
    """
    if layout not in LAYOUTS:
        raise ValidationError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}", where="--layout")
    if not size_mib > 0:
        raise ValidationError(f"size {size_mib} MiB is not above 0", where="--size-mib")
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-01-01T00:00:00", "ms")
    rows = 0
    with path.open("w", encoding="ascii", newline="") as out:
        out.write("time," + ",".join(_CHANNELS) + "\n")
        while out.tell() < size_mib * 2**20:
            idx = np.arange(rows, rows + _BLOCK)
            if layout == "short":
                cells = np.char.mod("%.1f", rng.uniform(10.0, 99.94, size=(_BLOCK, 6)))
                times = idx.astype(str)
            else:
                cells = np.char.mod("%.4f", rng.normal(50.0, 10.0, size=(_BLOCK, 6)))
                times = (t0 + idx * 100).astype(str) if layout == "iso" else np.char.mod("%.1f", idx * 0.1)
            block = pd.DataFrame(cells, columns=_CHANNELS)
            if bad_cell_row is not None and rows <= bad_cell_row < rows + _BLOCK:
                block.loc[bad_cell_row - rows, _BAD_CHANNEL] = _BAD_TEXT
            block.insert(0, "time", times)
            out.write(block.to_csv(index=False, header=False, lineterminator="\n"))
            rows += _BLOCK
    if bad_cell_row is not None and not 0 <= bad_cell_row < rows:
        raise ValidationError(f"bad cell row {bad_cell_row} is outside the file's {rows} data rows (0 to "
                              f"{rows - 1}); pass a smaller row or a larger --size-mib", where="--bad-cell-row")
    return rows


class PeakMeter:
    """Peak RSS growth of this process over a baseline.

    On Linux the kernel's high-water mark is reset (``/proc/self/clear_refs`` ``5``) and ``VmHWM`` read from
    ``/proc/self/status``; elsewhere ``ru_maxrss`` is used, whose peak is the process's since it started, so a
    growth under it is a lower bound (``method`` says which).

    Examples
    --------
    >>> m = PeakMeter()
    >>> m.start()
    >>> m.growth_bytes() >= 0
    True
    """

    def __init__(self) -> None:
        self.method = "VmHWM"
        self._base = 0

    @staticmethod
    def _kib(field: str) -> int:
        with Path("/proc/self/status").open() as fh:
            return next(int(v.split()[1]) for v in fh if v.startswith(field + ":"))

    @staticmethod
    def _maxrss_bytes() -> int:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux

    def start(self) -> None:
        """Take the baseline: the resident size now (the peak starts again from here where /proc allows)."""
        try:
            with Path("/proc/self/clear_refs").open("w") as fh:
                fh.write("5")
            self._base = self._kib("VmRSS") * 1024
            self.method = "VmHWM"
        except (OSError, StopIteration):
            self._base = self._maxrss_bytes()
            self.method = "ru_maxrss"

    def growth_bytes(self) -> int:
        """Peak resident size since ``start`` minus the baseline."""
        peak = self._kib("VmHWM") * 1024 if self.method == "VmHWM" else self._maxrss_bytes()
        return peak - self._base


def read_and_measure(path: Path) -> dict[str, Any]:
    """Read ``path`` with ``series_items`` in this process; peak RSS growth over the resident size just before
    (pyarrow already loaded), read time, rows read and the errors (file lines and messages)."""
    from assetgrade.ingest import ItemSpec, SeriesOptions, series_items
    from assetgrade.ingest.report import RowError
    from assetgrade.ingest.series import to_parquet_bytes

    to_parquet_bytes(pd.DataFrame({"a": [1.0]}))  # pyarrow loaded before the baseline
    meter = PeakMeter()
    meter.start()
    t = time.perf_counter()
    out = list(series_items([path], SeriesOptions()))
    read_s = time.perf_counter() - t
    grown = meter.growth_bytes()
    items = [x for x in out if isinstance(x, ItemSpec)]
    errors = [x for x in out if isinstance(x, RowError)]
    return {
        "grown_bytes": grown,
        "peak_method": meter.method,
        "read_s": read_s,
        "rows_read": sum(int(x.attributes.get("n_samples", 0)) for x in items),
        "items": len(items),
        "errors": [str(e).replace(str(path), path.name) for e in errors],  # not the deleted folder's name
        "error_rows": [e.row for e in errors],
    }


def measure_series_read(size_mib: float, layout: str, *, seed: int = 0, bad_cell_row: int | None = None,
                        folder: Path | None = None) -> dict[str, Any]:
    """Write the CSV into a temporary folder (deleted after), read it in a fresh Python process (as
    ``assetgrade ingest series`` starts one; what writing the file freed here would hide part of the reader's
    growth) and return the metrics: rows, peak RSS growth (MiB and times the file), read time, MiB/s, errors."""
    scratch = Path(tempfile.mkdtemp(prefix="assetgrade-series-bench-", dir=folder))
    try:
        path = scratch / f"series-{layout}.csv"
        rows = write_series_csv(path, size_mib, layout, seed=seed, bad_cell_row=bad_cell_row)
        size = path.stat().st_size
        run = subprocess.run([sys.executable, "-m", "assetgrade.bench.series_ingest", str(path)],
                             capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if run.returncode != 0:
        raise RuntimeError(f"the series read failed (exit {run.returncode}): {run.stderr.strip()[-2000:]}")
    got = json.loads(run.stdout.strip().splitlines()[-1])
    grown, read_s = got.pop("grown_bytes"), got.pop("read_s")
    return {
        "file_mib": round(size / 2**20, 2),
        "rows": rows,
        "peak_rss_growth_mib": round(grown / 2**20, 1),
        "growth_x_file": round(grown / size, 2),
        "read_s": round(read_s, 3),
        "mib_per_s": round(size / 2**20 / read_s, 2) if read_s > 0 else None,
        **got,
    }


if __name__ == "__main__":  # the child measure_series_read starts: one JSON line
    print(json.dumps(read_and_measure(Path(sys.argv[1]))))
