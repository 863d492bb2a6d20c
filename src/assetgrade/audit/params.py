"""Allowed values of audit-check settings, declared as data and checked in each check's constructor.

Each check lists its settings' constraints in ``_constraints`` and calls :func:`validate_settings`
first thing in ``__init__``; so ``--set``, the ``audit.settings`` config section and
``config check`` (which builds every configured check) all refuse the same bad values, with a
message naming the setting and what is allowed. Settings written as text (the config file, ``--set``)
pass through :func:`written_settings` first, which reads a switch's yes / no words as the config's
other yes/no settings do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter

from assetgrade.config import YesNo
from assetgrade.errors import ValidationError
from assetgrade.seeds import SEED_MAX

if TYPE_CHECKING:
    from assetgrade.audit.base import Check

__all__ = ["CV_SETTINGS", "Flag", "Interval", "Names", "OneOf", "SettingConstraint", "setting_names",
           "validate_settings", "written_settings"]

_YES_NO: TypeAdapter[bool] = TypeAdapter(YesNo)


class SettingConstraint(Protocol):
    """What a setting may be: ``allows(value)`` and a ``str()`` that says it in words."""

    def allows(self, value: Any) -> bool: ...


@dataclass(frozen=True)
class Interval:
    """A real number (or an integer) in [lo, hi]; None leaves that side open. Booleans are not numbers.

    Examples
    --------
    >>> Interval(0, 1).allows(0.5), Interval(0, 1).allows("0.5"), Interval(2, None, integer=True).allows(2.0)
    (True, False, False)
    >>> str(Interval(2, None, integer=True))
    'an integer >= 2'
    """

    lo: float | None
    hi: float | None
    integer: bool = False

    def allows(self, value: Any) -> bool:
        kinds = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return False
        try:
            if not math.isfinite(value):
                return False
        except OverflowError:  # an integer too large for a float (10**400) is no setting either
            return False
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)

    def __str__(self) -> str:
        what = "an integer" if self.integer else "a number"
        if self.lo is not None and self.hi is not None:
            return f"{what} in [{self.lo}, {self.hi}]"
        if self.lo is not None:
            return f"{what} >= {self.lo}"
        return f"{what} <= {self.hi}" if self.hi is not None else what


@dataclass(frozen=True)
class Flag:
    """true or false (a YAML boolean; the string "false" is not one). Written in the config file or on ``--set``, a
    switch also takes the words yes / no, as the config's other yes/no settings do: :meth:`read`.

    >>> Flag().allows(False), Flag().allows("false"), Flag().read("No")
    (True, False, False)
    """

    def allows(self, value: Any) -> bool:
        return isinstance(value, bool)

    def read(self, value: Any) -> bool:
        """``value`` as written in ``assetgrade.yaml`` or ``--set``, read by the config's own yes/no rule
        (:data:`assetgrade.config.YesNo`: true/false, or yes/no in any case); a ValueError for anything else."""
        return _YES_NO.validate_python(value)

    def __str__(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class OneOf:
    """One of the listed strings.

    >>> OneOf(("a", "b")).allows("b"), str(OneOf(("a", "b")))
    (True, "one of ['a', 'b']")
    """

    options: tuple[str, ...]

    def allows(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return f"one of {list(self.options)}"


@dataclass(frozen=True)
class Names:
    """A non-empty list of non-empty column names (a single name is not a list).

    >>> Names().allows(["label", "split"]), Names().allows("label"), Names().allows([])
    (True, False, False)
    """

    def allows(self, value: Any) -> bool:
        return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
                and all(isinstance(v, str) and v for v in value))

    def __str__(self) -> str:
        return "a non-empty list of column names"


def validate_settings(check: str, constraints: Mapping[str, SettingConstraint], **values: Any) -> None:
    """Raise a ValidationError naming ``CHECK.SETTING`` (as ``--set`` spells it), the bad value and what is allowed.

    Examples
    --------
    >>> validate_settings("imbalance", {"min_ratio": Interval(0, 1)}, min_ratio="abc")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: imbalance.min_ratio: 'abc' is not allowed; expected a number in [0, 1]
    """
    for name, value in values.items():
        rule = constraints[name]
        if not rule.allows(value):
            raise ValidationError(f"{value!r} is not allowed; expected {rule}", where=f"{check}.{name}")


def _check_class(check: str) -> type[Check] | None:
    """The class registered as ``check`` (None: no such check), looked up without building one."""
    from assetgrade.audit.base import available_checks, check_class  # the registry of this package

    return check_class(check) if check in available_checks() else None


def setting_names(check: str) -> list[str] | None:
    """The settings the check ``check`` takes (its constructor's keywords); None when it takes any (``**settings``)
    or no check has that name.

    >>> setting_names("imbalance")
    ['min_ratio', 'real_only']
    """
    import inspect

    cls = _check_class(check)
    if cls is None:
        return None
    keywords = inspect.signature(cls).parameters.values()
    return None if any(p.kind is p.VAR_KEYWORD for p in keywords) else [p.name for p in keywords]


def written_settings(check: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of ``check`` as the config file or ``--set`` writes them, made ready for its constructor: each
    switch (:class:`Flag`) read by :meth:`Flag.read`, so it takes the words yes / no as the config's other yes/no
    settings do; other values are left for the constructor to judge, and so are the settings of a check that is not
    registered (``build_checks`` names it). A switch that is neither is a ValidationError naming ``CHECK.SETTING``.

    Examples
    --------
    >>> written_settings("imbalance", {"real_only": "no", "min_ratio": 0.2})
    {'real_only': False, 'min_ratio': 0.2}
    >>> written_settings("imbalance", {"real_only": "off"})
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: imbalance.real_only: 'off' is not allowed; expected true or false (or yes / no)
    """
    constraints: Mapping[str, SettingConstraint] = getattr(_check_class(check), "_constraints", {})
    out = dict(values)
    for name, value in values.items():
        rule = constraints.get(name)
        if isinstance(rule, Flag):
            try:
                out[name] = rule.read(value)
            except ValueError:
                raise ValidationError(f"{value!r} is not allowed; expected {rule} (or yes / no)",
                                      where=f"{check}.{name}") from None
    return out


CV_SETTINGS: dict[str, SettingConstraint] = {"n_splits": Interval(2, None, integer=True),
                                             "seed": Interval(0, SEED_MAX, integer=True)}
"""The cross-validation settings several checks share."""
