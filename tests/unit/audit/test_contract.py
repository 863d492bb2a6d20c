"""One contract test over every registered audit check, plus the registry and the runner."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from assetgrade.audit import base
from assetgrade.audit.base import CheckResult, available_checks, get_check, register_check, run_checks
from assetgrade.audit.data import AuditData
from assetgrade.errors import ValidationError

BUILTIN = ("adversarial", "coverage", "duplicates", "imbalance", "label_noise", "sim_to_real", "synthetic_share")


def test_builtin_checks_are_registered() -> None:
    assert set(BUILTIN) <= set(available_checks())


@pytest.mark.parametrize("name", BUILTIN)
def test_check_contract(name: str, data_factory: Callable[..., AuditData], rng: np.random.Generator) -> None:
    data = data_factory(rng, n=45)
    check = get_check(name)
    assert check.name == name
    res = check.run(data)
    assert isinstance(res, CheckResult)
    assert res.name == name
    assert res.scores.shape == (data.n,) and res.flags.shape == (data.n,)
    assert res.flags.dtype == bool
    assert np.all((res.scores >= 0) & (res.scores <= 1))
    assert 0.0 <= res.summary <= 1.0
    assert isinstance(res.passed, bool) and res.message
    assert not res.skipped, res.message
    json.dumps(base.AuditReport({name: res}, data.n, list(data.table["item_id"])).to_dict(), default=float)


@pytest.mark.parametrize("name", BUILTIN)
def test_check_without_optional_inputs_skips_or_runs(name: str, rng: np.random.Generator) -> None:
    t = pd.DataFrame({"item_id": list("abcdef"), "asset_id": list("abcdef"), "label": list("xyxyxy")})
    res = get_check(name).run(AuditData(t))
    assert res.scores.shape == (6,) and 0 <= res.summary <= 1
    if res.skipped:
        assert res.passed and res.message.startswith("skipped")


def test_result_rejects_bad_shapes_and_summary() -> None:
    with pytest.raises(ValidationError, match="same length"):
        CheckResult("x", np.ones(3), np.zeros(2, bool), 0.5, True, "m")
    with pytest.raises(ValidationError, match="outside"):
        CheckResult("x", np.ones(2), np.zeros(2, bool), 1.5, True, "m")


def test_unknown_check_names_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="synthetic_share"):
        get_check("nope")
    with pytest.raises(ValidationError, match="bad settings"):
        get_check("imbalance", no_such_setting=1)


def test_custom_check_registers_and_runs(
    data_factory: Callable[..., AuditData], rng: np.random.Generator
) -> None:
    @register_check("test_all_flagged")
    class AllFlagged:
        name = "test_all_flagged"

        def run(self, data: AuditData) -> CheckResult:
            return CheckResult(self.name, np.zeros(data.n), np.ones(data.n, bool), 0.0, False, "everything")

    try:
        rep = run_checks(data_factory(rng, n=12), ["test_all_flagged", "imbalance"])
        assert not rep.passed and rep.failed() == ["test_all_flagged"]
        assert rep.results["test_all_flagged"].n_flagged == 12
    finally:
        base._REGISTRY.pop("test_all_flagged")


def test_run_checks_records_errors_and_goes_on(
    data_factory: Callable[..., AuditData], rng: np.random.Generator
) -> None:
    @register_check("test_raises")
    class Raises:
        name = "test_raises"

        def run(self, data: AuditData) -> CheckResult:
            raise ValidationError("broken input", where="row 3")

    try:
        rep = run_checks(data_factory(rng, n=12), ["test_raises", "imbalance"])
        assert "row 3: broken input" in rep.errors["test_raises"]
        assert "imbalance" in rep.results and not rep.passed
    finally:
        base._REGISTRY.pop("test_raises")


def test_settings_for_checks_not_run_are_refused(
    data_factory: Callable[..., AuditData], rng: np.random.Generator
) -> None:
    with pytest.raises(ValidationError, match="not run"):
        run_checks(data_factory(rng, n=12), ["imbalance"], {"coverage": {"min_count": 3}})


def test_audit_data_validation() -> None:
    with pytest.raises(ValidationError, match="label"):
        AuditData(pd.DataFrame({"item_id": ["a"], "asset_id": ["a"]}))
    with pytest.raises(ValidationError, match="row 1:field origin"):
        AuditData(pd.DataFrame({"item_id": ["a", "b"], "asset_id": ["a", "b"], "label": ["x", "y"],
                                "origin": ["real", "fake"]}))
    with pytest.raises(ValidationError, match="embeddings shape"):
        AuditData(pd.DataFrame({"item_id": ["a"], "asset_id": ["a"], "label": ["x"]}), embeddings=np.ones((2, 3)))
    with pytest.raises(ValidationError, match="duplicate item_id"):
        AuditData(pd.DataFrame({"item_id": ["a", "a"], "asset_id": ["a", "b"], "label": ["x", "y"]}))


def test_public_api_imports() -> None:
    import assetgrade.audit as audit
    import assetgrade.audit.drift as drift
    import assetgrade.synth as synth

    for mod in (audit, drift, synth):
        for name in mod.__all__:
            assert getattr(mod, name) is not None, (mod.__name__, name)
