"""The Grader's constructor settings checked in one place, with messages naming the setting and what is allowed."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from assetgrade.errors import ValidationError
from assetgrade.fusion import Fuser
from assetgrade.modalities.base import Extractor
from assetgrade.seeds import SEED_MAX

__all__ = ["FUSER_DEFAULTS", "check_arguments", "check_extractor_settings", "checked_extractors", "fuser_copy",
           "fuser_from"]

FUSER_DEFAULTS: dict[str, Any] = {"model": "auto", "use_features": False, "dropout": 0.25, "dropout_copies": 2}
"""The Grader's fusion settings unless ``fuser`` says otherwise (a mapping given overrides these keys)."""


def check_arguments(*, coverage: float, max_error: float, delta: float, folds: int, seed: int, min_group_size: int,
                    max_set_size: int, mondrian: bool, review_on_contradiction: bool, review_on_quality: bool,
                    max_expected_cost: float | None, fuser: Fuser | Mapping[str, Any] | None,
                    extractor_settings: Mapping[str, Mapping[str, Any]] | None,
                    review_outside_set: bool = True) -> None:
    """Refuse (ValidationError, ``where="Grader.<name>"``) a setting of the wrong type or out of range.

    >>> check_arguments(coverage=1.5, max_error=0.02, delta=0.1, folds=5, seed=0, min_group_size=30,
    ...                 max_set_size=1, mondrian=True, review_on_contradiction=True, review_on_quality=True,
    ...                 max_expected_cost=None, fuser=None, extractor_settings=None)
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: Grader.coverage: coverage=1.5 must be a number in (0, 1)
    """
    for name, value in (("coverage", coverage), ("max_error", max_error), ("delta", delta)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise ValidationError(f"{name}={value!r} must be a number in (0, 1)", where=f"Grader.{name}")
    for name, value, low in (("folds", folds, 2), ("seed", seed, 0), ("min_group_size", min_group_size, 1),
                             ("max_set_size", max_set_size, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValidationError(f"{name}={value!r} must be a whole number >= {low}", where=f"Grader.{name}")
    if seed > SEED_MAX:  # the fuser's and scikit-learn's limit: a larger seed failed deep inside fit
        raise ValidationError(f"seed={seed!r} must be a whole number in [0, {SEED_MAX}]", where="Grader.seed")
    for name, value in (("mondrian", mondrian), ("review_on_contradiction", review_on_contradiction),
                        ("review_on_quality", review_on_quality), ("review_outside_set", review_outside_set)):
        if not isinstance(value, bool | np.bool_):
            raise ValidationError(f"{name}={value!r} must be true or false", where=f"Grader.{name}")
    if max_expected_cost is not None and (isinstance(max_expected_cost, bool)
                                          or not isinstance(max_expected_cost, numbers.Real)
                                          or not 0 <= max_expected_cost < float("inf")):
        raise ValidationError(f"max_expected_cost={max_expected_cost!r} must be a number >= 0, or none to "
                              "learn the threshold", where="Grader.max_expected_cost")
    if fuser is not None and not isinstance(fuser, Fuser | Mapping):
        raise ValidationError(f"fuser={fuser!r} must be the fusion model's settings (a mapping such as "
                              "{model: latent}) or a Fuser", where="Grader.fuser")
    if extractor_settings is not None and (
            not isinstance(extractor_settings, Mapping)
            or not all(isinstance(v, Mapping) for v in extractor_settings.values())):
        raise ValidationError(f"extractor_settings={extractor_settings!r} must map each extractor name to its "
                              "settings (e.g. {vision: {coreset_size: 2000}})", where="Grader.extractor_settings")


def checked_extractors(extractors: Any) -> tuple[str | Extractor, ...]:
    """The extractor list as a tuple: a non-empty sequence of names and unfitted Extractor instances.

    >>> checked_extractors(["vision", "text"])
    ('vision', 'text')
    >>> checked_extractors("vision")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: Grader.extractors: a list of extractor names is needed, not the string ...
    """
    if isinstance(extractors, str):
        raise ValidationError(f"a list of extractor names is needed, not the string {extractors!r} "
                              f"(write [{extractors}])", where="Grader.extractors")
    try:
        given = tuple(extractors)
    except TypeError:
        raise ValidationError(f"a list of extractor names is needed, not {extractors!r}",
                              where="Grader.extractors") from None
    if not given:
        raise ValidationError("no extractor named: the grader needs at least one", where="Grader.extractors")
    for i, spec in enumerate(given):
        if not isinstance(spec, str) and not isinstance(spec, Extractor):
            raise ValidationError(f"item {i} ({spec!r}) is neither an extractor name nor an Extractor "
                                  "(a class with modality, fit and extract)", where="Grader.extractors")
    return given


def check_extractor_settings(extractor_settings: Mapping[str, Any] | None) -> None:
    """Refuse settings for a name that is no extractor (built-in or registered plug-in)."""
    from assetgrade.modalities.base import available_extractors

    unknown = sorted(set(extractor_settings or {}) - {"vision", "text", "sensors"})
    if unknown:  # not a built-in name: a registered plug-in, or a typo (the registry is read only then)
        unknown = sorted(set(unknown) - set(available_extractors()))
    if unknown:
        raise ValidationError(f"settings for {unknown}, which {'is no' if len(unknown) == 1 else 'are no'} "
                              f"extractor; extractors: {available_extractors()}", where="Grader.extractor_settings")


def fuser_from(fuser: Fuser | Mapping[str, Any] | None, seed: int) -> Fuser | None:
    """The ``fuser`` setting as a checked Fuser: a mapping overrides :data:`FUSER_DEFAULTS` (seed: ``seed``)."""
    if not isinstance(fuser, Mapping):
        return fuser
    given = dict(fuser)
    try:
        made = Fuser(**{**FUSER_DEFAULTS, "seed": seed, **given})
    except TypeError as exc:
        raise ValidationError(f"bad fuser settings {given}: {exc}", where="Grader.fuser") from exc
    made._check_settings()
    return made


def fuser_copy(fuser: Fuser | None, seed: int) -> Fuser:
    """A new, unfitted Fuser with the settings of ``fuser`` (default: :data:`FUSER_DEFAULTS` with ``seed``)."""
    b = fuser or Fuser(**FUSER_DEFAULTS, seed=seed)
    return Fuser(model=b.model, ordinal=b.ordinal, dropout=b.dropout, dropout_copies=b.dropout_copies,
                 use_features=b.use_features, C=b.C, n_estimators=b.n_estimators, seed=b.seed,
                 monotone=getattr(b, "monotone", False))
