"""Each asset's grade distribution from a prediction made without its label (for label-noise audits).

Confident learning (Northcutt et al. 2021) needs *out-of-sample* probabilities: a model that
learned an asset's label predicts it too well to expose that label as wrong. A trained Grader
holds such a distribution for every asset it learned from (``oof_``: out-of-fold, or the
calibration set's when it was fitted with one), and an asset it did not learn from is out of
sample, so its ordinary grade distribution serves, unless it holds a stored file (an image or a
series, same sha256) of an asset it learned from: the grader's extractors saw that file beside the
training asset's label (a nearest-neighbour head or a PatchCore bank reads it back), which is why
``Grader.fit`` keeps assets linked by identical files in one fold (``grading.training.linked_groups``).
Fit keeps those files' sha256 (``train_files_``, :func:`~assetgrade.grading.training.file_hashes`),
so the match holds after a training asset is deleted or its files replaced.
Such an asset has no out-of-sample distribution: its row is NaN and its source
``"shares-training-file"``. An asset it learned from but holds no out-of-fold row for (a grader
fitted with a separate calibration set, or saved before ``train_ids_`` was kept) has none either:
its row is NaN and its source ``"none"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from assetgrade.grader import Grader
    from assetgrade.store.records import AssetRecord

__all__ = ["SOURCES", "Source", "label_noise_caveat", "out_of_sample_proba"]

Source = Literal["out-of-fold", "graded", "shares-training-file", "none"]
SOURCES: tuple[Source, ...] = ("out-of-fold", "graded", "shares-training-file", "none")
"""Every source :func:`out_of_sample_proba` gives, the NaN ones last."""


def out_of_sample_proba(
    grader: Grader, records: Sequence[AssetRecord], *, training: Sequence[AssetRecord] | None = None,
    batch: int = 256,
) -> tuple[npt.NDArray[np.float64], list[Source]]:
    """(distributions over ``grader.grades_``, one row per record, and how each row was obtained).

    ``"out-of-fold"``: the grader's own out-of-fold (or calibration-set) row for an asset it
    learned from; ``"graded"``: the grader's distribution for an asset it never learned from
    (graded in batches of ``batch``); ``"shares-training-file"``: an asset it never learned from
    that holds an image or series file (same sha256) of one it did (NaN: the grader saw that file
    with the training asset's label); ``"none"``: learned from without an out-of-fold row (NaN).

    The training assets' files are the grader's ``train_files_`` (kept by fit: a copy of a file the
    grader learned from is matched after its asset was deleted or given other files). A grader saved
    before fit kept them has them read from ``records`` and ``training`` (e.g. all the workspace's
    assets when only some are scored): the records there whose id the grader learned from; a
    training asset in neither, or whose files changed since the fit, cannot be matched then.
    """
    from assetgrade.grading.training import file_hashes  # what links assets in fit's folds links them here too

    grades = list(grader.grades_)
    oof = getattr(grader, "oof_", None) or {}
    oof_row = {a: i for i, a in enumerate(oof.get("asset_ids", []))}
    trained = getattr(grader, "train_ids_", None)
    learned = set(trained) if trained is not None else None
    kept = getattr(grader, "train_files_", None)  # graders saved before fit kept them: read the training records
    seen = set(kept) if kept is not None else {
        sha for r in (*records, *(training or ())) if learned is not None and r.asset_id in learned
        for sha in file_hashes(r)}
    out = np.full((len(records), len(grades)), np.nan)
    sources: list[Source] = []
    to_grade: list[int] = []
    for i, rec in enumerate(records):
        if rec.asset_id in oof_row:
            out[i] = np.asarray(oof["proba"][oof_row[rec.asset_id]], dtype=np.float64)
            sources.append("out-of-fold")
        elif learned is not None and rec.asset_id not in learned:
            if any(sha in seen for sha in file_hashes(rec)):
                sources.append("shares-training-file")
            else:
                to_grade.append(i)
                sources.append("graded")
        else:
            sources.append("none")
    for start in range(0, len(to_grade), batch):
        idx = to_grade[start:start + batch]
        for i, res in zip(idx, grader.grade_many([records[i] for i in idx]), strict=True):
            out[i] = [res.probabilities.get(g, 0.0) for g in grades]
    return out, sources


def label_noise_caveat(accuracy: float | None, *, below: float = 0.9) -> str | None:
    """The warning to show beside a label-noise audit on a grader's distributions (None: accurate enough).

    Confident learning counts an asset as probably mislabelled when the model confidently
    disagrees with its label, so a grader's own mistakes count too.
    """
    if accuracy is None or accuracy >= below:
        return None
    return (f"the grader is wrong on {1 - accuracy:.0%} of its out-of-fold assets; confident learning cannot tell "
            "those mistakes from wrong labels, so read its rate as an upper bound and its flagged list as assets "
            "worth a second look")
