"""Workspace settings: the validated ``assetgrade.yaml`` (store URL, blob root, policy and free sections)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from assetgrade.errors import NotFoundError, ValidationError
from assetgrade.strict_yaml import DuplicateKeyError, key_position, load_unique

__all__ = [
    "CONFIG_NAME", "ConfigError", "ConfigProblem", "PolicySettings", "WorkspaceConfig", "YesNo", "config_value",
    "key_where", "load_config", "parse_config", "read_config_text", "save_config", "set_in_text", "unset_in_text",
]

CONFIG_NAME = "assetgrade.yaml"


def _yes_no(value: Any) -> Any:
    """``true``/``false``, or the words ``yes``/``no`` (YAML 1.1 read them as booleans; store.md says they still
    work); anything else, ``1`` or ``"on"`` included, is refused as number settings refuse ``true``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "no"):
        return value.lower() == "yes"
    raise PydanticCustomError("yes_no", "Input should be true or false (or yes / no)")


YesNo = Annotated[bool, BeforeValidator(_yes_no)]
"""A yes/no setting: strict, as the number settings are (pydantic's own bool also took 1, 0, "on", "t")."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with ``assetgrade.yaml``: the ``key`` path it concerns (``("grader", "fuser", "C")``; empty:
    the file as a whole) and the ``reason``. What the section checks return and :class:`ConfigError` carries;
    :meth:`at` names the line and column where a file's text writes the key.

    Examples
    --------
    >>> p = ConfigProblem(("policy", "coverag"), "unknown key")
    >>> str(p)
    'assetgrade.yaml:policy.coverag: unknown key'
    >>> p.at("ws/assetgrade.yaml", "policy:\\n  coverag: 0.8\\n")
    'ws/assetgrade.yaml:line 2:column 3:policy.coverag: unknown key'
    """

    key: tuple[str | int, ...]
    reason: str

    def __str__(self) -> str:
        return self.at(CONFIG_NAME)

    def at(self, where: str, text: str | None = None) -> str:
        """The problem as one line naming ``where`` (the file), the line and column at which ``text`` writes the key
        (left out when ``text`` is None or does not write it) and the key."""
        return f"{key_where(where, self.key, text) if self.key else where}: {self.reason}"


class ConfigError(ValidationError):
    """Bad settings in ``assetgrade.yaml``: ``problems`` (key path and reason each), ``where`` the file, line, column
    and key of the first; the others follow in the message, each located the same way (exit code 2).

    Raised by the readers of a section (``Workspace.costs``, the ``grader:`` settings, ``drift:``,
    ``lifecycle:``) through :meth:`WorkspaceConfig.error`, which knows the file and its text.
    """

    def __init__(self, problems: Iterable[ConfigProblem], *, where: str = CONFIG_NAME, text: str | None = None) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("a ConfigError needs at least one problem")
        first, *rest = self.problems
        super().__init__("; ".join([first.reason, *(p.at(where, text) for p in rest)]),
                         where=key_where(where, first.key, text) if first.key else where)


class PolicySettings(BaseModel):
    """The workspace's decision settings, which ``train``, ``evaluate`` and ``retrain`` give the Grader.

    Each field the file sets becomes a Grader default (``coverage``; ``review_if_set_size_over``
    → ``max_set_size``; ``max_expected_cost``, a fixed review threshold instead of the learned
    one); the ``grader:`` section's keys and CLI options win
    (:func:`assetgrade.grader_settings.workspace_grader_settings`). Unknown keys are kept so old
    files load; ``config check`` names them.

    Examples
    --------
    >>> PolicySettings().coverage
    0.9
    """

    model_config = ConfigDict(extra="allow")

    # strict: a quoted "0.8" or a YAML `true` is refused here as the grader: section refuses it,
    # instead of being coerced (true became a set-size limit of 1)
    coverage: float = Field(0.9, gt=0.0, lt=1.0, strict=True, description="target coverage of conformal grade sets")
    review_if_set_size_over: int = Field(1, ge=1, strict=True, description="send to review when the set is larger")
    max_expected_cost: float | None = Field(None, ge=0.0, strict=True, allow_inf_nan=False,
                                            description="send to review above this cost")


class WorkspaceConfig(BaseModel):
    """The contents of ``assetgrade.yaml``.

    ``store_url`` (None: the workspace's ``assetgrade.db`` SQLite file) and ``blob_root``
    (None: the workspace's ``blobs/`` folder; any fsspec URL works) select the storage.
    Other modules add their own sections (``costs:``, ``audit:``...): unknown top-level keys are
    kept as they are and reachable through :meth:`section`.

    Examples
    --------
    >>> cfg = WorkspaceConfig.model_validate({"costs": {"matrix": [[0]]}})
    >>> cfg.section("costs")
    {'matrix': [[0]]}
    >>> cfg.store_url is None
    True
    """

    model_config = ConfigDict(extra="allow")

    version: int = Field(1, ge=1, le=1, strict=True, description="config format version")
    store_url: str | None = None
    blob_root: str | None = None
    ontology: str | None = Field(None, description="ontology YAML (relative to the workspace); None: default")
    verify_blobs_on_read: YesNo = False
    # strict numbers: YAML's true is not the integer 1, nor a quoted "2" a size
    ingest_group_size: int = Field(200, ge=1, le=100_000, strict=True)
    max_image_pixels: int = Field(64_000_000, ge=1, strict=True)
    evidence_cache_max_gb: float = Field(
        2.0, gt=0.0, strict=True, allow_inf_nan=False,
        description="cap on cache/evidence.sqlite (graders' evidence rows); oldest-written go first")
    policy: PolicySettings = Field(default_factory=PolicySettings)
    _where: str = PrivateAttr(CONFIG_NAME)  # the file it was read from, and its text (None: lines unknown)
    _text: str | None = PrivateAttr(None)

    @field_validator("policy", mode="before")
    @classmethod
    def _empty_policy(cls, value: Any) -> Any:
        """``policy:`` with nothing under it (every line commented out) sets nothing."""
        return {} if value is None else value

    def ontology_path(self, base: Path) -> Path | None:
        """The ontology file, relative paths starting at the workspace folder ``base``; None: the shipped one."""
        if self.ontology is None:
            return None
        p = Path(self.ontology)
        return p if p.is_absolute() else base / p

    def section(self, name: str) -> dict[str, Any]:
        """A free-form section added by another module (empty dict when absent); one that is not a mapping is a
        :class:`ConfigError` naming where the file writes it."""
        extra = self.model_extra or {}
        value = extra.get(name, {})
        if value is None:  # `costs:` with every line under it commented out: nothing set
            return {}
        if not isinstance(value, dict):
            raise self.error([ConfigProblem((name,), f"must be a mapping of settings (a section), got "
                                                     f"{type(value).__name__}")])
        return value

    def locate(self, problem: ConfigProblem) -> str:
        """``problem`` as one line naming the file this config was read from, the line and column of its key
        (when the file's text is known) and the key; ``assetgrade.yaml:KEY: ...`` for a config built in code."""
        return problem.at(self._where, self._text)

    def error(self, problems: Iterable[ConfigProblem]) -> ConfigError:
        """A :class:`ConfigError` for ``problems``, each named where this config's file writes its key."""
        return ConfigError(problems, where=self._where, text=self._text)


def key_where(where: str, key: Sequence[str | int], text: str | None) -> str:
    """``where`` (the file) with the line and column at which config YAML ``text`` writes the dotted ``key``,
    then the key; without them when ``text`` is None or does not write the key.

    Examples
    --------
    >>> key_where("ws/assetgrade.yaml", ["policy", "coverage"], "policy:\\n  coverage: 2\\n")
    'ws/assetgrade.yaml:line 2:column 3:policy.coverage'
    >>> key_where("ws/assetgrade.yaml", ["policy", "coverage"], "version: 1\\n")
    'ws/assetgrade.yaml:policy.coverage'
    """
    dotted = ".".join(str(p) for p in key)
    at = None if text is None else key_position(text, list(key))
    head = f"{where}:line {at[0]}:column {at[1]}" if at and where else where
    return f"{head}:{dotted}" if head else dotted


def _validated(raw: dict[str, Any], where: str, text: str | None = None) -> WorkspaceConfig:
    try:
        config = WorkspaceConfig.model_validate(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError([ConfigProblem(tuple(first["loc"]), f"{first['msg']} (got {first.get('input')!r})")],
                          where=where, text=text) from exc
    config._where, config._text = where or CONFIG_NAME, text
    return config


def _path(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ValidationError(f"{key!r} is not a dotted key such as 'policy.coverage'", where="key")
    return parts


def config_value(config: WorkspaceConfig, key: str) -> Any:
    """The value at a dotted ``key`` (``"grader.fuser.model"``); NotFoundError when it is not set.

    Examples
    --------
    >>> config_value(WorkspaceConfig(), "policy.coverage")
    0.9
    """
    node: Any = config.model_dump(mode="json")
    parts = _path(key)
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            raise NotFoundError(f"{'.'.join(parts[: i + 1])} is not set")
        node = node[part]
    return node


def read_config_text(path: Path) -> str:
    """The config file's text; errors name the file (unreadable, not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read config: {exc}", where=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=str(path)) from None


def parse_config(text: str, where: str, *, lines: bool = True) -> WorkspaceConfig:
    """Validate config YAML ``text``; errors name ``where`` (the file), the line and column of the bad key (a
    bad or mistyped value, a key given twice) and the key. ``lines=False``: no line of a bad value, for a
    text that is not the file's (an edit refused before it was written).

    The config remembers ``where`` and (with ``lines``) ``text``, so the problems that the readers of its
    sections find later are named at their line too (:meth:`WorkspaceConfig.error`)."""
    try:
        raw = load_unique(text)
    except DuplicateKeyError as exc:
        at = f"{where}:line {exc.line}" + (f":column {exc.column}" if exc.column else "")
        raise ValidationError(f"{exc.key!r} is given twice (first on line {exc.first_line}); YAML would silently "
                              "keep the last one, so merge the two", where=at) from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"not valid YAML: {exc}", where=where) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError("the config must be a mapping of keys to values", where=where)
    return _validated(raw, where=where, text=text if lines else None)


def load_config(path: Path) -> WorkspaceConfig:
    """Read and validate a config file; errors name the file and the bad key."""
    return parse_config(read_config_text(path), str(path))


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a user's long line
    # write None as "null", as the file had it (ruamel's round trip writes an empty value)
    rt.representer.add_representer(
        type(None), lambda rep, _data: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return rt


def _dump_rt(rt: Any, doc: Any) -> str:
    import io

    buf = io.StringIO()
    rt.dump(doc, buf)
    return buf.getvalue()


def set_in_text(text: str, key: str, value: Any) -> str:
    r"""Config YAML ``text`` with the dotted ``key`` set to ``value``, everything else kept as written.

    Comments, key order, quoting and untouched values stay as they are (a round-trip edit with
    ruamel.yaml), unlike :func:`save_config`, which writes every setting out. Mappings on the
    way are made. The result is not validated here: :func:`parse_config` does that.

    Examples
    --------
    >>> print(set_in_text("# our line's settings\npolicy:\n  coverage: 0.9  # agreed 2026-03\n",
    ...                   "policy.coverage", 0.95), end="")
    # our line's settings
    policy:
      coverage: 0.95 # agreed 2026-03
    >>> print(set_in_text("", "grader.fuser.model", "latent"), end="")
    grader:
      fuser:
        model: latent
    """
    from ruamel.yaml.comments import CommentedMap

    parts = _path(key)
    rt = _round_trip()
    doc = rt.load(text)
    prefix = ""
    if doc is None:  # empty, or comments only: keep what is there and add the key below it
        doc = CommentedMap()
        prefix = text if not text or text.endswith("\n") else text + "\n"
    if not isinstance(doc, dict):
        raise ValidationError("the config must be a mapping of keys to values", where=key)
    node: Any = doc
    for i, part in enumerate(parts[:-1]):
        if part not in node or node[part] is None:
            node[part] = CommentedMap()
        node = node[part]
        if not isinstance(node, dict):
            raise ValidationError(f"{'.'.join(parts[: i + 1])} holds {node!r}, not a mapping", where=key)
    node[parts[-1]] = _quoted_where_needed(value)
    return prefix + _dump_rt(rt, doc)


def _quoted_where_needed(value: Any) -> Any:
    """``value`` with each string that YAML 1.1 would read as something else single-quoted.

    The edit is written by ruamel.yaml (YAML 1.2), which writes the string ``NO`` or ``on``
    unquoted. assetgrade reads the file back as YAML 1.2 too (:mod:`assetgrade.strict_yaml`), but
    other tools that read it may use YAML 1.1, which reads those as false and true (a currency
    of Norway became ``False``), so such strings are quoted anyway. Only the value set is quoted,
    so the rest of the file keeps the meaning it has.
    """
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    if isinstance(value, str):
        try:
            same = yaml.safe_load(value) == value
        except yaml.YAMLError:
            same = False
        return value if same or "\n" in value else SingleQuotedScalarString(value)
    if isinstance(value, dict):
        return {k: _quoted_where_needed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_quoted_where_needed(v) for v in value]
    return value


def unset_in_text(text: str, key: str) -> str | None:
    """Config YAML ``text`` without the dotted ``key`` (emptied mappings on the way go too), the rest kept
    as written; None when the text does not hold ``key``."""
    parts = _path(key)
    rt = _round_trip()
    doc = rt.load(text)
    trail: list[Any] = []
    node: Any = doc
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        trail.append(node)
        node = node[part]
    for parent, part in zip(reversed(trail), reversed(parts), strict=True):
        del parent[part]
        if parent is doc or len(parent) > 0:
            break
    if len(doc):
        return _dump_rt(rt, doc)
    # nothing left: keep the file's opening comments (they belong to no key)
    head = itertools.takewhile(lambda line: not line.strip() or line.lstrip().startswith("#"),
                               text.splitlines(keepends=True))
    return "".join(line for line in head if line.strip())


def save_config(config: WorkspaceConfig, path: Path) -> None:
    """Write ``config`` as YAML (atomically: temp file then rename)."""
    data = config.model_dump(mode="json", exclude_none=False)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text("# assetgrade workspace settings\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
