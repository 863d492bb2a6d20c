"""Checks of the config's policy sections (``policy:``, ``drift:``, ``lifecycle:``, ``audit:``, ``documentation:``).

Each section is read by one command long after it was written (``audit drift``,
``models promote``, ``retrain``, ``audit``, the exported documents); a misspelt key or a value of
the wrong kind would otherwise surface only there, or, for keys a policy ignores, never.
``assetgrade config check`` runs :func:`section_problems` beside the grader checks; each problem
is a :class:`~assetgrade.config.ConfigProblem` (key path and reason), named at its line by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from assetgrade.config import ConfigError, ConfigProblem
from assetgrade.errors import AssetgradeError, ValidationError

if TYPE_CHECKING:
    from pathlib import Path

    from assetgrade.audit.drift import DriftPolicy
    from assetgrade.config import WorkspaceConfig
    from assetgrade.lifecycle.evaluate import PromotionPolicy
    from assetgrade.lifecycle.triggers import RetrainPolicy

__all__ = [
    "DOCUMENTATION_KEYS", "AuditSettings", "audit_section", "check_sections", "check_workspace_config",
    "drift_policy", "promotion_policy", "retrain_policy", "section_problems",
]

DOCUMENTATION_KEYS: dict[str, str] = {
    "intended_use": "text", "out_of_scope": "list of texts", "limitations": "list of texts",
    "motivation": "text", "owner": "text", "contact": "text",
}
"""The ``documentation:`` keys the exported model and data documents read, with the kind each takes."""


Key = tuple[str, ...]


@dataclass(frozen=True)
class AuditSettings:
    """The config's ``audit:`` section as :func:`audit_section` reads it: the ``checks`` to run (None: not set, so
    ``--checks`` or all of them) and each check's ``settings`` (a switch's yes / no words read as booleans).

    Examples
    --------
    >>> AuditSettings().checks is None
    True
    """

    checks: tuple[str, ...] | None = None
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


def _unknown(section: Mapping[str, Any], known: list[str], key: Key) -> list[ConfigProblem]:
    return [ConfigProblem((*key, str(k)), f"unknown key; known: {known}") for k in section if k not in known]


def _policy(model: type[BaseModel], value: Any, key: Key) -> list[ConfigProblem]:
    """Problems of ``value`` as ``model``'s settings: unknown keys and every invalid field, each named."""
    if not isinstance(value, Mapping):
        return [ConfigProblem(key, f"must be a mapping of settings, got {type(value).__name__}")]
    problems = _unknown(value, list(model.model_fields), key)
    try:
        model.model_validate({k: v for k, v in value.items() if k in model.model_fields})
    except PydanticValidationError as exc:
        for err in exc.errors():
            problems.append(ConfigProblem((*key, *(str(p) for p in err["loc"])),
                                          f"{err['msg']} (got {err.get('input')!r})"))
    return problems


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _drift(section: Mapping[str, Any], key: Key) -> list[ConfigProblem]:
    from assetgrade.audit.drift import DriftPolicy

    return _policy(DriftPolicy, section, key)


def _lifecycle(section: Mapping[str, Any], key: Key) -> list[ConfigProblem]:
    from assetgrade.lifecycle.evaluate import PromotionPolicy
    from assetgrade.lifecycle.triggers import RetrainPolicy

    problems = _unknown(section, ["promotion", "retrain", "subgroups"], key)
    if "promotion" in section:
        problems += _policy(PromotionPolicy, section["promotion"], (*key, "promotion"))
    if "retrain" in section:
        problems += _policy(RetrainPolicy, section["retrain"], (*key, "retrain"))
    if "subgroups" in section and not (_texts(section["subgroups"]) and all(section["subgroups"])):
        problems.append(ConfigProblem((*key, "subgroups"), "must be a list of record fields (asset_type, "
                                      f"modalities or an attribute name), got {section['subgroups']!r}"))
    return problems


def _check_settings(name: str, params: Mapping[str, Any], at: Key) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """One check's settings as read (a switch's yes / no words as booleans), without the bad ones, and the problem
    of each bad one, named at the setting's own key: a setting the check does not have, a switch that is not yes or
    no, a value its constructor refuses (each refusal names CHECK.SETTING; the key says that, so the reason alone)."""
    from assetgrade.audit.base import get_check
    from assetgrade.audit.params import setting_names, written_settings

    known = setting_names(name)
    problems = [] if known is None else _unknown(params, known, at)
    read: dict[str, Any] = {}
    for setting, value in params.items():
        if known is None or setting in known:
            try:
                read.update(written_settings(name, {setting: value}))
            except ValidationError as exc:
                problems.append(ConfigProblem((*at, str(setting)), exc.reason))
    fault: AssetgradeError
    while True:  # built with what is left, each setting refused taken out, until it builds or the check is at fault
        try:
            get_check(name, **read)
            break
        except ValidationError as exc:
            setting = (exc.where or "").removeprefix(f"{name}.")
            if setting in read and exc.where == f"{name}.{setting}":
                problems.append(ConfigProblem((*at, setting), exc.reason))
                del read[setting]
                continue
            fault = exc
        except AssetgradeError as exc:
            fault = exc
        if not problems:  # (a required setting refused above is missing now: said already)
            problems.append(ConfigProblem(at, str(fault)))
        break
    order = {str(k): i for i, k in enumerate(params)}  # in the file's order
    return read, sorted(problems, key=lambda p: order.get(str(p.key[-1]), -1) if len(p.key) > len(at) else -1)


def _read_audit(section: Mapping[str, Any], key: Key) -> tuple[AuditSettings, list[ConfigProblem]]:
    """The ``audit:`` section as :class:`AuditSettings` (what of it could be read) and every problem, each named."""
    from assetgrade.audit.base import available_checks

    known = list(available_checks())
    problems = _unknown(section, ["checks", "settings"], key)
    checks = section.get("checks", [])
    at = (*key, "checks")
    if not _texts(checks):
        problems.append(ConfigProblem(at, f"must be a list of check names, got {checks!r}"))
    elif "checks" in section and not checks:
        problems.append(ConfigProblem(at, f"empty, so the audit would pass without checking anything; list some"
                                          f" of {known} or remove the key to run them all"))
    else:
        problems += [ConfigProblem(at, f"unknown check {c!r}; known: {known}") for c in checks if c not in known]
    read = AuditSettings(tuple(checks) if "checks" in section and _texts(checks) else None, {})
    settings = section.get("settings", {})
    if not isinstance(settings, Mapping):
        return read, [*problems, ConfigProblem((*key, "settings"), f"must map check names to their settings, got "
                                                                    f"{settings!r}")]
    for name, params in settings.items():
        at = (*key, "settings", str(name))
        if name not in known:
            problems.append(ConfigProblem(at, f"unknown check; known: {known}"))
        elif not isinstance(params, Mapping):
            problems.append(ConfigProblem(at, f"must be a mapping of settings, got {params!r}"))
        else:
            read.settings[name], found = _check_settings(name, params, at)
            problems += found
    return read, problems


def _audit(section: Mapping[str, Any], key: Key) -> list[ConfigProblem]:
    return _read_audit(section, key)[1]


def _documentation(section: Mapping[str, Any], key: Key) -> list[ConfigProblem]:
    problems = _unknown(section, list(DOCUMENTATION_KEYS), key)
    for name, kind in DOCUMENTATION_KEYS.items():
        if name not in section or section[name] is None:
            continue
        value = section[name]
        ok = _texts(value) if kind == "list of texts" else isinstance(value, str)
        if not ok:
            problems.append(ConfigProblem((*key, name), f"must be a {kind}, got {value!r}"))
    return problems


_SECTIONS: dict[str, Callable[[Mapping[str, Any], Key], list[ConfigProblem]]] = {
    "drift": _drift, "lifecycle": _lifecycle, "audit": _audit, "documentation": _documentation,
}


OTHER_SECTIONS = ("costs", "grader")
"""Top-level sections read elsewhere (:mod:`assetgrade.grader_settings`, ``Workspace.costs``), beside ``_SECTIONS``."""


def section_problems(config: WorkspaceConfig) -> list[ConfigProblem]:
    """What is wrong with the config's top-level keys and policy sections, each problem giving its key path and
    reason (empty: nothing found); ``config.locate(problem)`` names its line.

    A top-level key of one's own (``team:``) is kept, but one that is nearly a known key (``grdaer:``,
    ``ingest_group_sise:``) is named as the misspelling it most likely is: nothing reads it, so the
    settings it was meant to hold silently stay at their defaults.

    Examples
    --------
    >>> from assetgrade.config import WorkspaceConfig
    >>> (p,) = section_problems(WorkspaceConfig.model_validate({"lifecycle": {"retrain": {"min_new_labels": 0}}}))
    >>> p.key, p.reason
    (('lifecycle', 'retrain', 'min_new_labels'), 'Input should be greater than or equal to 1 (got 0)')
    """
    import difflib

    known = [*type(config).model_fields, *_SECTIONS, *OTHER_SECTIONS]
    problems = [ConfigProblem((str(key),), f"unknown key, a misspelling of {near[0]!r}? (nothing reads it; rename "
                              "it, or give a section of your own a name further from the known keys)")
                for key in config.model_extra or {}
                if key not in known and (near := difflib.get_close_matches(str(key), known, n=1, cutoff=0.8))]
    problems += _unknown(config.policy.model_extra or {}, list(type(config.policy).model_fields), ("policy",))
    for name, check in _SECTIONS.items():
        try:
            section = config.section(name)
        except ConfigError as exc:
            problems += exc.problems
            continue
        if section:
            problems += check(section, (name,))
    return problems


def check_sections(config: WorkspaceConfig) -> list[str]:
    """:func:`section_problems` as lines, each naming its key (``assetgrade.yaml:KEY: reason``).

    Examples
    --------
    >>> from assetgrade.config import WorkspaceConfig
    >>> check_sections(WorkspaceConfig.model_validate({"drift": {"alpha": 0.01, "alhpa": 0.05}}))
    ["assetgrade.yaml:drift.alhpa: unknown key; known: ['alpha', 'mmd_quantile', ..."]
    >>> check_sections(WorkspaceConfig.model_validate({"lifecycle": {"retrain": {"min_new_labels": 0}}}))
    ['assetgrade.yaml:lifecycle.retrain.min_new_labels: Input should be greater than or equal to 1 (got 0)']
    >>> check_sections(WorkspaceConfig.model_validate({"grdaer": {"folds": 3}, "team": {"owner": "ops"}}))
    ["assetgrade.yaml:grdaer: unknown key, a misspelling of 'grader'? (nothing reads it; ..."]
    """
    return [str(p) for p in section_problems(config)]


def check_workspace_config(config: WorkspaceConfig, base: Path) -> list[ConfigProblem]:
    """Everything ``config check`` finds without touching the data: :func:`~assetgrade.config_check.config_problems`
    (ontology, costs, grader) and :func:`section_problems`. ``base``: the workspace folder."""
    from assetgrade.config_check import config_problems

    return config_problems(config, base) + section_problems(config)


def _section_or_raise(config: WorkspaceConfig, name: str) -> dict[str, Any]:
    section = config.section(name)
    problems = _SECTIONS[name](section, (name,)) if section else []
    if problems:
        raise config.error(problems)
    return section


def audit_section(config: WorkspaceConfig) -> AuditSettings:
    """The ``audit:`` section, validated whole (the settings of checks not run too, as ``config check`` judges
    them); every problem is collected into one :class:`~assetgrade.config.ConfigError`, each named at the file, line,
    column and key (``audit.settings.duplicates.min_cosine``) where the file writes it.

    Examples
    --------
    >>> from assetgrade.config import WorkspaceConfig
    >>> audit_section(WorkspaceConfig.model_validate({"audit": {"settings": {"imbalance": {"real_only": "no"}}}}))
    AuditSettings(checks=None, settings={'imbalance': {'real_only': False}})
    >>> audit_section(WorkspaceConfig.model_validate({"audit": {"settings": {"duplicates": {"min_cosine": 2}}}}))
    Traceback (most recent call last):
    ...
    assetgrade.config.ConfigError: assetgrade.yaml:audit.settings.duplicates.min_cosine: 2 is not allowed; ...
    """
    section = config.section("audit")
    if not section:
        return AuditSettings()
    read, problems = _read_audit(section, ("audit",))
    if problems:
        raise config.error(problems)
    return read


def drift_policy(config: WorkspaceConfig) -> DriftPolicy:
    """The ``drift:`` section as a :class:`~assetgrade.audit.drift.DriftPolicy`; a bad key or value is named."""
    from assetgrade.audit.drift import DriftPolicy

    return DriftPolicy.model_validate(_section_or_raise(config, "drift"))


def retrain_policy(config: WorkspaceConfig) -> RetrainPolicy:
    """``lifecycle: retrain:`` as a :class:`~assetgrade.lifecycle.triggers.RetrainPolicy`; a bad value is named."""
    from assetgrade.lifecycle.triggers import RetrainPolicy

    return RetrainPolicy.model_validate(_section_or_raise(config, "lifecycle").get("retrain", {}))


def promotion_policy(config: WorkspaceConfig) -> PromotionPolicy:
    """``lifecycle: promotion:`` as a :class:`~assetgrade.lifecycle.evaluate.PromotionPolicy`; bad values named."""
    from assetgrade.lifecycle.evaluate import PromotionPolicy

    return PromotionPolicy.model_validate(_section_or_raise(config, "lifecycle").get("promotion", {}))
