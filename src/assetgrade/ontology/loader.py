"""Load an ontology YAML file into frozen objects; every error names the key and the line it is on."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from assetgrade.errors import OntologyError
from assetgrade.ontology.model import (
    Component,
    Defect,
    Grade,
    GradeScale,
    Ontology,
    Rubric,
    Rule,
    TermMatch,
    normalise_term,
)
from assetgrade.strict_yaml import DuplicateKeyError, UniqueKeyLoader, mapping_items

__all__ = ["MAX_ONTOLOGY_BYTES", "default_ontology", "load_ontology", "ontology_yaml", "parse_ontology"]

MAX_ONTOLOGY_BYTES = 4 * 1024 * 1024
"""The largest ontology file read (the default is about 10 kB); PyYAML parses a few hundred kB a second."""

DEFAULT_SEVERITIES = ("minor", "moderate", "severe")
_TOP_KEYS = {"name", "grades", "severities", "defects", "components", "abbreviations", "rubric"}
_DEFECT_KEYS = {"name", "kind", "description", "synonyms", "severities", "children"}


class _LineDict(dict[Any, Any]):
    """A dict that remembers the line of each of its keys (1-based) and its own line."""

    line: int = 0
    key_lines: dict[Any, int]


class _LineLoader(UniqueKeyLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key, value, line in mapping_items(loader, node):
        out[key] = value
        out.key_lines[key] = line
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_NO_KEY: Any = object()


class _Ctx:
    """Where we are in the file, for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.entries: dict[tuple[str, str], tuple[_LineDict, Any]] = {}  # (kind, id) -> (holder, key) for lines

    def error(self, msg: str, parent: Any = None, key: Any = _NO_KEY) -> OntologyError:
        line = None
        if isinstance(parent, _LineDict):  # a null key (``~: x``) has a line too
            line = parent.key_lines.get(key, parent.line) if key is not _NO_KEY else parent.line
        where = f"{self.source}, line {line}" if line else self.source
        return OntologyError(msg, where=where)


def _expect_map(ctx: _Ctx, value: Any, what: str, parent: Any, key: Any) -> _LineDict:
    if not isinstance(value, dict):
        raise ctx.error(f"{what} must be a mapping, got {type(value).__name__}", parent, key)
    return value if isinstance(value, _LineDict) else _LineDict(value)


def _is_text(value: Any) -> bool:
    """Text, or a number written where text belongs (``6205``); not null, a boolean, a list, a mapping or a date."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _check_id(ctx: _Ctx, text: str, what: str, parent: Any, key: Any) -> None:
    """Refuse an id holding a control (Cc) or format (Cf) character: ``scr\\ufeffatch`` looked like 'scratch'
    in most editors but was another id (a rubric rule naming 'scratch' was refused as an unknown defect)."""
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf")), None)
    if bad is not None:
        kind = "control" if unicodedata.category(bad) == "Cc" else "invisible format"
        name = unicodedata.name(bad, "")
        raise ctx.error(f"{what} {text!r} contains the {kind} character U+{ord(bad):04X}"
                        f"{f' ({name})' if name else ''}; ids must be visible text", parent, key)


def _text(ctx: _Ctx, value: Any, what: str, parent: Any, key: Any, *, must: str = "must be text",
          blank_ok: bool = False) -> str:
    """A text value; null, lists, mappings, booleans and dates are refused (``str()`` made them 'None', "['a']")."""
    if not _is_text(value):
        raise ctx.error(f"{what} {must}, got {_kind_of(value)} (quote it, or leave the key out)", parent, key)
    text = str(value)
    if not blank_ok and not normalise_term(text):
        raise ctx.error(f"{what} {text!r} is blank", parent, key)
    return text


def _str_list(ctx: _Ctx, value: Any, what: str, parent: Any, key: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(_is_text(v) for v in value):
        raise ctx.error(f"{what} must be a list of strings", parent, key)
    out = tuple(str(v) for v in value)
    for v in out:  # a blank synonym made lookup('') and link('  ') answer this term
        if not normalise_term(v):
            raise ctx.error(f"{what}: {v!r} is blank", parent, key)
    return out


def _severity_list(ctx: _Ctx, value: Any, what: str, parent: Any, key: Any) -> tuple[str, ...]:
    out = _str_list(ctx, value, what, parent, key)
    for i, s in enumerate(out):
        if s in out[:i]:
            raise ctx.error(f"{what}: {s!r} is given twice", parent, key)
    return out


def _check_keys(ctx: _Ctx, data: _LineDict, allowed: set[str], what: str) -> None:
    for key in data:
        if key not in allowed:
            raise ctx.error(f"unknown key {key!r} in {what}; allowed: {sorted(allowed)}", data, key)


def _parse_grades(ctx: _Ctx, data: _LineDict) -> GradeScale:
    raw = data.get("grades")
    if not isinstance(raw, list) or len(raw) < 2:
        raise ctx.error("'grades' must be a list of at least two grades, best first", data, "grades")
    grades: list[Grade] = []
    for i, item in enumerate(raw):
        if isinstance(item, str | int) and not isinstance(item, bool):
            grades.append(Grade(_grade_id(ctx, item, i, data), str(item)))
            continue
        g = _expect_map(ctx, item, f"grades[{i}]", data, "grades")
        _check_keys(ctx, g, {"id", "name", "description"}, f"grades[{i}]")
        if "id" not in g:
            raise ctx.error(f"grades[{i}] needs an 'id'", g)
        gid = _grade_id(ctx, g["id"], i, g)
        name = _text(ctx, g["name"], f"grades[{i}] name", g, "name") if "name" in g else gid
        desc = _text(ctx, g["description"], f"grades[{i}] description", g, "description", blank_ok=True) \
            if "description" in g else ""
        grades.append(Grade(gid, name, desc))
    ids = [g.id for g in grades]
    if len(set(ids)) != len(ids):
        raise ctx.error(f"grade ids must be unique, got {ids}", data, "grades")
    names = [normalise_term(g.name) for g in grades]
    if len(set(names)) != len(names):
        raise ctx.error(f"grade names must be unique, got {[g.name for g in grades]}", data, "grades")
    return GradeScale(tuple(grades))


def _grade_id(ctx: _Ctx, value: Any, i: int, holder: Any) -> str:
    """A grade id: a non-empty string or integer, without surrounding spaces (``' A'`` next to ``'A'`` misleads)."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int):
        raise ctx.error(f"grades[{i}]: the id must be a name such as 'A' or a number, got {value!r}", holder,
                        "id" if isinstance(holder, dict) and "id" in holder else "grades")
    gid = str(value)
    where = "id" if isinstance(holder, dict) and "id" in holder else "grades"
    if not gid.strip() or gid != gid.strip():
        raise ctx.error(f"grades[{i}]: the id {gid!r} must be non-empty and without surrounding spaces", holder, where)
    _check_id(ctx, gid, f"grades[{i}]: the id", holder, where)
    return gid


def _parse_defects(
    ctx: _Ctx, raw: Any, parent_id: str | None, default_sev: tuple[str, ...], out: dict[str, Defect], holder: Any,
    defined: tuple[str, ...] | None = None,
) -> None:
    """One level of the defect tree into ``out``; ``defined``: the top-level ``severities``, if the file has them."""
    table = _expect_map(ctx, raw, "defects", holder, "defects" if parent_id is None else "children")
    for key, body in table.items():
        if not isinstance(key, str) or not key.strip() or "." in key or key != key.strip():
            raise ctx.error(f"defect key {key!r} must be a non-empty name without dots or surrounding spaces",
                            table, key)
        _check_id(ctx, key, "defect key", table, key)
        did = f"{parent_id}.{key}" if parent_id else key
        ctx.entries[("defect", did)] = (table, key)
        spec = _expect_map(ctx, body or {}, f"defect {did!r}", table, key)
        _check_keys(ctx, spec, _DEFECT_KEYS, f"defect {did!r}")
        inherited = out[parent_id] if parent_id else None
        kind = spec.get("kind", inherited.kind if inherited else None)
        if kind not in ("cosmetic", "functional"):
            raise ctx.error(
                f"defect {did!r}: 'kind' must be 'cosmetic' or 'functional', got {kind!r}", spec, "kind"
            )
        sev = _severity_list(ctx, spec.get("severities"), f"defect {did!r} severities", spec, "severities")
        for s in sev:
            if defined is not None and s not in defined:
                raise ctx.error(f"defect {did!r}: severity {s!r} is not in the top-level 'severities' "
                                f"{list(defined)}; add it there or leave it out", spec, "severities")
        severities = sev or (inherited.severities if inherited else default_sev)
        out[did] = Defect(
            id=did,
            name=_text(ctx, spec["name"], f"defect {did!r} name", spec, "name") if "name" in spec
            else key.replace("_", " "),
            kind=kind,
            severities=severities,
            parent=parent_id,
            synonyms=_str_list(ctx, spec.get("synonyms"), f"defect {did!r} synonyms", spec, "synonyms"),
            description=_text(ctx, spec["description"], f"defect {did!r} description", spec, "description",
                              blank_ok=True) if "description" in spec else "",
        )
        if "children" in spec:
            _parse_defects(ctx, spec["children"], did, severities, out, spec, defined)


def _parse_components(ctx: _Ctx, data: _LineDict) -> dict[str, Component]:
    raw = data.get("components") or {}
    table = _expect_map(ctx, raw, "components", data, "components")
    out: dict[str, Component] = {}
    for key, body in table.items():
        cid = _text(ctx, key, "a component id", table, key, must="must be a name")
        if cid != cid.strip():
            raise ctx.error(f"component id {cid!r} must be without surrounding spaces", table, key)
        _check_id(ctx, cid, "component id", table, key)
        if cid in out:  # `1:` and `'1':` are two YAML keys but one id: the second replaced the first
            first = next(k for k in table if k is not key and str(k) == cid)
            raise ctx.error(f"component id {cid!r} is given twice (as {first!r} and as {key!r})", table, key)
        ctx.entries[("component", cid)] = (table, key)
        spec = _expect_map(ctx, body or {}, f"component {key!r}", table, key)
        _check_keys(ctx, spec, {"name", "synonyms", "parent"}, f"component {key!r}")
        parent = spec.get("parent")
        out[cid] = Component(
            id=cid,
            name=_text(ctx, spec["name"], f"component {cid!r} name", spec, "name") if "name" in spec
            else cid.replace("_", " "),
            synonyms=_str_list(ctx, spec.get("synonyms"), f"component {key!r} synonyms", spec, "synonyms"),
            parent=_text(ctx, parent, f"component {cid!r} parent", spec, "parent") if parent is not None else None,
        )
    for c in out.values():
        if c.parent is not None and c.parent not in out:
            holder, key = ctx.entries[("component", c.id)]
            spec = holder[key]
            raise ctx.error(f"component {c.id!r}: unknown parent {c.parent!r}; known: {sorted(out)}",
                            spec if isinstance(spec, _LineDict) else holder, "parent" if spec else key)
    for c in out.values():  # parents must form a tree: following them from any component ends
        chain = [c.id]
        parent = c.parent
        while parent is not None:
            if parent in chain:
                loop = " -> ".join([*chain[chain.index(parent):], parent])
                raise ctx.error(f"component parents form a cycle: {loop}", table, c.id)
            chain.append(parent)
            parent = out[parent].parent
    return out


def _parse_rubric(
    ctx: _Ctx, data: _LineDict, scale: GradeScale, defects: Mapping[str, Defect]
) -> Rubric:
    raw = _expect_map(ctx, data.get("rubric") or {}, "rubric", data, "rubric")
    _check_keys(ctx, raw, {"default_grade", "rules"}, "rubric")
    default = str(raw.get("default_grade", scale.names[0]))
    if default not in scale.names:
        raise ctx.error(f"rubric default_grade {default!r} is not a grade; allowed: {list(scale.names)}", raw)
    raw_rules = raw.get("rules")
    if raw_rules is not None and not isinstance(raw_rules, list):
        raise ctx.error(f"rubric 'rules' must be a list of rules, got {_kind_of(raw_rules)}", raw, "rules")
    rules: list[Rule] = []
    for i, item in enumerate(raw_rules or []):
        r = _expect_map(ctx, item, f"rubric.rules[{i}]", raw, "rules")
        _check_keys(ctx, r, {"defect", "kind", "severity", "grade"}, f"rubric.rules[{i}]")
        grade = str(r.get("grade"))
        if grade not in scale.names:
            raise ctx.error(f"rubric.rules[{i}]: grade {grade!r} unknown; allowed: {list(scale.names)}", r, "grade")
        defect = r.get("defect")
        if defect is not None and not isinstance(defect, str):
            raise ctx.error(f"rubric.rules[{i}]: defect must be a defect id, got {_kind_of(defect)}", r, "defect")
        if defect is not None and defect not in defects:
            raise ctx.error(
                f"rubric.rules[{i}]: unknown defect {defect!r}; known: {sorted(defects)}", r, "defect"
            )
        kind = r.get("kind")
        if kind is not None and kind not in ("cosmetic", "functional"):
            raise ctx.error(f"rubric.rules[{i}]: kind must be cosmetic or functional, got {kind!r}", r, "kind")
        sev = _str_list(ctx, r.get("severity"), f"rubric.rules[{i}].severity", r, "severity")
        known_sev = {s for d in defects.values() for s in d.severities}
        for s in sev:
            if s not in known_sev:
                raise ctx.error(
                    f"rubric.rules[{i}]: unknown severity {s!r}; known: {sorted(known_sev)}", r, "severity"
                )
        rules.append(Rule(grade=grade, defect=defect, kind=kind, severities=sev))
    return Rubric(rules=tuple(rules), scale=scale, default_grade=default)


def _parse_abbreviations(ctx: _Ctx, top: _LineDict) -> dict[str, str]:
    """Lower-case abbreviation -> expansion; two spellings of one abbreviation with different expansions are
    refused (``REPL`` then ``repl``: the second silently replaced the first; NFC/NFD and full-width forms alike)."""
    raw = _expect_map(ctx, top.get("abbreviations") or {}, "abbreviations", top, "abbreviations")
    out: dict[str, str] = {}
    seen: dict[str, tuple[str, str]] = {}  # NFKC + case fold -> (as written, expansion)
    for k, v in raw.items():
        key = _text(ctx, k, "an abbreviation", raw, k)
        expansion = _text(ctx, v, f"abbreviation {key!r}", raw, k, must="must expand to text")
        folded = unicodedata.normalize("NFKC", key).casefold()
        prior = seen.get(folded)
        if prior is not None and prior[1] != expansion:
            raise ctx.error(f"abbreviation {key!r} ({expansion!r}) is the same abbreviation as {prior[0]!r} "
                            f"({prior[1]!r}) once case and Unicode form are ignored; keep one", raw, k)
        seen[folded] = (key, expansion)
        out[key.lower()] = expansion
    return out


def _build_terms(
    ctx: _Ctx, data: _LineDict, defects: Mapping[str, Defect], components: Mapping[str, Component]
) -> dict[str, TermMatch]:
    terms: dict[str, TermMatch] = {}

    def add(term: str, match: TermMatch) -> None:
        key = normalise_term(term)
        prior = terms.get(key)
        if prior is not None and (prior.kind, prior.id) != (match.kind, match.id):
            holder, key = ctx.entries.get((match.kind, match.id), (data, _NO_KEY))
            same = "" if prior.term == term else f" (as {prior.term!r}, the same term once normalised)"
            raise ctx.error(
                f"term {term!r} is used for both {prior.kind} {prior.id!r}{same} and {match.kind} {match.id!r}",
                holder, key)
        terms[key] = match

    for d in defects.values():
        for t in (d.id, d.name, *d.synonyms):
            add(t, TermMatch("defect", d.id, t))
    for c in components.values():
        for t in (c.id, c.name, *c.synonyms):
            add(t, TermMatch("component", c.id, t))
    return terms


def parse_ontology(data: Any, source: str = "<memory>") -> Ontology:
    """Validate parsed YAML (a mapping) and build the frozen Ontology."""
    ctx = _Ctx(source)
    top = _expect_map(ctx, data, "the ontology file", None, None)
    _check_keys(ctx, top, _TOP_KEYS, "the top level")
    scale = _parse_grades(ctx, top)
    defined: tuple[str, ...] | None = None
    if "severities" in top:
        defined = _severity_list(ctx, top["severities"], "'severities'", top, "severities")
        if not defined:
            raise ctx.error("'severities' must list at least one severity (or leave the key out for "
                            f"{list(DEFAULT_SEVERITIES)})", top, "severities")
    defects: dict[str, Defect] = {}
    if "defects" not in top:
        raise ctx.error("the ontology needs a 'defects' taxonomy", top)
    _parse_defects(ctx, top["defects"], None, defined or DEFAULT_SEVERITIES, defects, top, defined)
    components = _parse_components(ctx, top)
    abbreviations = _parse_abbreviations(ctx, top)
    rubric = _parse_rubric(ctx, top, scale, defects)
    terms = _build_terms(ctx, top, defects, components)
    canonical = json.dumps(_plain(top), sort_keys=True, separators=(",", ":"), default=str)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return Ontology(
        name=_text(ctx, top["name"], "'name'", top, "name") if "name" in top else "unnamed",
        version=version,
        grades=scale,
        defects=defects,
        components=components,
        abbreviations=abbreviations,
        rubric=rubric,
        source=source,
        _terms=terms,
    )


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def _read_text(p: Path) -> str:
    """An ontology file's text: at most MAX_ONTOLOGY_BYTES of UTF-8."""
    try:
        if p.stat().st_size > MAX_ONTOLOGY_BYTES:
            raise OntologyError(f"the file is larger than {MAX_ONTOLOGY_BYTES:,} bytes ({p.stat().st_size:,}); "
                                "an ontology is text a person edits", where=str(p))
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OntologyError("file not found", where=str(p)) from None
    except UnicodeDecodeError as exc:
        raise OntologyError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=str(p)) from None


def load_ontology(path: str | Path) -> Ontology:
    """Load and validate an ontology YAML file; errors name the file, key and line."""
    p = Path(path)
    return loads_ontology(_read_text(p), source=str(p))


def _load_document(text: str, source: str) -> Any:
    """The YAML document in ``text``, keys remembering their lines; OntologyError for YAML that does not parse."""
    if len(text) > MAX_ONTOLOGY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_ONTOLOGY_BYTES:
        raise OntologyError(f"the text is larger than {MAX_ONTOLOGY_BYTES:,} bytes; an ontology is text a person "
                            "edits", where=source)
    try:
        return yaml.load(text, Loader=_LineLoader)
    except DuplicateKeyError as exc:
        raise OntologyError(f"duplicate key {exc.key!r} (first on line {exc.first_line})",
                            where=f"{source}, line {exc.line}") from None
    except yaml.reader.ReaderError as exc:  # no problem_mark: only a character position
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise OntologyError(f"invalid YAML: the character {char} is not allowed ({exc.reason}); remove it",
                            where=f"{source}, line {_line_at(text, exc.position)}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark is not None else source
        raise OntologyError(f"invalid YAML: {getattr(exc, 'problem', exc)}", where=where) from None


def _line_at(text: str, position: int) -> int:
    """The 1-based line of character ``position``, counting line breaks as PyYAML's reader does."""
    head = text[:position]
    crlf = head.count("\r\n")
    return 1 + sum(head.count(b) for b in "\n\r\x85\u2028\u2029") - crlf


def loads_ontology(text: str, source: str = "<memory>") -> Ontology:
    """Parse ontology YAML text."""
    return parse_ontology(_load_document(text, source), source=source)


def ontology_yaml(path: str | Path | None = None) -> str:
    """The validated ontology file at ``path`` (None: the shipped one) as plain YAML.

    Comments are dropped and aliases expanded; keys keep the file's order. The version is a hash of the
    document's content, not of its bytes, so :func:`load_ontology` reads the output back to an equal
    ontology with the same version.
    """
    if path is None:
        text, source = _default_text(), DEFAULT_SOURCE
    else:
        text, source = _read_text(Path(path)), str(path)
    data = _load_document(text, source)
    parse_ontology(data, source=source)  # only a valid ontology is printed
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, default_flow_style=False)


DEFAULT_SOURCE = "assetgrade/ontology/default.yaml"


def _default_text() -> str:
    return resources.files("assetgrade.ontology").joinpath("default.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_ontology() -> Ontology:
    """The ontology shipped with assetgrade (``assetgrade/ontology/default.yaml``)."""
    return loads_ontology(_default_text(), source=DEFAULT_SOURCE)
