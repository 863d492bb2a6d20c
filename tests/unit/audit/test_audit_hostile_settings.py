"""Check settings of the wrong type or range are refused when the check is built, naming the setting."""

from __future__ import annotations

from typing import Any

import pytest

from assetgrade.audit.base import available_checks, check_class, get_check
from assetgrade.errors import ValidationError

CASES = [(name, key) for name in available_checks() for key in check_class(name)._constraints]


def test_every_builtin_check_declares_its_settings() -> None:
    import inspect

    for name in available_checks():
        params = set(inspect.signature(check_class(name).__init__).parameters) - {"self"}
        assert params == set(check_class(name)._constraints), name


@pytest.mark.parametrize(("name", "key"), CASES)
@pytest.mark.parametrize("bad", ["abc", -1, None, float("nan"), [], "false"])
def test_bad_setting_is_refused_naming_it(name: str, key: str, bad: Any) -> None:
    if check_class(name)._constraints[key].allows(bad):  # e.g. a cosine of -1: a legal value is built
        assert getattr(get_check(name, **{key: bad}), key, bad) == bad
        return
    with pytest.raises(ValidationError, match=rf"{name}\.{key}: .* is not allowed; expected "):
        get_check(name, **{key: bad})


@pytest.mark.parametrize(("name", "settings"), [
    ("imbalance", {"min_ratio": "abc"}), ("imbalance", {"min_ratio": -1}), ("imbalance", {"min_ratio": 1.5}),
    ("imbalance", {"real_only": "no"}), ("coverage", {"min_count": "ten"}), ("coverage", {"min_count": 2.5}),
    ("coverage", {"by": "label"}), ("synthetic_share", {"max_share": True}), ("label_noise", {"method": "magic"}),
    ("duplicates", {"phash_max_distance": 65}), ("adversarial", {"n_splits": 1}),
    ("imbalance", {"min_ratio": 10**400}), ("label_noise", {"seed": 2**32}),
])
def test_reviewed_bad_values(name: str, settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="expected"):
        get_check(name, **settings)


def test_good_values_pass() -> None:
    assert get_check("imbalance", min_ratio=0, real_only=False).min_ratio == 0  # type: ignore[attr-defined]
    assert get_check("coverage", min_count=3, by=["label"]).by == ("label",)  # type: ignore[attr-defined]
    assert get_check("label_noise", method="both", seed=3).method == "both"  # type: ignore[attr-defined]


def test_run_checks_with_an_empty_list_is_refused() -> None:
    import pandas as pd

    from assetgrade.audit.base import run_checks
    from assetgrade.audit.data import AuditData

    data = AuditData(pd.DataFrame({"item_id": ["a"], "asset_id": ["a"], "label": ["x"]}))
    with pytest.raises(ValidationError, match="no checks to run"):
        run_checks(data, [])
