"""What a workspace's labelled data means for ``train`` with given ``grader:`` settings, found without training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetgrade.errors import AssetgradeError
from assetgrade.grader_factory import grader_from_settings
from assetgrade.grader_settings import SETTINGS_WHERE

if TYPE_CHECKING:
    from assetgrade.grader import Grader
    from assetgrade.store.records import AssetRecord

__all__ = ["DataCheck", "check_training_data"]


_BUILT_IN = ("vision", "text", "sensors")  # the modalities an AssetRecord can say it has, registered by these names


@dataclass(frozen=True)
class DataCheck:
    """What :func:`check_training_data` found: ``problems`` stop ``train``, ``warnings`` weaken what it learns."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    n_assets: int
    grade_counts: dict[str, int]
    """Labelled assets per grade on the scale, in the scale's order."""
    modality_counts: dict[str, int]
    """Labelled assets with evidence of each modality the grader uses."""

    def summary(self) -> str:
        """One line: assets, labelled per grade, labelled with each modality."""
        n_lab = sum(self.grade_counts.values())
        grades = ", ".join(f"{g} {n}" for g, n in self.grade_counts.items())
        mods = ", ".join(f"{m} {n}" for m, n in self.modality_counts.items())
        return f"{self.n_assets} assets, {n_lab} labelled ({grades}); labelled with evidence: {mods or 'none named'}"


def _name_and_modality(spec: Any) -> tuple[str, str | None]:
    """(name shown, modality read) of a named or given extractor; modality None when its class does not say.

    A built-in name reads its own modality; a plug-in's registered class, or a given instance,
    says so in its ``modality`` attribute (read without building anything).
    """
    from assetgrade.modalities.base import registered_modality

    if isinstance(spec, str):
        return spec, spec if spec in _BUILT_IN else registered_modality(spec)
    modality = getattr(spec, "modality", None)
    name = f"{type(spec).__name__} ({modality})" if isinstance(modality, str) else type(spec).__name__
    return name, modality if modality in _BUILT_IN else None


def _examples(ids: Sequence[str], n: int = 3) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _rul_channel_warning(grader: Grader, base: Path | None,
                         records: Sequence[AssetRecord]) -> tuple[list[AssetRecord], str] | None:
    """The records whose series have every channel the configured RUL model needs, and a warning; None: no gap."""
    from assetgrade.grading.fleet_rul import rul_channel_gaps

    path = (grader.extractor_settings.get("sensors") or {}).get("rul_model")
    if path is None:  # no RUL model configured: nothing to check
        return None
    try:
        model = (grader.resolve_settings(base).get("sensors") or {}).get("rul_model")
        gaps = rul_channel_gaps(model, records) if model is not None else {}
    except AssetgradeError:
        return None  # a bad rul_model setting is check_grader_settings' to report
    if not gaps:
        return None
    missing = sorted({c for cs in gaps.values() for c in cs})
    kept = [r for r in records if r.asset_id not in gaps]
    where = f"sensors: the RUL model {path!s} needs channel(s) {missing}"
    if kept:
        return kept, (f"{where} that {len(gaps)} of {len(records)} labelled assets' series lack "
                      f"({_examples(sorted(gaps))}): they get no sensor evidence")
    return kept, (f"{where} that none of the {len(records)} labelled assets' series has, so train leaves sensors "
                  "out; train it on histories with the workspace's channel names (assetgrade sensors fit-rul) or "
                  "unset grader.extractor_settings.sensors.rul_model")


def check_training_data(records: Sequence[AssetRecord], settings: Mapping[str, Any], grades: Sequence[str],
                        *, where: str = SETTINGS_WHERE, base: Path | None = None) -> DataCheck:
    """What the workspace's data means for ``train`` with these ``grader:`` settings, found without training.

    Problems (``train`` would stop): grade labels off the ontology's scale, fewer labelled assets
    than folds or fewer than two grades, no named extractor with any labelled evidence. Warnings
    (it trains, but learns less): a grade with fewer labelled assets than folds or none at all, an
    extractor that ``train`` would leave out (no labelled asset has its evidence, or they all share
    one grade), too few best-grade images for anomaly maps (the vision extractor's
    ``MIN_GOOD_IMAGES``), asset types too small for their own conformal threshold. A plug-in
    extractor is checked for the modality its class names in ``modality`` (counted under its
    registered name); one whose class does not name it gets a warning that it was not checked.
    Only names and class attributes are read (nothing is built), except a saved RUL model the
    sensors settings name (relative to ``base``, the workspace): it is loaded and the labelled
    assets' series are read for the channels it needs (series lacking them get no sensor
    evidence; when all lack them, train leaves sensors out). Run
    :func:`~assetgrade.grader_factory.check_grader_settings` first for their settings.

    Examples
    --------
    >>> from assetgrade.store.records import AssetRecord
    >>> recs = [AssetRecord(f"p{i}", "pump", grade="AB"[i % 2]) for i in range(6)] + [AssetRecord("x", grade="Z")]
    >>> check = check_training_data(recs, {"extractors": ["text"], "folds": 3}, ["A", "B", "C"])
    >>> check.problems[0]
    "labels: 1 labelled asset has a grade not on the scale ['A', 'B', 'C']: 'Z' (x)"
    >>> check.problems[1]
    'assetgrade.yaml:grader: no extractor has labelled evidence (text: none), so train would stop'
    """
    from assetgrade.modalities.base import available_extractors

    grader = grader_from_settings(settings)
    scale = tuple(grades)
    labelled = [r for r in records if r.grade is not None]
    problems: list[str] = []
    warnings: list[str] = []
    off: dict[str, list[str]] = {}
    for r in labelled:
        if r.grade not in scale:
            off.setdefault(str(r.grade), []).append(r.asset_id)
    if off:
        n_off = sum(len(v) for v in off.values())
        listed = "; ".join(f"{g!r} ({_examples(ids)})" for g, ids in sorted(off.items()))
        problems.append(f"labels: {n_off} labelled asset{' has a grade' if n_off == 1 else 's have grades'} "
                        f"not on the scale {list(scale)}: {listed}")
    on = [r for r in labelled if r.grade in scale]
    counts = Counter(str(r.grade) for r in on)
    grade_counts = {g: counts.get(g, 0) for g in scale}
    if len(on) < grader.folds or len(counts) < 2:
        problems.append(f"labels: {len(on)} labelled asset(s) with {len(counts)} grade(s) on the scale; train needs "
                        f"at least {grader.folds} ({where}.folds) and two grades")
    else:
        thin = [f"{g} ({n})" for g, n in grade_counts.items() if 0 < n < grader.folds]
        if thin:
            warnings.append(f"labels: fewer labelled assets than the {grader.folds} folds for grade(s) "
                            f"{', '.join(thin)}: some folds hold none, so their out-of-fold figures are rough")
        absent = [g for g, n in grade_counts.items() if n == 0]
        if absent:
            warnings.append(f"labels: no labelled asset has grade(s) {absent}: the grader learns nothing about them "
                            "and will rarely choose them")
    modality_counts: dict[str, int] = {}
    unknown = 0
    for spec in grader.extractors:
        name, modality = _name_and_modality(spec)
        if modality is None:
            unknown += 1
            if isinstance(spec, str) and spec not in available_extractors():
                warnings.append(f"{name}: not a registered extractor in this process (import the module that "
                                "registers it), so its data is not checked")
            else:
                warnings.append(f"{name}: a plug-in extractor whose class does not say which evidence it reads "
                                "(no class attribute `modality`), so its data is not checked")
            continue
        have = [r for r in on if modality in r.modalities()]
        lacking = _rul_channel_warning(grader, base, have) if name == "sensors" and have else None
        if lacking is not None:
            have, line = lacking
            warnings.append(line)
        modality_counts[name] = len(have)
        own = Counter(str(r.grade) for r in have)
        if not have:
            if lacking is None:  # else the warning above says why train leaves it out
                warnings.append(f"{name}: none of the {len(on)} labelled assets has {modality} evidence, "
                                "so train leaves it out")
        elif len(own) < 2:  # the vision extractor refuses to fit; the others fit without a grade model
            if name == "vision":
                effect = "train leaves it out"
            elif name in _BUILT_IN:
                effect = "it learns no grade reading"
            else:
                effect = "it has one grade to learn from"
            warnings.append(f"{name}: its {len(have)} labelled asset(s) all have grade {next(iter(own))!r}, "
                            f"so {effect}")
        if name == "vision" and have and scale:
            from assetgrade.modalities.vision.extractor import MIN_GOOD_IMAGES

            n_good = sum(len(r.images) for r in have if r.grade == scale[0])
            if n_good < MIN_GOOD_IMAGES:
                warnings.append(f"vision: {n_good} labelled image(s) of the best grade {scale[0]!r}, fewer than "
                                f"{MIN_GOOD_IMAGES}: no anomaly heat maps are learned")
    if modality_counts and not any(modality_counts.values()) and not unknown:
        listed = ", ".join(f"{m}: none" for m in modality_counts)
        problems.append(f"{where}: no extractor has labelled evidence ({listed}), so train would stop")
    if grader.mondrian and on:
        small = Counter(r.asset_type for r in on)
        pooled = [f"{t} ({n})" for t, n in sorted(small.items()) if n < grader.min_group_size]
        if pooled and len(small) > 1:
            warnings.append(f"conformal: asset type(s) with fewer than {grader.min_group_size} labelled assets use "
                            f"the pooled threshold, not their own: {', '.join(pooled)}")
    return DataCheck(problems=tuple(problems), warnings=tuple(warnings), n_assets=len(records),
                     grade_counts=grade_counts, modality_counts=modality_counts)
