"""What is wrong with a workspace's ``assetgrade.yaml`` beyond its schema: the ontology, ``costs:`` and ``grader:``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assetgrade.config import ConfigError, ConfigProblem
from assetgrade.errors import AssetgradeError
from assetgrade.grader_factory import grader_problems
from assetgrade.grader_settings import workspace_grader_settings
from assetgrade.workspace import workspace_costs

if TYPE_CHECKING:
    from assetgrade.config import WorkspaceConfig

__all__ = ["check_config", "config_problems"]


def config_problems(config: WorkspaceConfig, base: Path) -> list[ConfigProblem]:
    """What is wrong with a workspace's settings beyond their schema (empty: nothing found).

    The ontology file loads, the ``costs:`` section is a valid cost matrix on the ontology's
    grades, and the ``grader:`` section passes :func:`~assetgrade.grader_factory.grader_problems`. ``base``: the
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
