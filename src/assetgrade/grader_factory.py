"""The Grader built from its settings (:class:`~assetgrade.grader_settings.GraderSettings`), a setting it refuses
named by its key in ``assetgrade.yaml``, and the same checks without training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetgrade.config import ConfigError, ConfigProblem
from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.grader_settings import GraderSettings, workspace_grader_settings

if TYPE_CHECKING:
    from assetgrade.config import WorkspaceConfig
    from assetgrade.grader import Grader

__all__ = ["check_grader_settings", "grader_from_settings", "grader_problems", "workspace_grader"]


def _key_of(settings: Mapping[str, Any], name: str) -> tuple[str, ...]:
    return settings.key(name) if isinstance(settings, GraderSettings) else ("grader", name)


def _raise(settings: Mapping[str, Any], problems: list[ConfigProblem]) -> ConfigError:
    config = settings.config if isinstance(settings, GraderSettings) else None
    return ConfigError(problems) if config is None else config.error(problems)


# where= of the Grader's and its parts' errors -> the path under grader: of the setting refused
_WHERE_ROOTS = (("Grader.", ()), ("Fuser.", ("fuser",)), ("extractor_settings.", ("extractor_settings",)),
                ("VisionExtractor.", ("extractor_settings", "vision")),
                ("TextExtractor.", ("extractor_settings", "text")),
                ("SensorExtractor.", ("extractor_settings", "sensors")))
_WHERE_KEYS = {"Grader": (), "Fuser": ("fuser",), "extractor": ("extractors",), "extractors": ("extractors",),
               "rul_model": ("extractor_settings", "sensors", "rul_model")}


def _setting_path(exc: AssetgradeError) -> tuple[str, ...]:
    """The path under ``grader:`` of the setting ``exc`` refuses, from its ``where`` (``Grader.seed``, ``Fuser.C``,
    ``extractor_settings.vision``); empty when it names none."""
    at = getattr(exc, "where", None)
    if not isinstance(at, str):
        return ()
    if at in _WHERE_KEYS:
        return _WHERE_KEYS[at]
    for prefix, root in _WHERE_ROOTS:
        if at.startswith(prefix):
            return (*root, *at[len(prefix):].split("."))
    return ()


def _reason(exc: AssetgradeError) -> str:
    return exc.reason if isinstance(exc, ValidationError) and _setting_path(exc) else str(exc)


_FLAGS = ("mondrian", "review_on_contradiction", "review_on_quality", "review_outside_set")
"""The Grader's yes/no keywords, and (below) the fuser's: in the file they take what every yes/no setting of
``assetgrade.yaml`` takes (:data:`assetgrade.config.YesNo`: true/false or the words yes/no)."""
_FUSER_FLAGS = ("ordinal", "use_features", "monotone")


def _yes_no_words(values: Mapping[str, Any], flags: Sequence[str]) -> dict[str, Any]:
    """``values`` with a ``yes``/``no`` word under a key of ``flags`` read as true/false (other values as written,
    for the Grader's own check to judge)."""
    return {k: (v.strip().lower() == "yes" if k in flags and isinstance(v, str) and v.strip().lower() in ("yes", "no")
                else v) for k, v in values.items()}


_EXTRACTOR_FLAGS = {"vision": ("mil",)}
"""The built-in extractors' yes/no keywords under ``extractor_settings:`` (``mil`` also takes ``auto``); a plug-in
extractor's settings go on as written."""
_RUL_FLAGS = ("full_stats",)
"""The yes/no keywords of the sensors extractor's own RUL model (``extractor_settings: sensors: rul_settings:``)."""


def _extractor_words(per_name: Mapping[Any, Any]) -> dict[Any, Any]:
    """``extractor_settings`` with the yes/no words of each built-in extractor's yes/no keywords read."""
    out: dict[Any, Any] = {}
    for name, kw in per_name.items():
        if isinstance(kw, Mapping):  # anything else is the Grader's to refuse
            kw = _yes_no_words(kw, _EXTRACTOR_FLAGS.get(name, ()))
            if name == "sensors" and isinstance(kw.get("rul_settings"), Mapping):
                kw["rul_settings"] = _yes_no_words(kw["rul_settings"], _RUL_FLAGS)
        out[name] = kw
    return out


def _file_words(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """File settings with their yes/no words read (the ``fuser:`` mapping's and the extractors' too); a
    GraderSettings stays one."""
    values = _yes_no_words(settings, _FLAGS)
    if isinstance(values.get("fuser"), Mapping):
        values["fuser"] = _yes_no_words(values["fuser"], _FUSER_FLAGS)
    if isinstance(values.get("extractor_settings"), Mapping):
        values["extractor_settings"] = _extractor_words(values["extractor_settings"])
    if isinstance(settings, GraderSettings):
        return GraderSettings(values, origin=settings.origin, config=settings.config)
    return values


def grader_from_settings(settings: Mapping[str, Any], **given: Any) -> Grader:
    """``Grader(**settings)`` with the ``given`` values that are not None on top.

    A setting of ``settings`` the Grader refuses is a :class:`~assetgrade.config.ConfigError` naming its
    key (``grader.seed``, or ``policy.coverage`` where the policy gave it), at its line when the settings
    came from a workspace's file (:func:`~assetgrade.grader_settings.workspace_grader_settings`); a refused
    ``given`` value is the Grader's own error, as the caller, not the file, gave it.

    Examples
    --------
    >>> grader_from_settings({"folds": 3}, seed=None).folds
    3
    >>> grader_from_settings({"fols": 3})
    Traceback (most recent call last):
    ...
    assetgrade.config.ConfigError: assetgrade.yaml:grader.fols: bad grader settings: ...
    """
    import inspect

    from assetgrade.grader import Grader

    for key, section in (("ontology", "ontology: (a file name at the top level)"), ("costs", "costs:")):
        if key in settings:
            # Grader(costs=<a mapping>) built, and train then failed on it with an AttributeError
            raise _raise(settings, [ConfigProblem(_key_of(settings, key), f"{key!r} is not a grader setting: it "
                                                  f"has its own place in assetgrade.yaml, {section}")])
    settings = _file_words(settings)  # a yes/no word of the file; the caller's ``given`` values stay as given
    options = {k: v for k, v in given.items() if v is not None}
    kw = {**settings, **options}
    try:
        return Grader(**kw)
    except TypeError as exc:
        known = [k for k in inspect.signature(Grader.__init__).parameters if k not in ("self", "ontology", "costs")]
        unknown = sorted(str(k) for k in kw if k not in known)
        if unknown and unknown[0] in options:
            raise ValidationError(f"bad grader settings: {exc}; known keys: {known}", where="Grader") from exc
        hint = f"; known keys: {known}" if unknown else ""
        at = _key_of(settings, unknown[0]) if unknown else ("grader",)
        raise _raise(settings, [ConfigProblem(at, f"bad grader settings: {exc}{hint}")]) from exc
    except AssetgradeError as exc:
        path = _setting_path(exc)
        if not path or path[0] in options or path[0] not in settings:
            raise
        raise _raise(settings, [ConfigProblem((*_key_of(settings, path[0]), *path[1:]), _reason(exc))]) from exc


def grader_problems(settings: Mapping[str, Any], base: Path | None = None) -> list[ConfigProblem]:
    """What is wrong with a ``grader:`` section, found without training (empty: nothing found), each problem
    giving the key path under ``grader:`` (or the ``policy:`` key that gave it) and the reason.

    Builds the Grader, loads a saved RUL model its sensors name (relative to ``base``, the
    workspace) and builds every named extractor from its settings, as ``fit`` would.
    """
    try:
        grader = grader_from_settings(settings)
    except ConfigError as exc:
        return list(exc.problems)
    return _extractor_problems(grader, settings, base)


def _extractor_problems(grader: Grader, settings: Mapping[str, Any], base: Path | None, *,
                        unused: bool = True) -> list[ConfigProblem]:
    """The RUL model and extractors ``grader`` names, built as ``fit`` would; each problem's key under ``grader:``.
    ``unused``: also name settings of an extractor the grader does not use (harmless to ``fit``)."""
    from assetgrade.grading.training import extractor_factory

    key = _key_of(settings, "extractor_settings")
    try:
        resolved = grader.resolve_settings(base)
    except AssetgradeError as exc:  # the one path it reads: a saved RUL model
        return [ConfigProblem((*key, "sensors", "rul_model"), _reason(exc))]
    problems: list[ConfigProblem] = []
    names = [e for e in grader.extractors if isinstance(e, str)]
    for name in sorted(set(resolved) - set(names)) if unused else ():
        problems.append(ConfigProblem((*key, name), f"no extractor {name!r} is used (extractors: {names})"))
    read_by: dict[str, list[str]] = {}
    for name in names:
        try:
            modality, _ = extractor_factory(name, resolved.get(name))
            read_by.setdefault(modality, []).append(name)
        except TypeError as exc:
            problems.append(ConfigProblem((*key, name), str(exc)))
        except AssetgradeError as exc:
            path = _setting_path(exc)  # get_extractor names extractor_settings.<name>, or the extractor list
            problems.append(ConfigProblem((*_key_of(settings, path[0]), *path[1:]) if path else ("grader",),
                                          _reason(exc)))
    for modality, both in read_by.items():
        if len(both) > 1:
            problems.append(ConfigProblem(_key_of(settings, "extractors"), f"{both} all read {modality}; the grader "
                                          "keeps one extractor per modality"))
    return problems


def check_grader_settings(settings: Mapping[str, Any], base: Path | None = None) -> list[str]:
    """:func:`grader_problems` as lines, each naming its key (``assetgrade.yaml:grader.seed: ...``)."""
    return [str(p) for p in grader_problems(settings, base)]


def workspace_grader(config: WorkspaceConfig, base: Path | None = None, **given: Any) -> Grader:
    """The Grader ``train`` fits: the workspace's ``grader:`` and ``policy:`` settings with ``given`` (CLI
    options, None: as configured) on top, its extractors and RUL model checked as :func:`grader_problems`
    checks them (settings of an extractor left out are not a problem here); a problem is a
    :class:`~assetgrade.config.ConfigError` naming where the file writes it."""
    settings = workspace_grader_settings(config)
    grader = grader_from_settings(settings, **given)
    problems = _extractor_problems(grader, settings, base, unused=False)  # --extractors may leave some out
    if problems:
        raise config.error(problems)
    return grader
