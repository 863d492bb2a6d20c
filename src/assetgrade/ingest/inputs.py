"""Reading ingest inputs safely: paths that stay inside their folder, and CSVs whose bad rows name themselves."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from assetgrade.errors import IngestError

__all__ = ["MAX_CSV_FIELD_CHARS", "WORKBOOK_MAGIC", "CsvRow", "header_delimiter", "parse_csv", "read_csv_rows",
           "read_text", "safe_path"]

MAX_CSV_FIELD_CHARS = 16 * 1024 * 1024
"""The longest CSV cell read (Python's default is 131,072 characters; a work-order note may be longer)."""
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
"""How XLSX (ZIP) and XLS (OLE) files begin: given as a CSV, they are named as workbooks."""


def safe_path(base: Path, relative: str, *, where: str) -> Path:
    """``base / relative`` resolved; IngestError when it leaves ``base`` (``..``, absolute path, symlink)."""
    if not relative or not relative.strip():
        raise IngestError("path is empty", where=where)
    if "\x00" in relative:  # no file name holds one; the OS calls below raised ValueError, stopping the whole run
        raise IngestError(f"path {relative!r} holds the NUL character U+0000, which no file name can hold",
                          where=where)
    root = base.resolve()
    candidate = Path(relative)
    if candidate.is_absolute():
        raise IngestError(f"absolute path {relative!r} is not allowed; give it relative to {root}", where=where)
    target = (root / candidate).resolve()
    if not target.is_relative_to(root):
        raise IngestError(f"path {relative!r} resolves to {target}, outside the folder {root}", where=where)
    if not target.exists():
        raise IngestError(f"file {relative!r} not found (looked in {root})", where=where)
    if not target.is_file():
        raise IngestError(f"{relative!r} is not a regular file", where=where)
    return target


def read_text(path: Path, encoding: str | None, *, where: str | None = None) -> tuple[str, dict[int, str]]:
    """Decode a text file; returns the text and {line number: reason} for lines that do not decode.

    With ``encoding`` None the file must be UTF-8 (a BOM is allowed). Lines that are not are
    reported one by one (decoded with surrogate escapes so the other lines still parse); when
    other lines hold real UTF-8 multi-byte text the reason says the file mixes encodings.
    """
    where = where or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read: {exc}", where=where) from exc
    if not raw.strip():
        raise IngestError("file is empty", where=where)
    if raw.startswith(WORKBOOK_MAGIC):
        raise IngestError("is an Excel workbook (or another ZIP/OLE file), not a text file: save the sheet as "
                          "'CSV UTF-8' and give that", where=where)
    if encoding is None and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # its byte-order mark says so (Excel's "Unicode text")
    if encoding is None and (codec := _bomless_utf16(raw)) is not None:
        raise IngestError(f"looks like {codec.upper()} text without a byte-order mark (every other byte is 0), not"
                          f" UTF-8: pass --encoding {codec}, or re-save the file as UTF-8", where=where)
    enc = encoding or "utf-8-sig"
    try:
        return raw.decode(enc), {}
    except LookupError as exc:
        raise IngestError(f"unknown encoding {encoding!r}", where=where) from exc
    except UnicodeDecodeError:
        pass
    lines = raw.splitlines(keepends=True)
    bad: dict[int, str] = {}
    utf8_multibyte = False
    for i, line in enumerate(lines, start=1):
        try:
            line.decode(enc)
            if not line.isascii():
                utf8_multibyte = True
        except UnicodeDecodeError as exc:
            bad[i] = f"byte 0x{line[exc.start]:02x} at column {exc.start + 1} is not valid {enc.replace('-sig', '')}"
    if utf8_multibyte:
        hint = "the file mixes encodings (other lines are valid UTF-8); fix these lines or re-save the file"
    else:
        hint = "pass --encoding (e.g. cp1252 or latin-1) if the file is not UTF-8"
    bad = {k: f"{v}; {hint}" for k, v in bad.items()}
    return raw.decode(enc, errors="surrogateescape"), bad


def _bomless_utf16(raw: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when the start of ``raw`` reads as such without a byte-order mark, else None.

    Mostly-ASCII text in UTF-16 has a 0 in every other byte; read as UTF-8 (where a 0 byte is a
    valid character) its header becomes spaced-out letters that match no column name.

    >>> _bomless_utf16("asset_id,kind".encode("utf-16-le")), _bomless_utf16(b"asset_id,kind")
    ('utf-16-le', None)
    """
    head = raw[:4096]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) > 0.8 * len(zeros) and other.count(0) < 0.05 * len(other):
            return codec
    return None


@dataclass(frozen=True)
class CsvRow:
    """One CSV data row: its line number in the file and its cells by column name."""

    line: int
    values: dict[str, str]


def header_delimiter(header_line: str) -> str:
    """The separator used most in a CSV header line (quoted text ignored): ``,``, ``;`` or tab.

    Examples
    --------
    >>> header_delimiter('date;"asset, site";cost'), header_delimiter("a,b"), header_delimiter("one")
    (';', ',', ',')
    """
    bare = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: bare.count(d) for d in ",;\t"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv_rows(
    path: Path, *, encoding: str | None = None, required: tuple[str, ...] = (), delimiter: str | None = None
) -> tuple[list[str], Iterator[CsvRow | tuple[int, str]]]:
    """The header and an iterator of rows; undecodable rows come as ``(line, reason)`` instead.

    Raises IngestError naming the file when the header lacks a ``required`` column.
    """
    text, bad_lines = read_text(path, encoding)
    header, rows = parse_csv(text, where=str(path), bad_lines=bad_lines, delimiter=delimiter)
    missing = [c for c in required if c not in header]
    if missing:
        raise IngestError(
            f"missing required column(s) {', '.join(missing)}; the header has: {', '.join(header)}",
            where=f"{path}:row 1",
        )
    return header, rows


def parse_csv(text: str, *, where: str, bad_lines: Mapping[int, str] | None = None, delimiter: str | None = None,
              strip: bool = True) -> tuple[list[str], Iterator[CsvRow | tuple[int, str]]]:
    """The header and rows of a CSV text; a row that cannot be read comes as ``(line, reason)``.

    The separator is ``delimiter``, else the one the header line uses most. Strict quoting: a
    malformed quote is an error on its row and the reader goes on with the next line; a quote
    never closed ends the rows with an error on the row that opened it instead of swallowing every
    row after it. ``bad_lines`` ({line: reason}, from :func:`read_text`) marks rows that did not
    decode. A row with more cells than the header, or fewer (a line cut off, or a separator
    missing: no caller reads absent cells as empty; only unnamed columns at the header's end may be
    left off), is an error naming the expected and found counts. Cells are stripped of surrounding
    blanks unless ``strip`` is False.
    """
    bad_lines = bad_lines or {}
    text = text.removeprefix("\ufeff")
    if delimiter is None:
        delimiter = header_delimiter(re.split(r"\r\n|\r|\n", text, maxsplit=1)[0])
    if csv.field_size_limit() < MAX_CSV_FIELD_CHARS:
        csv.field_size_limit(MAX_CSV_FIELD_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise IngestError("file is empty", where=where) from None
    except csv.Error as exc:
        raise IngestError(f"the header line is not valid CSV: {exc}", where=f"{where}:row 1") from None
    if 1 in bad_lines:
        raise IngestError(f"the header line does not decode: {bad_lines[1]}", where=f"{where}:row 1")
    if header and header[0].startswith("\ufeff"):  # a UTF-8 byte-order mark read with --encoding utf-8
        header[0] = header[0].lstrip("\ufeff").strip()
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise IngestError(f"column(s) {', '.join(twice)} appear more than once in the header; which one "
                          "holds the value would be a guess", where=f"{where}:row 1")
    sep = delimiter
    named = len(header)
    while named and not header[named - 1]:  # a header line ending in separators: rows may stop before them
        named -= 1

    def rows() -> Iterator[CsvRow | tuple[int, str]]:
        start = reader.line_num + 1
        while True:
            line = start
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start = reader.line_num + 1
                if "end of data" in str(exc):  # EOF inside a quoted field
                    yield line, (f"a quoted field opened on this row is never closed, so rows {line}-"
                                 f"{reader.line_num} were not read; check the quotes on row {line}")
                    return
                if "field larger than field limit" in str(exc):
                    exc = csv.Error(f"a cell is longer than {MAX_CSV_FIELD_CHARS:,} characters")
                yield line, f"not valid CSV: {exc}"
                continue
            start = reader.line_num + 1
            if not cells or all(not c.strip() for c in cells):
                continue
            bad = [bad_lines[n] for n in range(line, reader.line_num + 1) if n in bad_lines]
            if bad or any("\udc80" <= ch <= "\udcff" for c in cells for ch in c):
                yield line, bad[0] if bad else "not valid text in the file's encoding"
                continue
            if len(cells) > len(header):
                yield line, (f"{len(cells)} cells but the header has {len(header)} columns (an unquoted {sep!r}"
                             " in a text?)")
                continue
            if len(cells) < named:  # padding it would read a cut-off line as a row with empty cells
                yield line, (f"{len(cells)} cells but the header {'has' if named == len(header) else 'names'} {named} "
                             f"columns: no cell for "
                             f"{', '.join(header[len(cells):named])} (a truncated line, or a missing {sep!r}?)")
                continue
            values = {h: ((cells[i].strip() if strip else cells[i]) if i < len(cells) else "")
                      for i, h in enumerate(header)}
            yield CsvRow(line, values)

    return header, rows()
