"""The Grader's settings as a workspace gives them: ``grader:`` over the ``policy:`` section's defaults, with where
each comes from."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assetgrade.config import WorkspaceConfig

__all__ = ["SETTINGS_WHERE", "GraderSettings", "effective_grader_settings", "shadowed_policy",
           "workspace_grader_settings"]

SETTINGS_WHERE = "assetgrade.yaml:grader"


_FROM_POLICY = {"coverage": "coverage", "max_set_size": "review_if_set_size_over",
                "max_expected_cost": "max_expected_cost"}
"""Grader keyword → the ``policy:`` field that gives its workspace default."""


class GraderSettings(dict[str, Any]):
    """Grader keywords read from a workspace config, remembering the key of the file that gives each
    (``origin``; a keyword not in it: ``grader.<keyword>``) and the ``config``, so a setting the Grader
    refuses is named where the file writes it (:func:`~assetgrade.grader_factory.grader_from_settings`).

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
    ``grader:`` wins, and CLI options win over both (:func:`~assetgrade.grader_factory.grader_from_settings`).

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
