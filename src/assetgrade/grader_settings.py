"""What a Grader is built from (``grader:``, ``costs:``, the ontology): the Grader, and checks without training."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetgrade.errors import AssetgradeError, ValidationError

if TYPE_CHECKING:
    from assetgrade.config import WorkspaceConfig
    from assetgrade.grader import Grader

__all__ = ["SETTINGS_WHERE", "check_config", "check_grader_settings", "grader_from_settings"]

SETTINGS_WHERE = "assetgrade.yaml:grader"


def grader_from_settings(settings: Mapping[str, Any], *, where: str = SETTINGS_WHERE, **given: Any) -> Grader:
    """``Grader(**settings)`` with the ``given`` values that are not None on top; a bad key names ``where``.

    Examples
    --------
    >>> grader_from_settings({"folds": 3}, seed=None).folds
    3
    >>> grader_from_settings({"fols": 3})
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: assetgrade.yaml:grader: bad grader settings: ...
    """
    from assetgrade.grader import Grader

    kw = {**settings, **{k: v for k, v in given.items() if v is not None}}
    try:
        return Grader(**kw)
    except TypeError as exc:
        raise ValidationError(f"bad grader settings: {exc}", where=where) from exc


def check_grader_settings(settings: Mapping[str, Any], base: Path | None = None, *,
                          where: str = SETTINGS_WHERE) -> list[str]:
    """What is wrong with a ``grader:`` section, found without training (empty: nothing found).

    Builds the Grader, loads a saved RUL model its sensors name (relative to ``base``, the
    workspace) and builds every named extractor from its settings, as ``fit`` would.
    """
    from assetgrade.grading.training import extractor_factory

    try:
        grader = grader_from_settings(settings, where=where)
        resolved = grader.resolve_settings(base)
    except AssetgradeError as exc:
        return [str(exc)]
    problems: list[str] = []
    names = [e for e in grader.extractors if isinstance(e, str)]
    for name in sorted(set(resolved) - set(names)):
        problems.append(f"{where}.extractor_settings.{name}: no extractor {name!r} is used (extractors: {names})")
    for name in names:
        try:
            extractor_factory(name, resolved.get(name))
        except TypeError as exc:
            problems.append(f"{where}.extractor_settings.{name}: {exc}")
        except AssetgradeError as exc:
            problems.append(str(exc))
    return problems


def check_config(config: WorkspaceConfig, base: Path) -> list[str]:
    """What is wrong with a workspace's settings beyond their schema (empty: nothing found).

    The ontology file loads, the ``costs:`` section is a valid cost matrix on the ontology's
    grades, and the ``grader:`` section passes :func:`check_grader_settings`. ``base``: the
    workspace folder (relative paths start there).
    """
    from assetgrade.decision.costs import CostConfig
    from assetgrade.ontology import default_ontology, load_ontology

    problems: list[str] = []
    grades: tuple[str, ...] | None = None
    try:
        path = config.ontology_path(base)
        ontology = default_ontology() if path is None else load_ontology(path)
        grades = tuple(ontology.grades.names)
    except AssetgradeError as exc:
        problems.append(f"ontology: {exc}")
    try:
        costs = config.section("costs")
        if costs:
            cfg = CostConfig.from_dict(costs, where="assetgrade.yaml:costs")
            if grades is not None and tuple(cfg.grades) != grades:
                problems.append(f"assetgrade.yaml:costs.grades: {list(cfg.grades)} differ from the ontology's "
                                f"grades {list(grades)}")
    except AssetgradeError as exc:
        problems.append(str(exc))
    try:
        grader = config.section("grader")
    except AssetgradeError as exc:
        return [*problems, str(exc)]
    return problems + check_grader_settings(grader, base)
