"""The Grader on the linked benchmark built from the shared real data (skipped when it is absent).

Floors are far below the benchmark targets: they catch a broken pipeline, not a small regression.
The fast test grades from the maintenance logs alone (no sentence embedder); the slow one runs
all three extractors and checks that fusion beats the best single modality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assetgrade.datasets.linked import build_linked
from assetgrade.grader import Grader


def _own(bench, idx: list[int], modalities: tuple[str, ...]) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    return {m: {bench.records[i].asset_id: bench.modality_grades(m)[i] for i in idx} for m in modalities}


def test_text_only_grader_on_real_logs(shared_data: Path) -> None:
    bench = build_linked(n_assets=200, seed=1, source="shared", data_dir=shared_data)
    idx = list(range(len(bench.records)))
    g = Grader(extractors=["text"], folds=3, seed=0, extractor_settings={"text": {"embedder": "none"}})
    g.fit(bench.records, modality_labels=_own(bench, idx, ("text",)), groups=bench.groups())
    pm = g.metrics_["per_modality"]["text"]
    # the log severity is read from real MaintIE texts: well above chance (3 levels) out-of-fold
    assert pm["extractor_accuracy_on_own_label"] >= 0.5
    m = g.metrics_
    assert 0.75 <= m["coverage"] <= 1.0 and m["ece"] <= 0.2
    r = g.grade_many(bench.records[:5])
    assert all(x.evidence[0].present for x in r)


@pytest.mark.slow
def test_fused_grader_beats_single_modalities_on_linked_assets(shared_data: Path) -> None:
    bench = build_linked(n_assets=240, seed=2, source="shared", data_dir=shared_data)
    idx = list(range(len(bench.records)))
    g = Grader(folds=3, seed=0, review_on_contradiction=False, extractor_settings={"vision": {"coreset_size": 300}})
    g.fit(bench.records, modality_labels=_own(bench, idx, ("vision", "text", "sensors")), groups=bench.groups())
    m = g.metrics_
    best = min(v["expected_cost"] for v in m["per_modality"].values())
    assert m["expected_cost"] < 0.95 * best
    assert m["accuracy"] >= 0.4 and m["qwk"] >= 0.4
    assert abs(m["coverage"] - 0.9) <= 0.08
    assert np.isfinite(m["ece"]) and m["ece"] <= 0.15
