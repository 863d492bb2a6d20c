"""A Grader fitted on a workspace records when it read the labels, and the new-labels trigger counts from it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from assetgrade.grader import Grader
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.lifecycle.triggers import labels_cutoff
from assetgrade.store.loading import load_records
from assetgrade.workspace import Workspace


def test_a_workspace_fit_records_when_it_read_the_labels(trained: tuple[Path, Path]) -> None:
    _, model = trained
    info = json.loads((model / "bundle.json").read_text())
    as_of, trained_at = datetime.fromisoformat(info["labels_as_of"]), datetime.fromisoformat(info["trained_at"])
    # read before fitting began; trained_at is when it ended, kept to the second, so compare at that precision
    assert as_of.replace(microsecond=0) <= trained_at
    assert Grader.load(model).labels_as_of_ == info["labels_as_of"]


def test_registration_keeps_labels_as_of_and_the_trigger_counts_from_it(
    batch_ws: Workspace, trained: tuple[Path, Path]
) -> None:
    _, model = trained
    reg = ModelRegistry(batch_ws)
    reg.register(Grader.load(model), version="v1")
    info = reg.get("v1")
    assert info.lineage is not None and info.lineage["labels_as_of"] == json.loads(
        (model / "bundle.json").read_text())["labels_as_of"]
    since, source = labels_cutoff(info)
    assert source == "labels_as_of" and since == datetime.fromisoformat(info.lineage["labels_as_of"])


def test_a_grader_given_records_records_no_labels_time(batch_ws: Workspace) -> None:
    g = Grader(extractors=("text",), folds=2, seed=0).fit(load_records(batch_ws))
    assert g.labels_as_of_ is None and g.info()["labels_as_of"] is None  # a list says nothing about when
