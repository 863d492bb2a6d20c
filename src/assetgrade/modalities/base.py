"""The extractor contract: every modality fits on asset records and extracts an evidence block."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self, get_args, runtime_checkable

import numpy as np
import numpy.typing as npt

from assetgrade.errors import ValidationError
from assetgrade.store.records import AssetRecord

__all__ = [
    "EvidenceBlock",
    "Extractor",
    "Finding",
    "Modality",
    "available_extractors",
    "check_penalty",
    "fit_extractor",
    "get_extractor",
    "register_extractor",
    "registered_modality",
]

Modality = Literal["vision", "text", "sensors"]
Status = Literal["confirmed", "negated", "uncertain"]


@dataclass(frozen=True)
class Finding:
    """One piece of evidence an extractor found, tied to where it was seen.

    Exactly the location fields that fit the modality are set: ``region`` (pixels
    x0, y0, x1, y1) for an image, ``span`` (character offsets) for a text, ``window``
    (start, end in the series' time unit) and ``channels`` for a sensor series; a finding about
    one moment (the remaining life as of the last reading) has start equal to end.

    Examples
    --------
    >>> f = Finding(modality="text", summary="hydraulic leak", defect="leak", span=(4, 8), confidence=0.9)
    >>> f.status
    'confirmed'
    """

    modality: Modality
    summary: str
    defect: str | None = None
    component: str | None = None
    severity: float | None = None
    """0 (none) to 1 (worst) where the extractor can say."""
    confidence: float = 1.0
    status: Status = "confirmed"
    evidence_id: str | None = None
    region: tuple[int, int, int, int] | None = None
    span: tuple[int, int] | None = None
    window: tuple[float, float] | None = None
    channels: tuple[str, ...] = ()
    grade_hint: str | None = None
    """The grade this finding alone points to, if the rubric says (used to flag contradictions)."""


@dataclass
class EvidenceBlock:
    """What one extractor says about a list of assets: a fixed-width feature block and findings.

    ``features`` has one row per asset in ``asset_ids``; rows where ``present`` is False are
    NaN: a missing modality is explicit, never a silent zero.
    """

    modality: Modality
    asset_ids: list[str]
    feature_names: tuple[str, ...]
    features: npt.NDArray[np.float64]
    present: npt.NDArray[np.bool_]
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    quality_flags: dict[str, list[str]] = field(default_factory=dict)
    grade_proba: npt.NDArray[np.float64] | None = None
    """Optional (n_assets, n_grades) distribution from the modality alone, NaN where absent."""
    unreadable: frozenset[str] = frozenset()
    """Assets some of whose evidence could not be read (a blob missing or damaged on disk): their rows
    are not kept in the evidence cache, so the file is read again once it is repaired."""

    def __post_init__(self) -> None:
        n = len(self.asset_ids)
        if self.features.shape != (n, len(self.feature_names)):
            raise ValidationError(
                f"features shape {self.features.shape} does not match "
                f"{n} assets x {len(self.feature_names)} feature names",
                where=f"EvidenceBlock[{self.modality}]",
            )
        if self.present.shape != (n,):
            raise ValidationError(
                f"present has shape {self.present.shape}, expected ({n},)",
                where=f"EvidenceBlock[{self.modality}]",
            )
        if self.grade_proba is not None and self.grade_proba.shape[0] != n:
            raise ValidationError(
                f"grade_proba has {self.grade_proba.shape[0]} rows, expected {n}",
                where=f"EvidenceBlock[{self.modality}]",
            )


@runtime_checkable
class Extractor(Protocol):
    """An evidence extractor for one modality (scikit-learn style: settings in ``__init__``).

    An extractor that tunes itself by cross-validation may also take a keyword ``groups`` in
    ``fit`` (one label per record; records sharing a label stay on one side of its folds);
    :func:`fit_extractor` passes the Grader's groups to such an extractor.
    """

    modality: Modality

    def fit(self, records: Sequence[AssetRecord], grades: Sequence[str | None] | None = None) -> Self:
        """Learn from records (and their grades, where known); returns self."""
        ...

    def extract(self, records: Sequence[AssetRecord]) -> EvidenceBlock:
        """Evidence for each record, in order; assets without this modality are marked absent."""
        ...


def check_penalty(C: object, owner: str) -> None:
    """Refuse an inverse L2 strength ``C`` other than a finite number > 0 (numpy's included; not a bool) or ``"auto"``.

    The built-in extractors check theirs with it, in one wording; ``owner`` names the class (``where`` is
    ``<owner>.C``, which ``config check`` reports at ``grader.extractor_settings.<name>.C``). An infinite
    ``C`` (no penalty) went on into the grade model.

    >>> check_penalty(float("inf"), "TextExtractor")
    Traceback (most recent call last):
    ...
    assetgrade.errors.ValidationError: TextExtractor.C: C=inf; allowed: a finite number > 0, or 'auto'
    """
    if isinstance(C, str) and C == "auto":
        return
    if not (isinstance(C, numbers.Real) and not isinstance(C, bool | np.bool_) and math.isfinite(float(C))
            and float(C) > 0):
        raise ValidationError(f"C={C!r}; allowed: a finite number > 0, or 'auto'", where=f"{owner}.C")


def fit_extractor(extractor: Extractor, records: Sequence[AssetRecord], grades: Sequence[str | None] | None,
                  groups: Sequence[Any] | None = None) -> Extractor:
    """``extractor.fit(records, grades)``, with ``groups=`` too when its ``fit`` takes that keyword.

    >>> class E:
    ...     modality = "text"
    ...     def fit(self, records, grades=None, *, groups=None):
    ...         self.groups = groups
    ...         return self
    >>> fit_extractor(E(), [], [], ["site-1"]).groups
    ['site-1']
    """
    try:
        takes_groups = "groups" in inspect.signature(extractor.fit).parameters
    except (TypeError, ValueError):  # a fit without an introspectable signature
        takes_groups = False
    if takes_groups and groups is not None:
        return extractor.fit(records, grades, groups=groups)  # type: ignore[call-arg]
    return extractor.fit(records, grades)


_REGISTRY: dict[str, Callable[..., Extractor]] = {}


def register_extractor(name: str) -> Callable[[Callable[..., Extractor]], Callable[..., Extractor]]:
    """Class decorator adding an extractor factory to the registry under ``name``."""

    def deco(factory: Callable[..., Extractor]) -> Callable[..., Extractor]:
        _REGISTRY[name] = factory
        return factory

    return deco


_BUILT_IN_MODULES = {
    "vision": "assetgrade.modalities.vision.extractor",
    "text": "assetgrade.modalities.text.extractor",
    "sensors": "assetgrade.modalities.sensors.extractor",
}
"""Where the built-in extractors register themselves; imported on first use, so no caller has to."""


def _ensure_registered(name: str | None = None) -> None:
    """Import the built-in extractor module(s) (``name``'s, or all) so their registration has run."""
    import importlib

    for builtin, module in _BUILT_IN_MODULES.items():
        if (name is None or name == builtin) and builtin not in _REGISTRY:
            importlib.import_module(module)


def get_extractor(name: str, **settings: object) -> Extractor:
    """A new extractor by registered name; an unknown name lists the known ones, an unknown setting the allowed.

    Examples
    --------
    >>> get_extractor("text", embedder="none").modality
    'text'
    >>> try:
    ...     get_extractor("text", bogus=1)
    ... except ValidationError as exc:
    ...     print(exc.where, "bogus" in str(exc))
    extractor_settings.text True
    """
    _ensure_registered(name)
    if name not in _REGISTRY:
        _ensure_registered()
        raise ValidationError(f"unknown extractor {name!r}; known: {sorted(_REGISTRY)}", where="extractor")
    factory = _REGISTRY[name]
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # not introspectable: let the factory judge
        signature = None
    if signature is not None:
        try:
            signature.bind(**settings)
        except TypeError as exc:
            allowed = [p for p, par in signature.parameters.items()
                       if par.kind in (par.KEYWORD_ONLY, par.POSITIONAL_OR_KEYWORD)]
            raise ValidationError(f"{exc}; the {name} extractor's settings are {allowed}",
                                  where=f"extractor_settings.{name}") from exc
    return factory(**settings)


def registered_modality(name: str) -> str | None:
    """The modality a registered extractor reads, from its factory's ``modality`` attribute, without building it.

    None for an unknown name or a factory that does not say (an attribute set only in ``__init__``).

    >>> @register_extractor("doc-example-thermal")
    ... class Thermal:
    ...     modality = "vision"
    >>> registered_modality("doc-example-thermal"), registered_modality("no-such-extractor")
    ('vision', None)
    >>> del _REGISTRY["doc-example-thermal"]
    """
    modality = getattr(_REGISTRY.get(name), "modality", None)
    return modality if isinstance(modality, str) and modality in get_args(Modality) else None


def available_extractors() -> list[str]:
    """Names of the registered extractors (the built-in ones always among them)."""
    _ensure_registered()
    return sorted(_REGISTRY)
