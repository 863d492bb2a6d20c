"""The evidence ids the rows of one ingest run gave, and the first row to give each, kept on disk for the run.

An input may give one evidence id on two rows (a manifest's ``evidence_id`` given twice, one file name in two
folders): the writer keeps the first row and refuses a later one with other content or another asset, naming
both rows, whichever row groups they are in (:func:`~assetgrade.ingest.preparation._mark_existing`). So the run
keeps, for each id its rows gave, the first row's content hash, asset and place (``m.csv:row 2``). In a dict
that took several hundred bytes of memory per row (docs/ingest.md, "Duplicates", with the command that
measures it); :class:`Claims` keeps them in a private temporary SQLite database instead: a file in the
temporary folder that SQLite removes when it is closed, whose page cache (2 MiB) bounds the memory. The rows
are appended to a table; an index on an 8-byte digest of the id (small, so it stays mostly in the cache; a
primary key on the id itself made each insert about twice as slow) finds them, one query per row group, and
the ids are compared whole, so two ids of one digest are still two ids.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from assetgrade.errors import StoreError

__all__ = ["Claim", "Claims"]

_CHUNK = 500  # ids per query (SQLite's bound-parameter limit)
_CACHE_KIB = 2048


@dataclass(frozen=True, slots=True)
class Claim:
    """One row's evidence id, content hash (sha256), asset, and where it is (named in a refusal)."""

    evidence_id: str
    sha: str
    asset_id: str
    where: str


class Claims:
    """The first row of one run to give each evidence id.

    Examples
    --------
    >>> claims = Claims()
    >>> a, b = Claim("E1", "aa", "p", "m.csv:row 2"), Claim("E1", "bb", "p", "m.csv:row 3")
    >>> [c.where for c in claims.first([a])], [c.where for c in claims.first([b, Claim("E2", "cc", "p", "row 4")])]
    (['m.csv:row 2'], ['m.csv:row 2', 'row 4'])
    >>> len(claims)
    2
    >>> claims.close()
    """

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def first(self, rows: Sequence[Claim]) -> list[Claim]:
        """For each of ``rows`` (one row group, in input order), the first row of the run to give its evidence
        id: itself when no earlier row did, and then it is kept as that id's first row.

        StoreError when the temporary database cannot be written (the temporary folder full or read-only).
        """
        try:
            return self._first(rows)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot keep this ingest's evidence ids in a temporary database in"
                             f" {tempfile.gettempdir()} ({exc}); it needs about 200 bytes of disk per row"
                             " there (TMPDIR names another folder)") from exc

    def _first(self, rows: Sequence[Claim]) -> list[Claim]:
        db = self._open()
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
        if self._db is None:
            db = sqlite3.connect("", check_same_thread=False)  # "": private, on disk, deleted on close
            db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            db.execute("PRAGMA journal_mode = OFF")  # nothing to recover: the database ends with the run
            db.execute("PRAGMA synchronous = OFF")
            db.execute("CREATE TABLE claim (k INTEGER NOT NULL, id BLOB NOT NULL, sha BLOB NOT NULL,"
                       " asset BLOB NOT NULL, place BLOB NOT NULL)")
            db.execute("CREATE INDEX claim_k ON claim (k)")
            self._db = db
        return self._db

    def close(self) -> None:
        """Drop the run's claims (SQLite removes its file); a later :meth:`first` starts afresh."""
        if self._db is not None:
            self._db.close()
            self._db = None
            self._count = 0


def _key(evidence_id: str) -> int:
    """An 8-byte digest of an evidence id, as SQLite's signed 64-bit integer."""
    return int.from_bytes(hashlib.blake2b(_bytes(evidence_id), digest_size=8).digest(), "little", signed=True)


def _bytes(text: str) -> bytes:
    """Text as stored: UTF-8 that keeps a lone surrogate (a file name that is no UTF-8 holds one), which SQLite's
    text type refuses."""
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")
