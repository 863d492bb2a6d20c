"""The evidence ids the rows of one ingest run gave, and the first row to give each, kept on disk for the run.

An input may give one evidence id on two rows (a manifest's ``evidence_id`` given twice, one file name in two
folders): the writer keeps the first row and refuses a later one with other content or another asset, naming
both rows, whichever row groups they are in (:func:`~assetgrade.ingest.preparation._mark_existing`). So the run
keeps, for each id its rows gave, the first row's content hash, asset and place (``m.csv:row 2``). In a dict
that took several hundred bytes of memory per row (docs/ingest.md, "Duplicates", with the command that
measures it); :class:`Claims` keeps them in a private temporary SQLite database instead: a file in the
temporary folder (:func:`temp_folder`: ``TMPDIR``), whose page cache (2 MiB) bounds the memory. The rows
are appended to a table; an index on an 8-byte digest of the id (small, so it stays mostly in the cache; a
primary key on the id itself made each insert about twice as slow) finds them, one query per row group, and
the ids are compared whole, so two ids of one digest are still two ids.

The file is made by :meth:`Claims.open` (the writer calls it before it records the batch, so a temporary folder
that cannot take the file stops the run with nothing written) and removed from its folder as soon as it is made
(POSIX keeps an open file until it is closed, and SQLite without a journal writes it all the same): a killed run
leaves nothing behind, and nothing can remove it mid-run. A write that fails later (the disk full) is a
:class:`~assetgrade.errors.StoreError` naming the file and the input, raised before the row group that met it
is written, so the store holds whole row groups only.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assetgrade.errors import StoreError

__all__ = ["Claim", "Claims", "temp_folder"]

_CHUNK = 500  # ids per query (SQLite's bound-parameter limit)
_CACHE_KIB = 2048
_PREFIX = "assetgrade-claims-"


def temp_folder() -> Path:
    """The folder of the claims database: ``TMPDIR`` when it is set, else Python's temporary folder.

    A ``TMPDIR`` that cannot take the file is an error, not a reason to use another folder (Python and SQLite
    both fall back to ``/tmp`` or ``/var/tmp``): it is set to keep large temporary files off a small disk.
    """
    return Path(os.environ.get("TMPDIR") or tempfile.gettempdir())


@dataclass(frozen=True, slots=True)
class Claim:
    """One row's evidence id, content hash (sha256), asset, and where it is (named in a refusal)."""

    evidence_id: str
    sha: str
    asset_id: str
    where: str


class Claims:
    """The first row of one run to give each evidence id.

    Parameters
    ----------
    source
        The input the ids come from (its file or folder), named in an error.

    Examples
    --------
    >>> claims = Claims(source="m.csv")
    >>> a, b = Claim("E1", "aa", "p", "m.csv:row 2"), Claim("E1", "bb", "p", "m.csv:row 3")
    >>> [c.where for c in claims.first([a])], [c.where for c in claims.first([b, Claim("E2", "cc", "p", "row 4")])]
    (['m.csv:row 2'], ['m.csv:row 2', 'row 4'])
    >>> len(claims)
    2
    >>> claims.close()
    """

    def __init__(self, *, source: str = "") -> None:
        self.source = source
        self.path: Path | None = None
        """The temporary database while it is open (removed from its folder already where the system allows)."""
        self._db: sqlite3.Connection | None = None
        self._count = 0
        self._linked = False  # the file is still in its folder (a system that cannot remove an open file)

    def __len__(self) -> int:
        return self._count

    def open(self) -> None:
        """Make the temporary database now, if it is not open (:meth:`first` makes it otherwise).

        StoreError naming the file (or the folder) and the input when the temporary folder cannot take it.
        """
        if self._db is None:
            self._open()

    def first(self, rows: Sequence[Claim]) -> list[Claim]:
        """For each of ``rows`` (one row group, in input order), the first row of the run to give its evidence
        id: itself when no earlier row did, and then it is kept as that id's first row.

        StoreError naming the file and the input when the temporary database cannot be written (its disk full).
        """
        db = self._db or self._open()
        try:
            return self._first(db, rows)
        except sqlite3.Error as exc:
            raise self._error(self.path or temp_folder(), exc) from exc

    def _first(self, db: sqlite3.Connection, rows: Sequence[Claim]) -> list[Claim]:
        ids = {r.evidence_id for r in rows}
        keys = sorted({_key(e) for e in ids})
        known: dict[str, Claim] = {}
        for i in range(0, len(keys), _CHUNK):
            part = keys[i:i + _CHUNK]
            q = f"SELECT id, sha, asset, place FROM claim WHERE k IN ({', '.join('?' * len(part))}) ORDER BY rowid"
            for row in db.execute(q, part):
                e, sha, asset, place = map(_text, row)
                if e in ids:  # not another id of the same digest
                    known[e] = Claim(e, sha, asset, place)
        out: list[Claim] = []
        new: list[tuple[int, bytes, bytes, bytes, bytes]] = []
        for r in rows:
            first = known.setdefault(r.evidence_id, r)
            if first is r:
                new.append((_key(r.evidence_id), _bytes(r.evidence_id), _bytes(r.sha), _bytes(r.asset_id),
                            _bytes(r.where)))
            out.append(first)
        with db:
            db.executemany("INSERT INTO claim VALUES (?, ?, ?, ?, ?)", new)
        self._count += len(new)
        return out

    def _open(self) -> sqlite3.Connection:
        folder = temp_folder()
        try:
            fd, name = tempfile.mkstemp(prefix=_PREFIX, suffix=".sqlite", dir=folder)
        except OSError as exc:
            raise self._error(folder, exc) from exc
        os.close(fd)
        self.path, self._linked = Path(name), True
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(name, check_same_thread=False)
            db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            db.execute("PRAGMA journal_mode = OFF")  # nothing to recover: the database ends with the run
            db.execute("PRAGMA synchronous = OFF")
            db.execute("CREATE TABLE claim (k INTEGER NOT NULL, id BLOB NOT NULL, sha BLOB NOT NULL,"
                       " asset BLOB NOT NULL, place BLOB NOT NULL)")
            db.execute("CREATE INDEX claim_k ON claim (k)")
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            self._unlink()
            raise self._error(Path(name), exc) from exc
        self._unlink()  # open, it stays until closed (POSIX); a killed run leaves nothing
        self._db = db
        return db

    def _unlink(self) -> None:
        if self.path is not None and self._linked:
            try:
                self.path.unlink()
                self._linked = False
            except FileNotFoundError:
                self._linked = False
            except OSError:  # an open file cannot be removed here (Windows): close() removes it
                pass

    def _error(self, path: Path, exc: BaseException) -> StoreError:
        what = "temporary database" if path.name.startswith(_PREFIX) else "temporary folder"
        return StoreError(
            f"{self.source or 'this input'}: cannot keep the evidence ids of its rows in the {what} {path} ({exc});"
            f" it needs about 210 bytes of disk per row of the input in the temporary folder: set TMPDIR to a folder"
            " with room and run the same command again (row groups written before this stay whole, none is half"
            " written)")

    def close(self) -> None:
        """Drop the run's claims (the file goes with them); a later :meth:`first` starts afresh."""
        if self._db is not None:
            self._db.close()
            self._db = None
            self._count = 0
            self._unlink()
            self.path = None


def _key(evidence_id: str) -> int:
    """An 8-byte digest of an evidence id, as SQLite's signed 64-bit integer."""
    return int.from_bytes(hashlib.blake2b(_bytes(evidence_id), digest_size=8).digest(), "little", signed=True)


def _bytes(text: str) -> bytes:
    """Text as stored: UTF-8 that keeps a lone surrogate (a file name that is no UTF-8 holds one), which SQLite's
    text type refuses."""
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")
