"""YAML that refuses a key given twice in one mapping (plain YAML silently keeps the last one),
and a document whose aliases expand it beyond :data:`MAX_EXPANDED_NODES` nodes ("billion laughs":
a few hundred bytes of nested aliases that take seconds and gigabytes to print or hash) or nests
deeper than :data:`MAX_DEPTH` levels, counting through aliases (``[[[...]]]`` 1,000 deep was a
RecursionError traceback), with
YAML 1.2's plain scalars instead of PyYAML's YAML 1.1 ones: ``no``, ``on``, ``y`` stay text (1.1
reads them as booleans, so an abbreviation ``no: number`` became ``false: number``), ``1:20`` stays
text (1.1: the base-60 number 80) and ``010`` is ten (1.1: octal eight)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "MAX_EXPANDED_NODES", "DuplicateKeyError", "UniqueKeyLoader", "expanded_depth",
           "expanded_size", "key_position", "load_unique", "mapping_items"]

MAX_EXPANDED_NODES = 200_000
"""The most nodes a settings or ontology document may have once its aliases are expanded."""

MAX_DEPTH = 100
"""The deepest a settings or ontology document may nest (mappings and lists), aliases expanded; the default
ontology nests 6 levels. Python builds nested YAML recursively, so without a cap a file of a few
thousand ``[`` was a RecursionError."""


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping holds ``key`` twice: first on line ``first_line``, again on ``line`` at ``column`` (1-based;
    None where not known).

    Examples
    --------
    >>> try:
    ...     load_unique("grader:\\n  seed: 0\\ngrader:\\n  seed: 1\\n")
    ... except DuplicateKeyError as exc:
    ...     print(exc.key, exc.first_line, exc.line, exc.column)
    grader 1 3 1
    """

    def __init__(self, key: Any, line: int, first_line: int, column: int | None = None) -> None:
        super().__init__(problem=f"duplicate key {key!r} (first on line {first_line})")
        self.key = key
        self.line = line
        self.first_line = first_line
        self.column = column

    def __str__(self) -> str:
        return f"duplicate key {self.key!r} on line {self.line} (first on line {self.first_line})"


def mapping_items(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Iterator[tuple[Any, Any, int]]:
    """(key, value, 1-based line of the key) for each entry of ``node``; raises on a repeated key.

    For loaders that build their own mapping type. Merge keys (``<<``) are resolved first, and a key of
    the mapping itself may override a merged one, as YAML intends.
    """
    own = {id(k) for k, _v in node.value}  # keys written in this mapping, not brought in by a merge (<<)
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
        except TypeError:
            raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                    "found unhashable key", key_node.start_mark) from None
        if first is not None:
            raise DuplicateKeyError(key, line, first, key_node.start_mark.column + 1)
        if id(key_node) in own:  # a merged key may be overridden once by this mapping's own key
            seen[key] = line
        yield key, loader.construct_object(value_node, deep=True), line  # type: ignore[no-untyped-call]


def expanded_size(node: yaml.Node, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many nodes ``node`` stands for with every alias expanded (counted once per shared node, so fast).

    Counting stops a little past ``limit``; a cyclic document (an alias inside its own anchor) counts
    as too large.
    """
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in active:  # a recursive structure expands without end
            return limit + 1
        active.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        active.discard(key)
        memo[key] = total
        return total

    return size(node)


def expanded_depth(node: yaml.Node, limit: int = MAX_DEPTH) -> int:
    """How deep ``node`` nests with every alias expanded (a scalar is 1); counting stops a little past ``limit``.

    Each shared node is measured once, and the walk never goes deeper than ``limit`` + 1 levels, so a
    chain of aliases that nests thousands of levels deep is measured without recursing that deep.
    A cyclic document counts as too deep.
    """
    memo: dict[int, int] = {}
    active: set[int] = set()

    def depth(n: yaml.Node, level: int) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in active or level > limit:
            return limit + 1
        children: list[yaml.Node] = []
        if isinstance(n, yaml.SequenceNode):
            children = list(n.value)
        elif isinstance(n, yaml.MappingNode):
            children = [c for pair in n.value for c in pair]
        active.add(key)
        deepest = 0
        for child in children:
            deepest = max(deepest, depth(child, level + 1))
            if level + deepest > limit:
                break
        active.discard(key)
        memo[key] = 1 + deepest
        return memo[key]

    return depth(node, 1)


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with :class:`DuplicateKeyError` for repeated keys and a cap on alias expansion.

    Examples
    --------
    >>> rows = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    >>> rows += [f"{c}: &{c} [{', '.join(['*' + p] * 10)}]" for p, c in zip("abcdef", "bcdefg")]
    >>> try:
    ...     load_unique(chr(10).join(rows))
    ... except yaml.YAMLError as exc:
    ...     print("aliases expand" in str(exc))
    True
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """PyYAML's, refusing nesting deeper than :data:`MAX_DEPTH` before Python's recursion limit is reached."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                too_deep = f"the document is nested more than {MAX_DEPTH} levels deep"
                raise yaml.composer.ComposerError(None, None, too_deep, mark)
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1

    def get_single_node(self) -> Any:
        node = super().get_single_node()  # type: ignore[no-untyped-call]
        if node is not None and expanded_depth(node) > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"the document's aliases make it nested more than {MAX_DEPTH} levels deep; write the "
                "values out or use fewer aliases", node.start_mark)
        if node is not None and expanded_size(node) > MAX_EXPANDED_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"the document's aliases expand it to more than {MAX_EXPANDED_NODES:,} nodes "
                "(nested aliases, a 'billion laughs'); write the values out or use fewer aliases", node.start_mark)
        return node


_BOOL_TAG, _INT_TAG, _FLOAT_TAG = (f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float"))
# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution): PyYAML's 1.1 resolvers for these
# three tags are replaced; null and timestamps keep PyYAML's, and so do digit separators (``64_000_000``)
UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in rules if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG)]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
UniqueKeyLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
UniqueKeyLoader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7][0-7_]*|0x[0-9a-fA-F][0-9a-fA-F_]*)$"), list("-+0123456789"))
UniqueKeyLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def _construct_int(loader: UniqueKeyLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 16) if text.startswith("0x") else int(text, 10)  # 1.2: a leading 0 is still decimal


def _construct_bool(loader: UniqueKeyLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


UniqueKeyLoader.add_constructor(_INT_TAG, _construct_int)
UniqueKeyLoader.add_constructor(_BOOL_TAG, _construct_bool)


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    return {key: value for key, value, _line in mapping_items(loader, node)}


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_MERGE_TAG = "tag:yaml.org,2002:merge"


def key_position(text: str, path: Sequence[str | int]) -> tuple[int, int] | None:
    """1-based (line, column) where the value at ``path`` is written in YAML ``text``: the key of a mapping entry,
    the item of a list (an int in ``path``); None when ``text`` does not write it, or does not parse.

    A key brought in by a merge (``<<: *base``) is found where its anchor writes it, and a mapping's
    own key wins over a merged one, as when the document is loaded.

    Examples
    --------
    >>> key_position("version: 1\\npolicy:\\n  coverage: 2\\n", ["policy", "coverage"])
    (3, 3)
    >>> key_position("grades: [A, B]\\n", ["grades", 1]), key_position("a: 1\\n", ["b"])
    ((1, 13), None)
    """
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=UniqueKeyLoader)  # nodes keep their marks
    except yaml.YAMLError:
        return None
    mark = None
    for part in path:
        if isinstance(node, yaml.SequenceNode):
            index = part if isinstance(part, int) else int(part) if str(part).isdigit() else -1
            node = node.value[index] if 0 <= index < len(node.value) else None
            mark = None if node is None else node.start_mark
        elif isinstance(node, yaml.MappingNode):
            entry = _entry(node, str(part), set())
            node, mark = (entry[1], entry[0].start_mark) if entry else (None, None)
        else:
            return None
        if node is None or mark is None:
            return None
    return None if mark is None else (mark.line + 1, mark.column + 1)


def _entry(node: yaml.MappingNode, key: str, seen: set[int]) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of ``key`` in ``node``, its own entries first, then those it merges in."""
    if id(node) in seen:  # a merge cycle
        return None
    seen.add(id(node))
    merged: list[yaml.Node] = []
    for k, v in node.value:
        if k.tag == _MERGE_TAG:
            merged += v.value if isinstance(v, yaml.SequenceNode) else [v]
        elif isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    for source in merged:
        if isinstance(source, yaml.MappingNode) and (found := _entry(source, key, seen)) is not None:
            return found
    return None


def load_unique(text: str) -> Any:
    """``yaml.safe_load`` that raises :class:`DuplicateKeyError` for a key given twice in one mapping,
    reading plain scalars as YAML 1.2 does.

    Examples
    --------
    >>> load_unique("{no: number, on: true, ratio: 1:20, n: 010, x: 0x1F, r: 1e3, m: .inf}")
    {'no': 'number', 'on': True, 'ratio': '1:20', 'n': 10, 'x': 31, 'r': 1000.0, 'm': inf}
    """
    return yaml.load(text, Loader=UniqueKeyLoader)
