"""Misgrading costs: the cost matrix C[true, predicted] from a price per grade, asset value and disputes.

By default an asset of true grade t sold as grade g costs:

* under-grading (g worse than t): the revenue lost, ``(price[t] - price[g]) * value``;
* over-grading (g better than t): the buyer disputes it, so the refund
  ``(price[g] - price[t]) * value`` plus ``dispute_cost`` for handling;
* the right grade: 0.

Prices are fractions of the asset value (A sells at full value, D at a quarter by default; a
scale of another length gets the same curve read at evenly spaced points, best grade 1.0, worst 0.25).
Reviewing an asset costs ``review_cost``. A workspace config can override any of this, or give
the whole matrix; the settings are a pydantic model so the same schema checks YAML. ``currency``
(an ISO 4217 code such as ``EUR``; optional) names the money these amounts are in, for display
only: without it expected costs are shown in "cost units".
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from assetgrade.errors import ValidationError

__all__ = ["NO_CURRENCY", "TIE_RTOL", "CostConfig", "bayes_grades", "cost_matrix", "cost_unit", "default_prices",
           "expected_costs", "format_cost"]

FloatArray = npt.NDArray[np.float64]

_DEFAULT_CURVE = (1.0, 0.8, 0.55, 0.25)  # the default prices of A, B, C, D

NO_CURRENCY = "cost units"
"""What an expected cost is shown in when the cost settings name no ``currency``."""

_CURRENCY = re.compile(r"[A-Z]{3}")

TIE_RTOL = 1e-9
"""Expected costs this close (relative to the lowest) are equal: :func:`bayes_grades` grades down among them."""


def default_prices(grades: tuple[str, ...] | list[str]) -> dict[str, float]:
    """Default sale prices (fractions of the asset value) for a grade scale, best grade first.

    Four grades get 1.0, 0.8, 0.55, 0.25; any other number of grades reads that curve at evenly
    spaced points, so the best grade sells at full value and the worst at a quarter.

    Examples
    --------
    >>> default_prices(("A", "B", "C", "D"))
    {'A': 1.0, 'B': 0.8, 'C': 0.55, 'D': 0.25}
    >>> default_prices(("good", "poor"))
    {'good': 1.0, 'poor': 0.25}
    """
    k = len(grades)
    if k < 2:
        return {g: 1.0 for g in grades}
    xs = np.linspace(0.0, 1.0, len(_DEFAULT_CURVE))
    at = np.interp(np.linspace(0.0, 1.0, k), xs, np.asarray(_DEFAULT_CURVE))
    return {g: round(float(v), 4) for g, v in zip(grades, at, strict=True)}


class CostConfig(BaseModel):
    """Cost settings of a workspace (the ``costs:`` section of its config).

    Examples
    --------
    >>> cfg = CostConfig.from_dict({"asset_value": 1000, "dispute_cost": 100})
    >>> float(cost_matrix(cfg)[3, 0])  # a D sold as A: refund 75% of 1000 plus 100 handling
    850.0
    >>> float(cost_matrix(cfg)[0, 3])  # an A sold as D: 75% of 1000 lost
    750.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    grades: tuple[str, ...] = ("A", "B", "C", "D")
    price: dict[str, float] = Field(default_factory=lambda: default_prices(("A", "B", "C", "D")))
    """Sale price of each grade as a fraction of the asset value (default: ``default_prices(grades)``)."""
    asset_value: float = Field(default=10_000.0, gt=0)
    """Value used when an asset has none of its own."""
    dispute_cost: float = Field(default=500.0, ge=0)
    """Handling cost of a dispute on an over-graded asset, on top of the refund."""
    over_grade_factor: float = Field(default=1.0, ge=0)
    """Multiplier on the refund of an over-graded asset (> 1 adds goodwill lost)."""
    review_cost: float = Field(default=150.0, ge=0)
    """What a human review of one asset costs."""
    matrix: list[list[float]] | None = None
    """An explicit cost matrix C[true][predicted] in money per asset of ``asset_value``; overrides prices."""
    currency: str | None = None
    """The currency of ``asset_value``, ``dispute_cost``, ``review_cost`` and ``matrix`` (an ISO 4217 code: 3 capital
    letters, e.g. ``EUR``), shown beside expected costs; None: they are shown in "cost units". Display only."""

    @field_validator("currency", mode="before")
    @classmethod
    def _currency_code(cls, value: Any) -> Any:
        """3 capital letters (ISO 4217's form; the code is not looked up), as given: ``eur`` is not changed to EUR."""
        if value is not None and not (isinstance(value, str) and _CURRENCY.fullmatch(value)):
            raise ValueError("must be a currency code of 3 capital letters (ISO 4217, e.g. EUR, USD, JPY)")
        return value

    @model_serializer(mode="wrap")
    def _without_unset_currency(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """``currency`` is left out of a dump while unset, so what model versions and cached golden evaluations
        hash from settings written before it existed stays the same (it changes no decision)."""
        out: dict[str, Any] = handler(self)
        if out.get("currency") is None:
            out.pop("currency", None)
        return out

    @model_validator(mode="before")
    @classmethod
    def _prices_for_the_scale(cls, data: Any) -> Any:
        """Without prices, the default prices follow the given grades (any scale length; a matrix overrides them)."""
        if isinstance(data, dict) and "grades" in data and "price" not in data:  # also beside a matrix
            grades = data["grades"]
            if isinstance(grades, (list, tuple)) and all(isinstance(g, str) for g in grades):
                data = {**data, "price": default_prices(tuple(grades))}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> CostConfig:
        if len(self.grades) < 2 or len(set(self.grades)) != len(self.grades):
            raise ValueError(f"grades must be >= 2 distinct names, got {list(self.grades)}")
        missing = [g for g in self.grades if g not in self.price]
        if self.matrix is None and missing:
            raise ValueError(f"price has no entry for grades {missing}")
        extra = [g for g in self.price if g not in self.grades]
        if extra:
            raise ValueError(f"price names unknown grades {extra}; grades are {list(self.grades)}")
        for g in self.grades:
            if g in self.price and self.price[g] < 0:
                raise ValueError(f"price[{g!r}] = {self.price[g]} must be >= 0")
        if self.matrix is None:
            # grades are listed best first: a worse grade never sells for more (else the cost
            # formulas, which clip negative differences to 0, would make some misgrades free)
            for better, worse in zip(self.grades, self.grades[1:], strict=False):
                if self.price[worse] > self.price[better]:
                    raise ValueError(
                        f"price[{worse!r}] = {self.price[worse]} is above price[{better!r}] = {self.price[better]}: "
                        f"grades {list(self.grades)} are listed best first, so prices must not rise along them")
        else:
            k = len(self.grades)
            if len(self.matrix) != k or any(len(row) != k for row in self.matrix):
                raise ValueError(f"matrix must be {k}x{k} for grades {list(self.grades)}")
            for t, row in enumerate(self.matrix):
                for j, v in enumerate(row):
                    if v < 0:
                        raise ValueError(f"matrix[{t}][{j}] = {v}: entries must be >= 0")
                    if v < row[t]:
                        raise ValueError(
                            f"matrix[{t}][{t}] = {row[t]} is above matrix[{t}][{j}] = {v}: an asset of grade "
                            f"{self.grades[t]!r} graded right must cost no more than graded {self.grades[j]!r} "
                            "(rows are the true grade, columns the grade given)")
        C = cost_matrix(self)
        if not np.any(C[~np.eye(len(self.grades), dtype=bool)] > 0):
            raise ValueError("every misgrade costs 0, so every grade would be as good as any other; give prices "
                             "that differ, a dispute_cost or a matrix with some non-zero entry off the diagonal")
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, *, where: str = "config:costs",
                  grades: tuple[str, ...] | None = None) -> CostConfig:
        """Settings from a YAML-loaded dict; a bad field raises ValidationError naming it.

        ``grades``: the ontology's grade scale, used when the section names none (so a five-grade
        ontology with no ``costs:`` section gets default prices for its own five grades).
        """
        if data is not None and not isinstance(data, dict):
            raise ValidationError(f"must be a mapping of cost settings, got {type(data).__name__} {data!r}",
                                  where=where)
        data = dict(data or {})
        if grades is not None and "grades" not in data:
            data["grades"] = tuple(grades)
        try:
            return cls.model_validate(data)
        except PydanticValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key; known: {list(cls.model_fields)}"
            elif loc:
                msg += f" (got {err.get('input')!r})"
            raise ValidationError(msg, where=f"{where}.{loc}" if loc else where) from exc


def cost_unit(currency: str | None) -> str:
    """What expected costs are shown in: the ``currency`` of the cost settings, else :data:`NO_CURRENCY`.

    >>> cost_unit("EUR"), cost_unit(None)
    ('EUR', 'cost units')
    """
    return currency or NO_CURRENCY


def format_cost(amount: float, currency: str | None) -> str:
    """An expected cost to the unit, with its currency (:func:`cost_unit`).

    >>> format_cost(1234.4, "EUR"), format_cost(80.0, None)
    ('1,234 EUR', '80 cost units')
    """
    return f"{amount:,.0f} {cost_unit(currency)}"


def cost_matrix(config: CostConfig | None = None, value: float | None = None) -> FloatArray:
    """C[true, predicted] in money for one asset of ``value`` (the config's ``asset_value`` when None)."""
    cfg = config or CostConfig()
    v = cfg.asset_value if value is None or not np.isfinite(value) or value <= 0 else float(value)
    k = len(cfg.grades)
    if cfg.matrix is not None:
        out: FloatArray = np.asarray(cfg.matrix, dtype=np.float64) * (v / cfg.asset_value)
        return out
    price = np.array([cfg.price[g] for g in cfg.grades], dtype=np.float64)
    C = np.zeros((k, k))
    for t in range(k):
        for g in range(k):
            if g > t:  # under-graded: sold as worse than it is
                C[t, g] = max(price[t] - price[g], 0.0) * v
            elif g < t:  # over-graded: comes back as a dispute
                C[t, g] = max(price[g] - price[t], 0.0) * v * cfg.over_grade_factor + cfg.dispute_cost
    return C


def expected_costs(proba: npt.ArrayLike, C: npt.ArrayLike) -> FloatArray:
    """Expected cost of each possible decision: ``proba @ C`` ((n, k) from (n, k) and (k, k))."""
    p = np.atleast_2d(np.asarray(proba, dtype=np.float64))
    c = np.asarray(C, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or p.shape[1] != c.shape[0]:
        raise ValidationError(f"proba {p.shape} and cost matrix {c.shape} do not match", where="cost_matrix")
    if not np.all(np.isfinite(c)):
        t, g = (int(i) for i in np.argwhere(~np.isfinite(c))[0])
        raise ValidationError(f"entry [{t}][{g}] is {c[t, g]}; costs must be finite", where="cost_matrix")
    out: FloatArray = p @ c
    return out


def bayes_grades(ec: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The minimum-expected-cost grade index of each row of ``ec`` (``(n, k)``, grades best first), ties to the worse.

    Grades whose expected cost is within ``TIE_RTOL`` (relative) of the row's lowest are tied (two
    sums equal on paper can differ in their last bit); among them the worst grade is chosen. Equal
    expected cost means the money is the same either way, and the under-grade is the conservative
    side: an asset sold below its grade loses margin, one sold above it comes back as a dispute.
    Every place that picks the Bayes grade (the policy, its threshold selection, the metrics and
    risk-coverage curves) uses this, so the figures score the grade the policy gives.

    Examples
    --------
    >>> bayes_grades([[500.0, 500.0, 1500.0], [400.0, 600.0, 1600.0]]).tolist()
    [1, 0]
    """
    e = np.atleast_2d(np.asarray(ec, dtype=np.float64))
    low = e.min(axis=1, keepdims=True)
    tied = e <= low + TIE_RTOL * np.abs(low)
    out: npt.NDArray[np.int64] = (e.shape[1] - 1 - np.argmax(tied[:, ::-1], axis=1)).astype(np.int64)
    return out
