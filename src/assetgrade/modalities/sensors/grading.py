"""Map remaining useful life (point and interval) to a grade on the ontology's grade scale.

The mapping is a documented, configurable set of RUL thresholds, best grade first: with the
default ``(100, 60, 25)`` cycles and grades A-D, RUL ≥ 100 → A, ≥ 60 → B, ≥ 25 → C, else D.
Grade probabilities treat the RUL as normal with the point as mean and the interval's half width
divided by the normal quantile of its coverage as standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError

__all__ = ["RulGradeMap", "default_grade_names"]


def default_grade_names() -> tuple[str, ...]:
    """The grade names of the default ontology, best first (A-D when the ontology is not available)."""
    try:
        from assetgrade.ontology import default_ontology  # type: ignore[attr-defined]

        return tuple(default_ontology().grades.names)
    except (ImportError, AttributeError, OSError, ValueError):
        return ("A", "B", "C", "D")


@dataclass(frozen=True)
class RulGradeMap:
    """RUL thresholds (descending) separating grades (best first); ``len(grades) == len(thresholds) + 1``.

    Examples
    --------
    >>> m = RulGradeMap(thresholds=(100.0, 60.0, 25.0), grades=("A", "B", "C", "D"))
    >>> m.grade_for(80.0), m.grade_for(10.0)
    ('B', 'D')
    >>> p = m.proba([80.0], [70.0], [90.0], coverage=0.9)
    >>> int(p.argmax()), round(float(p.sum()), 6)
    (1, 1.0)
    """

    thresholds: tuple[float, ...] = (100.0, 60.0, 25.0)
    grades: tuple[str, ...] = ("A", "B", "C", "D")

    def __post_init__(self) -> None:
        if len(self.grades) != len(self.thresholds) + 1:
            raise ValidationError(
                f"{len(self.grades)} grades need {len(self.grades) - 1} thresholds, got {len(self.thresholds)}",
                where="RulGradeMap",
            )
        if any(a <= b for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            raise ValidationError(f"thresholds must decrease, got {self.thresholds}", where="RulGradeMap")

    @classmethod
    def for_grades(cls, grades: Sequence[str], cap: float = 125.0) -> RulGradeMap:
        """Evenly spaced thresholds over ``(0, cap)`` for any number of grades (best first)."""
        k = len(grades)
        if k < 2:
            raise ValidationError("need at least two grades", where="RulGradeMap")
        return cls(tuple(float(cap * (k - 1 - i) / k) for i in range(k - 1)), tuple(grades))

    def grade_index(self, rul: float) -> int:
        """Index of the grade (0 best) for a RUL value."""
        for i, th in enumerate(self.thresholds):
            if rul >= th:
                return i
        return len(self.thresholds)

    def grade_for(self, rul: float) -> str:
        """The grade for a RUL value."""
        return self.grades[self.grade_index(rul)]

    def proba(self, rul: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike, *, coverage: float) -> np.ndarray:
        """(n, n_grades) grade probabilities from RUL points and intervals."""
        from scipy.stats import norm

        p, lo, hi = (np.asarray(v, dtype=float) for v in (rul, lower, upper))
        z = float(norm.ppf(0.5 + coverage / 2.0))
        sd = np.maximum((hi - lo) / (2.0 * z), 1e-3)
        edges = np.array([np.inf, *self.thresholds, -np.inf])
        cdf = norm.cdf((edges[None, :] - p[:, None]) / sd[:, None])
        out = cdf[:, :-1] - cdf[:, 1:]
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=float)
