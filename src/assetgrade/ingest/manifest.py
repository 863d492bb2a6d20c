"""Manifest import: CSV, JSON or JSONL with one row per evidence item (asset id, kind, path or text, labels...).

Columns: ``asset_id`` and ``kind`` (image | log | series | document) are required, and each row
needs ``path`` (relative to the manifest's folder, never outside it) or ``text``. Optional:
``evidence_id``, ``asset_type``, ``grade``, ``defect``, ``severity``, ``box`` (x0,y0,x1,y1),
``annotator``, ``origin`` (real | synthetic | augmented), ``source``, ``generator``,
``generator_params`` (JSON), ``parent`` (evidence id), ``capture_time``, ``device``, ``date``,
``cost``, ``media_type``. Several rows naming the same evidence add several labels to it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from assetgrade.errors import IngestError
from assetgrade.ingest.fields import parse_box, parse_datetime, parse_float
from assetgrade.ingest.inputs import CsvRow, read_csv_rows, read_text, safe_path
from assetgrade.ingest.items import ItemSpec, LabelSpec
from assetgrade.ingest.report import IngestNotice, RowError
from assetgrade.ingest.series_overlap import BatchSpans, attribute_span
from assetgrade.store.blobs import sha256_bytes
from assetgrade.store.repository import ProvenanceInfo

__all__ = ["KNOWN_COLUMNS", "REQUIRED_COLUMNS", "count_rows", "manifest_items"]

REQUIRED_COLUMNS = ("asset_id", "kind")
KNOWN_COLUMNS = (
    "asset_id", "kind", "path", "text", "evidence_id", "asset_type", "grade", "defect", "severity", "box",
    "annotator", "origin", "source", "generator", "generator_params", "parent", "capture_time", "device",
    "date", "cost", "media_type", "numeric_time",
)
_KNOWN = frozenset(KNOWN_COLUMNS)
_SCALAR = tuple(c for c in KNOWN_COLUMNS if c not in ("generator_params", "box"))
"""Columns whose JSON value is one text or number (``generator_params`` may be an object, ``box`` a list)."""
_TEXT_KINDS = ("log", "document")
"""Kinds whose evidence is text: a ``path`` names a UTF-8 text file whose contents are stored as the text."""


class _JsonObject(dict[str, Any]):
    """A JSON object as read, with the keys it gives more than once (``json`` keeps the last without a word)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        values: dict[str, list[Any]] = {}
        if len(self) < len(pairs):
            for k, v in pairs:
                values.setdefault(k, []).append(v)
        self.twice = {k: v for k, v in values.items() if len(v) > 1}
        """Each key given more than once, with all its values in the file's order."""


def _loads(text: str) -> Any:
    """JSON text, each object as a :class:`_JsonObject` that names the keys it gives twice."""
    return json.loads(text, object_pairs_hook=_JsonObject)


def _records(path: Path, encoding: str | None) -> Iterator[tuple[int, dict[str, Any]] | RowError]:
    suffix = path.suffix.lower()
    if suffix == ".csv" or suffix == ".tsv":
        header, rows = read_csv_rows(path, encoding=encoding, required=REQUIRED_COLUMNS)
        if "path" not in header and "text" not in header:
            raise IngestError("missing required column path or text (one of them)", where=f"{path}:row 1")
        for r in rows:
            if isinstance(r, CsvRow):
                yield r.line, dict(r.values)
            else:
                yield RowError(str(path), r[0], None, r[1])
        return
    text, bad = read_text(path, encoding)
    if suffix == ".jsonl":
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if i in bad:
                yield RowError(str(path), i, None, bad[i])
                continue
            try:
                obj = _loads(line)
            except json.JSONDecodeError as exc:
                yield RowError(str(path), i, None, f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            except RecursionError:
                yield RowError(str(path), i, None, "JSON nested too deeply to read")
                continue
            if not isinstance(obj, dict):
                yield RowError(str(path), i, None, "each line must be a JSON object")
                continue
            yield i, obj
        return
    if suffix == ".json":
        if bad:
            bad_line, reason = next(iter(bad.items()))
            raise IngestError(reason, where=f"{path}:row {bad_line}")
        try:
            doc = _loads(text)
        except json.JSONDecodeError as exc:
            raise IngestError(f"not valid JSON: {exc.msg}", where=f"{path}:line {exc.lineno}") from exc
        except RecursionError:
            raise IngestError("JSON nested too deeply to read", where=str(path)) from None
        if isinstance(doc, _JsonObject) and "items" in doc.twice:
            raise IngestError("'items' is given more than once; which list is the manifest would be a guess",
                              where=str(path))
        items = doc.get("items") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise IngestError("a JSON manifest is a list of objects or {\"items\": [...]}", where=str(path))
        for i, obj in enumerate(items, start=1):
            if not isinstance(obj, dict):
                yield RowError(str(path), i, None, "each item must be a JSON object")
                continue
            yield i, obj
        return
    raise IngestError(f"unknown manifest type {suffix!r}; use .csv, .tsv, .json or .jsonl", where=str(path))


def count_rows(path: Path) -> int | None:
    """A cheap row count for a progress bar (None when unknown)."""
    try:
        with path.open("rb") as fh:  # closed here, not whenever the garbage collector gets to it
            return max(0, sum(1 for line in fh if line.strip()) - (path.suffix.lower() in (".csv", ".tsv")))
    except OSError:
        return None


def _s(obj: dict[str, Any], key: str) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    text = str(v).strip() if not isinstance(v, dict | list) else json.dumps(v)
    return text or None


def manifest_items(path: Path, *, encoding: str | None = None) -> Iterator[ItemSpec | RowError | IngestNotice]:
    """Items (or row errors) from a manifest; file-level problems raise IngestError naming the file.

    A column (or JSON key) that is not a manifest column is read past, with one
    :class:`~assetgrade.ingest.report.IngestNotice` naming it (and the column it may be a typo of)
    at the first row that has it: ``grde`` would otherwise drop every grade without a word.
    """
    if not path.is_file():
        raise IngestError("manifest not found", where=str(path))
    base = path.parent
    told: set[str] = set()
    header_row = path.suffix.lower() in (".csv", ".tsv")
    entries: dict[tuple[str, str, str], dict[tuple[Any, Any], int]] = {}
    graded: dict[tuple[str, str], tuple[str, int]] = {}  # (asset, annotator) -> (grade, row)
    spans = BatchSpans()  # the series rows so far: one overlapping an earlier one of its asset is said
    for rec in _records(path, encoding):
        if isinstance(rec, RowError):
            yield rec
            continue
        line, obj = rec
        for key in obj:  # in the file's column order
            if key and key not in _KNOWN and key not in told:
                told.add(key)
                yield IngestNotice(str(path), 1 if header_row else line, _unknown_column(key))
        try:
            item, said = _item(path, base, line, obj)
        except IngestError as exc:
            yield RowError.from_exception(exc, str(path), line, getattr(exc, "field", None))
            continue
        if said:  # said once the row is stored, not for a row refused below or by the writer
            item.notices.append(IngestNotice(str(path), line, said))
        grade = next((lb for lb in item.labels if lb.kind == "grade"), None)
        if grade is not None:
            first = graded.setdefault((item.asset_id, grade.annotator), (grade.value, line))
            if first[0] != grade.value:
                yield RowError(str(path), line, "grade",
                               f"asset {item.asset_id!r} has grade {first[0]!r} from annotator {grade.annotator!r} "
                               f"on row {first[1]}; one annotator gives an asset one grade (fix one row, or name "
                               "the other annotator)")
                continue
        if item.kind == "series":
            # said once the row is stored (ItemSpec.notices), not for a row the writer refuses, and only of an
            # earlier series that is stored too (requires)
            for overlap, earlier in spans.add(item.asset_id, f"{item.source_key} (row {line})",
                                              attribute_span(item.attributes), item=item.resolved_id(),
                                              content=None if item.data is None else sha256_bytes(item.data)):
                item.notices.append(IngestNotice(str(path), line, overlap, requires=earlier))
        if item.kind in _TEXT_KINDS and item.evidence_id is None:
            # the same words on another date or at another cost are another entry ("replaced filter"
            # every six months), not a second row about the first one: the n-th distinct entry with
            # these words gets "#n" on its key; the first keeps the bare key, so earlier ingests stay as they are
            seen = entries.setdefault((item.asset_id, item.kind, item.source_key), {})
            n = seen.setdefault((item.attributes.get("date"), item.attributes.get("cost")), len(seen) + 1)
            if n > 1:
                item.source_key = f"{item.source_key}#{n}"
        yield item


def _unknown_column(key: str) -> str:
    """The notice for a column the manifest format does not have.

    >>> _unknown_column("grde")
    "column 'grde' is not a manifest column and was ignored (did you mean 'grade'?)"
    """
    close = difflib.get_close_matches(key.lower(), KNOWN_COLUMNS, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; manifest columns: {', '.join(KNOWN_COLUMNS)}"
    return f"column {key!r} is not a manifest column and was ignored{hint}"


def _err(path: Path, line: int, fieldname: str, reason: str) -> IngestError:
    exc = IngestError(reason, where=f"{path}:row {line}:field {fieldname}")
    exc.field = fieldname  # type: ignore[attr-defined]
    return exc


def _item(path: Path, base: Path, line: int, obj: dict[str, Any]) -> tuple[ItemSpec, str | None]:
    where = f"{path}:row {line}"

    def w(f: str) -> str:
        return f"{where}:field {f}"

    twice = [k for k in getattr(obj, "twice", ()) if k in _KNOWN]
    if twice:
        values = " and ".join(repr(v) for v in obj.twice[twice[0]])  # type: ignore[attr-defined]
        raise _err(path, line, twice[0], f"{twice[0]!r} is given more than once in this object ({values}); which"
                                         " one is meant would be a guess")
    missing = [c for c in REQUIRED_COLUMNS if not _s(obj, c)]
    if missing:
        raise _err(path, line, missing[0], f"{missing[0]} is empty")
    for key in ("asset_id", "kind", "evidence_id", "asset_type", "grade", "defect"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str) and not (isinstance(value, int) and key != "kind"
                                                                      and not isinstance(value, bool)):
            raise _err(path, line, key, f"{key} must be text, not {type(value).__name__} {value!r}")
    for key in _SCALAR:  # JSON: an object, a list or true/false is no text ("['worn']" would be stored as such)
        value = obj.get(key)
        if isinstance(value, dict | list | bool):
            raise _err(path, line, key, f"{key} must be text or a number, not {type(value).__name__} {value!r}")
    asset_id, kind = _s(obj, "asset_id") or "", (_s(obj, "kind") or "").lower()
    rel, text = _s(obj, "path"), obj.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    if not rel and not (text and text.strip()):
        raise _err(path, line, "path", "the row needs a path or a text")
    file_path = None
    source_key = text or ""
    if rel:
        try:
            file_path = safe_path(base, rel, where=w("path"))
        except IngestError as exc:
            raise _err(path, line, "path", exc.reason) from None
        source_key = file_path.relative_to(base.resolve()).as_posix()
        if kind in _TEXT_KINDS:  # a log (or a text document) kept in a file: its text is the evidence
            if text and text.strip():
                raise _err(path, line, "text", f"a {kind} row gives a path or a text, not both")
            try:
                file_text, bad = read_text(file_path, None)
            except IngestError as exc:
                raise _err(path, line, "path", f"{rel}: {exc.reason}") from None
            if kind == "log" and bad:
                n, reason = next(iter(bad.items()))
                raise _err(path, line, "path", f"{rel}: line {n}: {reason}")
            if kind == "log" and not file_text.strip():
                raise _err(path, line, "path", f"{rel}: the file holds no text")
            if kind == "log" and "\x00" in file_text:  # PostgreSQL text cannot hold it (SQLite stored it)
                n = file_text.count("\n", 0, file_text.index("\x00")) + 1
                raise _err(path, line, "path", f"{rel}: line {n} holds a NUL byte (0x00), which a log's text cannot"
                                               " hold: is the file binary, or UTF-16? re-save it as UTF-8 text")
            # a document that is not UTF-8 text (a PDF, a scan, a file holding a NUL byte) is kept as it is, a blob
            text = file_text if not bad and file_text.strip() and "\x00" not in file_text else None
    attrs: dict[str, Any] = {}
    for key in ("date", "cost"):
        raw = obj.get(key)
        try:
            if key == "date":
                dt = parse_datetime(raw, where=w(key))
                if dt is not None:
                    attrs["date"] = dt.isoformat()
            else:
                num = parse_float(raw, where=w(key))
                if num is not None:
                    attrs["cost"] = num
        except IngestError as exc:
            raise _err(path, line, key, exc.reason) from None
    params_raw = obj.get("generator_params")
    params: Any = None
    if isinstance(params_raw, dict):
        params = params_raw
    elif params_raw not in (None, ""):
        try:
            params = _loads(str(params_raw))
        except (json.JSONDecodeError, RecursionError):
            params = None
        if not isinstance(params, dict):
            raise _err(path, line, "generator_params", f"generator_params {params_raw!r} is not a JSON object")
    if getattr(params, "twice", None):
        raise _err(path, line, "generator_params", f"generator_params gives {', '.join(map(repr, params.twice))}"
                                                   " more than once; which value is meant would be a guess")
    if params is not None:
        params = json.loads(json.dumps(params))  # plain dicts all the way down, as stored
    try:
        capture = parse_datetime(obj.get("capture_time"), where=w("capture_time"))
    except IngestError as exc:
        raise _err(path, line, "capture_time", exc.reason) from None
    prov = ProvenanceInfo(source=_s(obj, "source") or str(path.name), origin=(_s(obj, "origin") or "real").lower(),
                          generator=_s(obj, "generator"), generator_params=params,
                          parent_evidence_id=_s(obj, "parent"), capture_time=capture, device=_s(obj, "device"))
    labels: list[LabelSpec] = []
    annotator = _s(obj, "annotator") or "import"
    if grade := _s(obj, "grade"):
        labels.append(LabelSpec("grade", grade, annotator=annotator, field="grade"))
    if defect := _s(obj, "defect"):
        try:
            box = parse_box(obj.get("box"), where=w("box"))
        except IngestError as exc:
            raise _err(path, line, "box", exc.reason) from None
        labels.append(LabelSpec("defect", defect, severity=_s(obj, "severity"), box=box, annotator=annotator,
                                field="defect"))
    elif _s(obj, "box"):
        raise _err(path, line, "box", "a box needs a defect in the same row")
    in_file = file_path is not None and (kind not in _TEXT_KINDS or text is None)
    spec = ItemSpec(where=where, asset_id=asset_id, kind=kind, source_key=source_key,
                    path=file_path if in_file else None, text=None if in_file else text,
                    evidence_id=_s(obj, "evidence_id"), media_type=_s(obj, "media_type"),
                    asset_type=_s(obj, "asset_type"), attributes=attrs,
                    provenance=prov, labels=labels, row=line, file=str(path))
    said: str | None = None
    if _s(obj, "numeric_time") and kind != "series":
        raise _err(path, line, "numeric_time", f"numeric_time is for series rows; this row is a {kind!r}")
    if kind == "series" and file_path is not None:
        from assetgrade.ingest.series import SeriesOptions, series_to_parquet

        try:
            opts = SeriesOptions(numeric_time=_s(obj, "numeric_time") or "auto")
        except IngestError as exc:
            raise _err(path, line, "numeric_time", exc.reason) from None
        try:
            data, info = series_to_parquet(file_path, opts, where=where)
        except IngestError as exc:
            raise _err(path, line, "path", exc.reason) from None
        said = info.pop("notice", None)
        spec.path, spec.data = None, data
        spec.media_type = "application/vnd.apache.parquet"
        spec.provenance = replace(prov, notes=info.pop("repairs") or None)
        spec.attributes.update(info)
    return spec, said
