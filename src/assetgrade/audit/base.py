"""The audit-check contract (cleanlab Datalab shape), the check registry, and ``run_checks`` (recipe apart from result).

Every check is a small class with a ``name``, its settings in ``__init__`` and
``run(data) -> CheckResult``: per-row scores (1 = clean, 0 = most suspect), per-row flags,
one summary score in [0, 1] (1 = no problem), ``passed`` against the check's policy, a
message and an info dict. ``@register_check("name")`` adds a check to the registry.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from assetgrade.audit.data import AuditData
from assetgrade.errors import AssetgradeError, ValidationError

__all__ = [
    "AuditReport",
    "Check",
    "CheckResult",
    "available_checks",
    "build_checks",
    "check_class",
    "embeddings_or_none",
    "get_check",
    "register_check",
    "run_checks",
    "skipped",
]


@dataclass
class CheckResult:
    """What one check found: per-row scores and flags, a summary score in [0, 1], pass/fail, message, info.

    Examples
    --------
    >>> r = CheckResult("demo", np.ones(3), np.zeros(3, bool), 1.0, True, "ok")
    >>> r.n_flagged
    0
    """

    name: str
    scores: npt.NDArray[np.float64]
    flags: npt.NDArray[np.bool_]
    summary: float
    passed: bool
    message: str
    info: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.flags = np.asarray(self.flags, dtype=bool)
        if self.scores.shape != self.flags.shape or self.scores.ndim != 1:
            raise ValidationError(
                f"scores {self.scores.shape} and flags {self.flags.shape} must be 1-D of the same length",
                where=f"check {self.name}",
            )
        s = float(self.summary)
        if not (np.isfinite(s) and 0.0 <= s <= 1.0):
            raise ValidationError(f"summary {s} outside [0, 1]", where=f"check {self.name}")
        self.summary = s

    @property
    def n_flagged(self) -> int:
        """How many rows this check flagged."""
        return int(self.flags.sum())

    def to_dict(self, item_ids: Sequence[str] | None = None, *, max_rows: int = 50) -> dict[str, Any]:
        """JSON-ready summary; the flagged rows (worst score first, at most ``max_rows``) by item id.

        A row that ``item_ids`` does not name (none given, or an empty list) has ``item_id`` None: the HTML
        report calls it "row N" by its ``row``.
        """
        order = np.flatnonzero(self.flags)
        order = order[np.argsort(self.scores[order], kind="stable")][:max_rows]
        ids = item_ids or ()
        flagged = [
            {"row": int(i), "item_id": (ids[int(i)] if int(i) < len(ids) else None), "score": float(self.scores[i])}
            for i in order
        ]
        return {
            "name": self.name,
            "passed": self.passed,
            "skipped": self.skipped,
            "summary": self.summary,
            "message": self.message,
            "n_flagged": self.n_flagged,
            "flagged": flagged,
            "info": self.info,
        }


@runtime_checkable
class Check(Protocol):
    """An audit check: settings in ``__init__``, ``run(data) -> CheckResult``."""

    name: ClassVar[str]

    def run(self, data: AuditData) -> CheckResult: ...


_REGISTRY: dict[str, type[Any]] = {}
C = TypeVar("C", bound=type[Any])


def register_check(name: str) -> Callable[[C], C]:
    """Class decorator: register an audit check under ``name`` (sets ``cls.name``)."""

    def deco(cls: C) -> C:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValidationError(f"audit check {name!r} is already registered", where="register_check")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _load_builtin() -> None:
    # importing the modules registers the built-in checks
    from assetgrade.audit import (  # noqa: F401
        adversarial,
        coverage,
        duplicates,
        imbalance,
        label_noise_check,
        sim_to_real,
        synthetic_share,
    )


def available_checks() -> tuple[str, ...]:
    """Names of the registered checks, built-ins first loaded."""
    _load_builtin()
    return tuple(sorted(_REGISTRY))


def check_class(name: str) -> type[Check]:
    """The class registered as the check ``name``, found without building one (a clear error naming the known checks).

    >>> check_class("imbalance").name
    'imbalance'
    """
    _load_builtin()
    if name not in _REGISTRY:
        raise ValidationError(f"unknown audit check {name!r}; known: {sorted(_REGISTRY)}", where="checks")
    return _REGISTRY[name]


def get_check(name: str, **settings: Any) -> Check:
    """An instance of the check ``name`` with ``settings`` (a clear error naming the known checks)."""
    cls = check_class(name)
    try:
        return cls(**settings)
    except TypeError as exc:
        raise ValidationError(f"bad settings {settings} for check {name!r}: {exc}", where=f"check {name}") from exc


def skipped(name: str, data: AuditData, reason: str) -> CheckResult:
    """The result of a check that cannot run on this data (it neither passes nor fails the policy)."""
    return CheckResult(name, np.ones(data.n), np.zeros(data.n, bool), 1.0, True, f"skipped: {reason}", skipped=True)


def embeddings_or_none(data: AuditData) -> npt.NDArray[np.float64] | None:
    """The embeddings with missing values replaced by the column means of the finite ones, or None.

    Missing is NaN (a failed image) and also +-inf (a broken feature): the probes' scalers and
    solvers refuse infinities, and one such value would otherwise abort every embedding check.
    """
    if data.embeddings is None:
        return None
    emb = data.embeddings
    bad = ~np.isfinite(emb)
    if bad.any():
        emb = np.where(bad, np.nan, emb)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: mean 0 below
            means = np.nanmean(emb, axis=0)
        means = np.where(np.isfinite(means), means, 0.0)
        r, c = np.nonzero(bad)
        emb[r, c] = means[c]
    return emb


@dataclass
class AuditReport:
    """The results of one audit run, by check name; ``passed`` is False when any check violated its policy.

    Examples
    --------
    >>> rep = AuditReport({}, n_items=0)
    >>> rep.passed
    True
    """

    results: dict[str, CheckResult]
    n_items: int
    item_ids: list[str] = field(default_factory=list)
    """One id per item, in row order; empty (the default) when the items have none: rows are then named by number."""
    errors: dict[str, str] = field(default_factory=dict)
    """Checks that raised, with the error (the run goes on past them)."""

    def __post_init__(self) -> None:
        ids = list(self.item_ids) if self.item_ids is not None else []  # None: no ids, as the default
        if ids and len(ids) != self.n_items:  # a partial list would name flagged rows after other items
            raise ValidationError(f"{len(ids)} item ids for {self.n_items} items: give one per item or none",
                                  where="AuditReport.item_ids")
        self.item_ids = ids

    @property
    def passed(self) -> bool:
        """All checks passed their policy and none raised."""
        return not self.errors and all(r.passed for r in self.results.values())

    def failed(self) -> list[str]:
        """Names of checks that violated their policy or raised."""
        return [n for n, r in self.results.items() if not r.passed] + list(self.errors)

    def to_dict(self, *, max_rows: int = 50) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "passed": self.passed,
            "n_items": self.n_items,
            "failed": self.failed(),
            "checks": {n: r.to_dict(self.item_ids, max_rows=max_rows) for n, r in self.results.items()},
            "errors": self.errors,
        }


def build_checks(names: Sequence[str] | None = None,
                 settings: Mapping[str, Mapping[str, Any]] | None = None) -> list[Check]:
    """The named checks (default: all registered), each built with ``settings[name]``; no data is needed, so a
    caller can judge the names and settings before loading anything (unknown ones are ValidationErrors).

    >>> [c.name for c in build_checks(["duplicates"], {"duplicates": {"min_cosine": 0.9}})]
    ['duplicates']
    """
    todo = list(names) if names is not None else list(available_checks())
    if not todo:
        raise ValidationError(f"no checks to run: name at least one of {list(available_checks())} (an empty list"
                              " would pass without auditing anything)", where="checks")
    settings = settings or {}
    unknown = set(settings) - set(todo)
    if unknown:
        raise ValidationError(f"settings given for checks not run: {sorted(unknown)}", where="settings")
    return [get_check(n, **dict(settings.get(n, {}))) for n in todo]


def run_checks(
    data: AuditData,
    names: Sequence[str] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    progress: bool = False,
) -> AuditReport:
    """Run the named checks (default: all registered) on ``data``; ``settings[name]`` configures each.

    A check that raises an assetgrade error is recorded in ``AuditReport.errors`` and the run
    goes on with the next check.
    """
    checks = build_checks(names, settings)
    results: dict[str, CheckResult] = {}
    errors: dict[str, str] = {}
    bar = None
    if progress:  # on stderr, a terminal only: stdout may carry the JSON report (`audit --json -`)
        from rich.console import Console
        from rich.progress import Progress

        err = Console(stderr=True)
        bar = Progress(console=err, transient=True, disable=not err.is_terminal)
        bar.start()
        task = bar.add_task("audit checks", total=len(checks))
    try:
        for check in checks:
            try:
                results[check.name] = check.run(data)
            except AssetgradeError as exc:
                errors[check.name] = str(exc)
            if bar is not None:
                bar.update(task, advance=1, description=f"audit: {check.name}")
    finally:
        if bar is not None:
            bar.stop()
    return AuditReport(results, n_items=data.n, item_ids=list(data.table["item_id"]), errors=errors)
