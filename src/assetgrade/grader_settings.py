"""What a Grader is built from (``grader:``, ``costs:``, the ontology): the Grader, and checks without training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetgrade.config import ConfigError, ConfigProblem
from assetgrade.errors import AssetgradeError, ValidationError
from assetgrade.workspace import workspace_costs

if TYPE_CHECKING:
    from assetgrade.config import WorkspaceConfig
    from assetgrade.grader import Grader
    from assetgrade.store.records import AssetRecord

__all__ = ["SETTINGS_WHERE", "DataCheck", "GraderSettings", "check_config", "check_grader_settings",
           "check_training_data", "config_problems", "effective_grader_settings", "grader_from_settings",
           "grader_problems", "shadowed_policy", "workspace_costs", "workspace_grader", "workspace_grader_settings"]

SETTINGS_WHERE = "assetgrade.yaml:grader"


_FROM_POLICY = {"coverage": "coverage", "max_set_size": "review_if_set_size_over",
                "max_expected_cost": "max_expected_cost"}
"""Grader keyword → the ``policy:`` field that gives its workspace default."""


class GraderSettings(dict[str, Any]):
    """Grader keywords read from a workspace config, remembering the key of the file that gives each
    (``origin``; a keyword not in it: ``grader.<keyword>``) and the ``config``, so a setting the Grader
    refuses is named where the file writes it (:func:`grader_from_settings`).

    Examples
    --------
    >>> s = GraderSettings({"coverage": 0.8}, origin={"coverage": ("policy", "coverage")})
    >>> s["coverage"], s.key("coverage"), s.key("folds")
    (0.8, ('policy', 'coverage'), ('grader', 'folds'))
    """

    def __init__(self, values: Mapping[str, Any], *, origin: Mapping[str, tuple[str, ...]] | None = None,
                 config: WorkspaceConfig | None = None) -> None:
        super().__init__(values)
        self.origin = dict(origin or {})
        self.config = config

    def key(self, name: str) -> tuple[str, ...]:
        """The config key path that gives the Grader keyword ``name``."""
        return self.origin.get(name, ("grader", name))


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


def effective_grader_settings(config: WorkspaceConfig) -> list[tuple[str, Any, str]]:
    """Every Grader keyword ``train`` would use in this workspace: (key, value, where it comes from).

    The source is ``grader:`` (the section sets it), ``policy:<field>`` (the policy section gives
    it), or ``default``. ``ontology`` and ``costs`` come from their own sections and are left
    out; CLI options (``--folds`` ...) still go on top.

    Examples
    --------
    >>> from assetgrade.config import WorkspaceConfig
    >>> rows = effective_grader_settings(WorkspaceConfig.model_validate(
    ...     {"policy": {"review_if_set_size_over": 2}, "grader": {"folds": 3}}))
    >>> [r for r in rows if r[0] in ("folds", "seed", "max_set_size")]
    [('folds', 3, 'grader:'), ('seed', 0, 'default'), ('max_set_size', 2, 'policy:review_if_set_size_over')]
    """
    import inspect

    from assetgrade.grader import Grader

    section = config.section("grader")
    policy = config.policy
    rows: list[tuple[str, Any, str]] = []
    for name, param in inspect.signature(Grader.__init__).parameters.items():
        if name in ("self", "ontology", "costs"):
            continue
        if name in section:
            rows.append((name, section[name], "grader:"))
        elif name in _FROM_POLICY and _FROM_POLICY[name] in policy.model_fields_set:
            rows.append((name, getattr(policy, _FROM_POLICY[name]), f"policy:{_FROM_POLICY[name]}"))
        else:
            default = param.default
            rows.append((name, list(default) if isinstance(default, tuple) else default, "default"))
    return rows


def workspace_grader_settings(config: WorkspaceConfig) -> GraderSettings:
    """The ``grader:`` section, with the ``policy:`` section's decision settings beneath it as defaults.

    ``policy.coverage`` gives ``coverage``, ``policy.review_if_set_size_over`` gives
    ``max_set_size`` and ``policy.max_expected_cost`` gives ``max_expected_cost`` (a fixed review
    threshold instead of the learned one), each when the file sets it; the same key in
    ``grader:`` wins, and CLI options win over both (:func:`grader_from_settings`).

    Examples
    --------
    >>> from assetgrade.config import WorkspaceConfig
    >>> cfg = WorkspaceConfig.model_validate({"policy": {"coverage": 0.95, "review_if_set_size_over": 2},
    ...                                       "grader": {"coverage": 0.8}})
    >>> s = workspace_grader_settings(cfg)
    >>> s["coverage"], s["max_set_size"], "max_expected_cost" in s  # a policy key the file does not set: absent
    (0.8, 2, False)
    """
    policy = config.policy
    given = {key: getattr(policy, field) for key, field in _FROM_POLICY.items() if field in policy.model_fields_set}
    section = config.section("grader")
    origin = {key: ("policy", _FROM_POLICY[key]) for key in given if key not in section}
    return GraderSettings({**given, **section}, origin=origin, config=config)


def shadowed_policy(config: WorkspaceConfig, ignore: Collection[str] = ()) -> list[str]:
    """The ``policy:`` settings that a different value under ``grader:`` overrides, each as one line.

    Both sections may set the coverage, the set-size rule and the review threshold; ``grader:``
    wins (:func:`workspace_grader_settings`). A file that sets both differently reads as if the
    policy were in force, so ``config check``, ``config set``, ``train`` and ``evaluate`` say so.
    ``ignore``: Grader keywords to leave out (a CLI option overrides both sections).

    Examples
    --------
    >>> from assetgrade.config import WorkspaceConfig
    >>> shadowed_policy(WorkspaceConfig.model_validate({"policy": {"coverage": 0.95}, "grader": {"coverage": 0.8}}))
    ['grader.coverage = 0.8 overrides policy.coverage = 0.95']
    >>> shadowed_policy(WorkspaceConfig.model_validate({"policy": {"coverage": 0.9}, "grader": {"coverage": 0.9}}))
    []
    """
    policy = config.policy
    section = config.section("grader")
    return [f"grader.{key} = {section[key]!r} overrides policy.{field} = {getattr(policy, field)!r}"
            for key, field in _FROM_POLICY.items()
            if key not in ignore and field in policy.model_fields_set and key in section
            and section[key] != getattr(policy, field)]


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
    came from a workspace's file (:func:`workspace_grader_settings`); a refused ``given`` value is the
    Grader's own error, as the caller, not the file, gave it.

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


def config_problems(config: WorkspaceConfig, base: Path) -> list[ConfigProblem]:
    """What is wrong with a workspace's settings beyond their schema (empty: nothing found).

    The ontology file loads, the ``costs:`` section is a valid cost matrix on the ontology's
    grades, and the ``grader:`` section passes :func:`grader_problems`. ``base``: the
    workspace folder (relative paths start there).
    """
    from assetgrade.ontology import default_ontology, load_ontology

    problems: list[ConfigProblem] = []
    grades: tuple[str, ...] | None = None
    try:
        path = config.ontology_path(base)
        ontology = default_ontology() if path is None else load_ontology(path)
        grades = tuple(ontology.grades.names)
    except AssetgradeError as exc:
        problems.append(ConfigProblem(("ontology",), str(exc)))
    try:
        if config.section("costs"):
            cfg = workspace_costs(config, grades)
            if grades is not None and tuple(cfg.grades) != grades:
                problems.append(ConfigProblem(("costs", "grades"), f"{list(cfg.grades)} differ from the ontology's "
                                              f"grades {list(grades)}"))
    except ConfigError as exc:
        problems += exc.problems
    try:
        grader = workspace_grader_settings(config)
    except ConfigError as exc:
        return [*problems, *exc.problems]
    return problems + grader_problems(grader, base)


def check_config(config: WorkspaceConfig, base: Path) -> list[str]:
    """:func:`config_problems` as lines, each naming its key (``assetgrade.yaml:costs.grades: ...``)."""
    return [str(p) for p in config_problems(config, base)]


_BUILT_IN = ("vision", "text", "sensors")  # the modalities an AssetRecord can say it has, registered by these names


@dataclass(frozen=True)
class DataCheck:
    """What :func:`check_training_data` found: ``problems`` stop ``train``, ``warnings`` weaken what it learns."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    n_assets: int
    grade_counts: dict[str, int]
    """Labelled assets per grade on the scale, in the scale's order."""
    modality_counts: dict[str, int]
    """Labelled assets with evidence of each modality the grader uses."""

    def summary(self) -> str:
        """One line: assets, labelled per grade, labelled with each modality."""
        n_lab = sum(self.grade_counts.values())
        grades = ", ".join(f"{g} {n}" for g, n in self.grade_counts.items())
        mods = ", ".join(f"{m} {n}" for m, n in self.modality_counts.items())
        return f"{self.n_assets} assets, {n_lab} labelled ({grades}); labelled with evidence: {mods or 'none named'}"


def _name_and_modality(spec: Any) -> tuple[str, str | None]:
    """(name shown, modality read) of a named or given extractor; modality None when its class does not say.

    A built-in name reads its own modality; a plug-in's registered class, or a given instance,
    says so in its ``modality`` attribute (read without building anything).
    """
    from assetgrade.modalities.base import registered_modality

    if isinstance(spec, str):
        return spec, spec if spec in _BUILT_IN else registered_modality(spec)
    modality = getattr(spec, "modality", None)
    name = f"{type(spec).__name__} ({modality})" if isinstance(modality, str) else type(spec).__name__
    return name, modality if modality in _BUILT_IN else None


def _examples(ids: Sequence[str], n: int = 3) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _rul_channel_warning(grader: Grader, base: Path | None,
                         records: Sequence[AssetRecord]) -> tuple[list[AssetRecord], str] | None:
    """The records whose series have every channel the configured RUL model needs, and a warning; None: no gap."""
    from assetgrade.grading.fleet_rul import rul_channel_gaps

    path = (grader.extractor_settings.get("sensors") or {}).get("rul_model")
    if path is None:  # no RUL model configured: nothing to check
        return None
    try:
        model = (grader.resolve_settings(base).get("sensors") or {}).get("rul_model")
        gaps = rul_channel_gaps(model, records) if model is not None else {}
    except AssetgradeError:
        return None  # a bad rul_model setting is check_grader_settings' to report
    if not gaps:
        return None
    missing = sorted({c for cs in gaps.values() for c in cs})
    kept = [r for r in records if r.asset_id not in gaps]
    where = f"sensors: the RUL model {path!s} needs channel(s) {missing}"
    if kept:
        return kept, (f"{where} that {len(gaps)} of {len(records)} labelled assets' series lack "
                      f"({_examples(sorted(gaps))}): they get no sensor evidence")
    return kept, (f"{where} that none of the {len(records)} labelled assets' series has, so train leaves sensors "
                  "out; train it on histories with the workspace's channel names (assetgrade sensors fit-rul) or "
                  "unset grader.extractor_settings.sensors.rul_model")


def check_training_data(records: Sequence[AssetRecord], settings: Mapping[str, Any], grades: Sequence[str],
                        *, where: str = SETTINGS_WHERE, base: Path | None = None) -> DataCheck:
    """What the workspace's data means for ``train`` with these ``grader:`` settings, found without training.

    Problems (``train`` would stop): grade labels off the ontology's scale, fewer labelled assets
    than folds or fewer than two grades, no named extractor with any labelled evidence. Warnings
    (it trains, but learns less): a grade with fewer labelled assets than folds or none at all, an
    extractor that ``train`` would leave out (no labelled asset has its evidence, or they all share
    one grade), too few best-grade images for anomaly maps (the vision extractor's
    ``MIN_GOOD_IMAGES``), asset types too small for their own conformal threshold. A plug-in
    extractor is checked for the modality its class names in ``modality`` (counted under its
    registered name); one whose class does not name it gets a warning that it was not checked.
    Only names and class attributes are read (nothing is built), except a saved RUL model the
    sensors settings name (relative to ``base``, the workspace): it is loaded and the labelled
    assets' series are read for the channels it needs (series lacking them get no sensor
    evidence; when all lack them, train leaves sensors out). Run :func:`check_grader_settings`
    first for their settings.

    Examples
    --------
    >>> from assetgrade.store.records import AssetRecord
    >>> recs = [AssetRecord(f"p{i}", "pump", grade="AB"[i % 2]) for i in range(6)] + [AssetRecord("x", grade="Z")]
    >>> check = check_training_data(recs, {"extractors": ["text"], "folds": 3}, ["A", "B", "C"])
    >>> check.problems[0]
    "labels: 1 labelled asset has a grade not on the scale ['A', 'B', 'C']: 'Z' (x)"
    >>> check.problems[1]
    'assetgrade.yaml:grader: no extractor has labelled evidence (text: none), so train would stop'
    """
    from assetgrade.modalities.base import available_extractors

    grader = grader_from_settings(settings)
    scale = tuple(grades)
    labelled = [r for r in records if r.grade is not None]
    problems: list[str] = []
    warnings: list[str] = []
    off: dict[str, list[str]] = {}
    for r in labelled:
        if r.grade not in scale:
            off.setdefault(str(r.grade), []).append(r.asset_id)
    if off:
        n_off = sum(len(v) for v in off.values())
        listed = "; ".join(f"{g!r} ({_examples(ids)})" for g, ids in sorted(off.items()))
        problems.append(f"labels: {n_off} labelled asset{' has a grade' if n_off == 1 else 's have grades'} "
                        f"not on the scale {list(scale)}: {listed}")
    on = [r for r in labelled if r.grade in scale]
    counts = Counter(str(r.grade) for r in on)
    grade_counts = {g: counts.get(g, 0) for g in scale}
    if len(on) < grader.folds or len(counts) < 2:
        problems.append(f"labels: {len(on)} labelled asset(s) with {len(counts)} grade(s) on the scale; train needs "
                        f"at least {grader.folds} ({where}.folds) and two grades")
    else:
        thin = [f"{g} ({n})" for g, n in grade_counts.items() if 0 < n < grader.folds]
        if thin:
            warnings.append(f"labels: fewer labelled assets than the {grader.folds} folds for grade(s) "
                            f"{', '.join(thin)}: some folds hold none, so their out-of-fold figures are rough")
        absent = [g for g, n in grade_counts.items() if n == 0]
        if absent:
            warnings.append(f"labels: no labelled asset has grade(s) {absent}: the grader learns nothing about them "
                            "and will rarely choose them")
    modality_counts: dict[str, int] = {}
    unknown = 0
    for spec in grader.extractors:
        name, modality = _name_and_modality(spec)
        if modality is None:
            unknown += 1
            if isinstance(spec, str) and spec not in available_extractors():
                warnings.append(f"{name}: not a registered extractor in this process (import the module that "
                                "registers it), so its data is not checked")
            else:
                warnings.append(f"{name}: a plug-in extractor whose class does not say which evidence it reads "
                                "(no class attribute `modality`), so its data is not checked")
            continue
        have = [r for r in on if modality in r.modalities()]
        lacking = _rul_channel_warning(grader, base, have) if name == "sensors" and have else None
        if lacking is not None:
            have, line = lacking
            warnings.append(line)
        modality_counts[name] = len(have)
        own = Counter(str(r.grade) for r in have)
        if not have:
            if lacking is None:  # else the warning above says why train leaves it out
                warnings.append(f"{name}: none of the {len(on)} labelled assets has {modality} evidence, "
                                "so train leaves it out")
        elif len(own) < 2:  # the vision extractor refuses to fit; the others fit without a grade model
            if name == "vision":
                effect = "train leaves it out"
            elif name in _BUILT_IN:
                effect = "it learns no grade reading"
            else:
                effect = "it has one grade to learn from"
            warnings.append(f"{name}: its {len(have)} labelled asset(s) all have grade {next(iter(own))!r}, "
                            f"so {effect}")
        if name == "vision" and have and scale:
            from assetgrade.modalities.vision.extractor import MIN_GOOD_IMAGES

            n_good = sum(len(r.images) for r in have if r.grade == scale[0])
            if n_good < MIN_GOOD_IMAGES:
                warnings.append(f"vision: {n_good} labelled image(s) of the best grade {scale[0]!r}, fewer than "
                                f"{MIN_GOOD_IMAGES}: no anomaly heat maps are learned")
    if modality_counts and not any(modality_counts.values()) and not unknown:
        listed = ", ".join(f"{m}: none" for m in modality_counts)
        problems.append(f"{where}: no extractor has labelled evidence ({listed}), so train would stop")
    if grader.mondrian and on:
        small = Counter(r.asset_type for r in on)
        pooled = [f"{t} ({n})" for t, n in sorted(small.items()) if n < grader.min_group_size]
        if pooled and len(small) > 1:
            warnings.append(f"conformal: asset type(s) with fewer than {grader.min_group_size} labelled assets use "
                            f"the pooled threshold, not their own: {', '.join(pooled)}")
    return DataCheck(problems=tuple(problems), warnings=tuple(warnings), n_assets=len(records),
                     grade_counts=grade_counts, modality_counts=modality_counts)
