"""Hostile data against the audit checks: non-finite embeddings, one asset, classes from one asset, unknown labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from assetgrade.audit.base import get_check, run_checks
from assetgrade.audit.data import AuditData


def _data(labels: list[str], *, origins: list[str] | None = None, assets: list[str] | None = None,
          emb: np.ndarray | None = None, **kw: object) -> AuditData:
    n = len(labels)
    table = pd.DataFrame({"item_id": [f"i{k}" for k in range(n)],
                          "asset_id": assets or [f"a{k}" for k in range(n)],
                          "label": labels, "origin": origins or ["real"] * n})
    return AuditData(table, embeddings=emb, **kw)  # type: ignore[arg-type]


def _separable(rng: np.random.Generator, labels: list[str], d: int = 4) -> np.ndarray:
    emb = rng.normal(size=(len(labels), d))
    emb[:, 0] += 4.0 * np.array([lab == labels[0] for lab in labels])
    return emb


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_non_finite_embedding_value_does_not_abort_the_embedding_checks(rng: np.random.Generator,
                                                                           bad: float) -> None:
    labels = ["x", "y"] * 20
    emb = _separable(rng, labels)
    emb[3, 1] = bad
    data = _data(labels, origins=["real", "real", "real", "synthetic"] * 10, emb=emb)
    # the synthetic items are all y, which the probe tells from the real x: the AUC is high and the p-value is
    # taken from relabellings; 19 of them run one (p cannot fall below alpha 0.05), which takes that path with the
    # bad value as well as the default 99 do (those ran all 99: 2.5 s of CPU for each value)
    rep = run_checks(data, ["adversarial", "label_noise", "duplicates", "sim_to_real"],
                     settings={"adversarial": {"n_permutations": 19}})
    assert rep.errors == {}
    assert not rep.results["adversarial"].skipped and not rep.results["label_noise"].skipped
    assert np.isfinite(rep.results["adversarial"].info["auc"])
    assert rep.results["adversarial"].info["p_value_method"] == "permutation"
    assert rep.results["adversarial"].info["permutations"] == 1


def test_one_asset_with_synthetic_copies_is_skipped_not_a_crash(rng: np.random.Generator) -> None:
    labels = ["x", "y"] * 4
    data = _data(labels, origins=["real", "synthetic"] * 4, assets=["A"] * 8, emb=rng.normal(size=(8, 4)))
    rep = run_checks(data, ["adversarial", "sim_to_real", "label_noise"])
    assert rep.errors == {}
    assert all(r.skipped for r in rep.results.values())
    assert "fewer than 2 assets" in rep.results["adversarial"].message


def test_adversarial_skips_when_the_synthetic_items_copy_one_asset(rng: np.random.Generator) -> None:
    # ten real assets; all three synthetic items are copies of a0: no fold can train on synthetic and test on it
    labels = ["x"] * 13
    assets = [f"a{k}" for k in range(10)] + ["a0"] * 3
    data = _data(labels, origins=["real"] * 10 + ["synthetic"] * 3, assets=assets, emb=rng.normal(size=(13, 4)))
    res = get_check("adversarial").run(data)
    assert res.skipped and res.passed
    assert "synthetic/augmented items come from fewer than 2 assets" in res.message


def test_label_noise_with_fewer_assets_than_folds(rng: np.random.Generator) -> None:
    # two classes of two assets each, eight images per asset: folds are bounded by assets (2), not images (16)
    labels = ["x"] * 16 + ["y"] * 16
    assets = ["A"] * 8 + ["B"] * 8 + ["C"] * 8 + ["D"] * 8
    res = get_check("label_noise").run(_data(labels, assets=assets, emb=_separable(rng, labels)))
    assert not res.skipped
    assert res.info["n_scored"] == 32
    assert res.passed


def test_label_noise_leaves_out_a_class_seen_on_one_asset_only(rng: np.random.Generator) -> None:
    # class z: four images of one asset; held out with its asset it could never be predicted, so every
    # z item would look mislabelled. It is left out (named), the rest is scored.
    labels = ["x"] * 10 + ["y"] * 10 + ["z"] * 4
    assets = [f"a{k}" for k in range(20)] + ["Z"] * 4
    emb = _separable(rng, labels)
    emb[20:, 1] += 6.0
    res = get_check("label_noise").run(_data(labels, assets=assets, emb=emb))
    assert not res.skipped
    assert res.info["not_scored"]["classes_from_one_asset"] == {"classes": ["z"], "n_items": 4}
    assert res.info["n_scored"] == 20
    assert not res.flags[20:].any() and (res.scores[20:] == 1.0).all()
    assert res.passed


def test_label_noise_scores_the_known_labels_when_some_are_outside_the_classes(rng: np.random.Generator) -> None:
    # classes from a grader that never saw grade "E": the other 20 items are still checked, and the
    # mislabelled one is found (it used to skip the whole check, which passes)
    labels = ["A"] * 10 + ["B"] * 10 + ["E"]
    probs = np.zeros((21, 2))
    probs[:10, 0], probs[10:20, 1] = 0.95, 0.95
    probs[:10, 1], probs[10:20, 0] = 0.05, 0.05
    probs[20] = 0.5
    probs[3] = [0.02, 0.98]  # labelled A, clearly B
    res = get_check("label_noise").run(_data(labels, pred_probs=probs, classes=("A", "B")))
    assert not res.skipped
    assert res.info["not_scored"]["labels_outside_classes"] == {"labels": ["E"], "n_items": 1}
    assert res.flags[3] and not res.flags[20]
    assert "not scored" in res.message


def test_sim_to_real_without_a_trainable_synthetic_fold_is_skipped_not_failed(rng: np.random.Generator) -> None:
    # two synthetic items, one per class, copies of a0 and a10: with two folds, each fold's synthetic training
    # set holds one class, so no synthetic probe is ever trained; a NaN gap used to fail the audit
    labels = ["x"] * 10 + ["y"] * 10 + ["x", "y"]
    origins = ["real"] * 20 + ["synthetic"] * 2
    assets = [f"a{k}" for k in range(20)] + ["a0", "a10"]
    res = get_check("sim_to_real", n_splits=2).run(_data(labels, origins=origins, assets=assets,
                                                         emb=_separable(rng, labels)))
    assert res.skipped and res.passed


def test_sim_to_real_compares_the_probes_on_the_same_real_items(rng: np.random.Generator) -> None:
    labels = ["x", "y"] * 30
    origins = ["real", "real", "synthetic", "synthetic"] * 15
    res = get_check("sim_to_real", n_splits=3).run(_data(labels, origins=origins, emb=_separable(rng, labels)))
    assert not res.skipped
    assert res.info["n_real_compared"] == 30
    assert res.info["gap"] == pytest.approx(res.info["accuracy_real_to_real"] - res.info["accuracy_synthetic_to_real"])


def _noise_images(rng: np.random.Generator, n: int) -> list[Image.Image]:
    return [Image.fromarray(rng.integers(0, 256, size=(32, 32)).astype(np.uint8)).convert("RGB") for _ in range(n)]


def test_no_chance_shortcuts_on_a_handful_of_items(rng: np.random.Generator) -> None:
    # 2 real, 2 synthetic, all pure noise: every statistic's AUC is 0, 0.25, 0.5, 0.75 or 1, so on an effect
    # size alone nearly every run named a "shortcut" (97 of 100); none is significant after Bonferroni
    reported = []
    for _ in range(10):
        imgs = _noise_images(rng, 4)
        data = _data(["x"] * 4, origins=["real", "real", "synthetic", "synthetic"], emb=rng.normal(size=(4, 3)),
                     image_loader=lambda i, imgs=imgs: imgs[i])
        res = get_check("adversarial").run(data)
        reported.append(res.info["shortcuts"])
        assert all(np.isfinite(r["p_value"]) for r in res.info["image_stats"])
    assert reported == [[]] * 10


def test_a_perfect_auc_on_two_synthetic_items_is_not_significant() -> None:
    emb = np.array([[0.0], [0.5], [10.0], [10.5]])  # one dimension: with two training items a fold, scaled
    data = _data(["x"] * 4, origins=["real", "real", "synthetic", "synthetic"], emb=emb)
    res = get_check("adversarial", n_permutations=0).run(data)  # the normal approximation alone
    assert res.info["auc"] == 1.0 and res.info["p_value_method"] == "normal approximation"
    assert res.info["auc_p_value"] == pytest.approx(0.061, abs=1e-3)
    assert res.passed and "not significant" in res.message
    assert not get_check("adversarial", alpha=0.1, n_permutations=0).run(data).passed
    # on so few items the approximation is loose: relabelling the 4 items gives a perfect AUC far more often
    # than 1 in 10, so even at alpha 0.1 a perfect AUC on 2 synthetic items is chance
    exact = get_check("adversarial", alpha=0.1).run(data)
    assert exact.info["p_value_method"] == "permutation" and exact.info["auc_p_value"] > 0.1
    # the approximation's p-value stays in the result beside the one the check decided with
    assert exact.info["auc_p_value_normal"] == pytest.approx(res.info["auc_p_value"])
    assert exact.passed and "relabellings" in exact.message


def test_the_permutation_test_still_fails_synthetic_items_a_probe_tells_apart(rng: np.random.Generator) -> None:
    labels = ["x"] * 38
    origins = ["real"] * 30 + ["synthetic"] * 8
    emb = rng.normal(size=(38, 4))
    emb[30:, 0] += 6.0  # the synthetic items sit apart along one dimension
    res = get_check("adversarial", n_permutations=49).run(_data(labels, origins=origins, emb=emb))
    assert res.info["auc"] > 0.95 and res.info["p_value_method"] == "permutation"
    assert res.info["permutations"] == 49 and res.info["auc_p_value"] == pytest.approx(1 / 50)
    assert not res.passed


def test_coverage_by_per_item_columns_is_refused_not_a_hang() -> None:
    # item_id x asset_id over 2,000 items: 4 million combinations, each a dict; refused by name, the run goes on
    n = 2000
    data = _data(["x"] * n)
    rep = run_checks(data, ["coverage", "imbalance"], {"coverage": {"by": ["item_id", "asset_id"]}})
    assert "coverage" in rep.errors and "imbalance" in rep.results
    assert "4,000,000 cells (item_id 2000, asset_id 2000 distinct values)" in rep.errors["coverage"]
    assert "coverage.by" in rep.errors["coverage"]


def test_identical_embeddings_are_duplicates_however_few_or_alike(rng: np.random.Generator) -> None:
    # centring on the mean made two items antipodal or zero, and a set of copies of one image all zero:
    # no pair was found on embeddings alone
    two = get_check("duplicates").run(_data(["x", "x"], emb=np.array([[1.0, 2.0, 3.0]] * 2)))
    assert two.info["duplicate_pairs"] == [{"a": "i0", "b": "i1", "method": "embedding", "similarity": 1.0,
                                           "split_a": "train", "split_b": "train"}]
    same = get_check("duplicates").run(_data(["x"] * 5, emb=np.tile(rng.normal(size=(1, 8)), (5, 1))))
    assert same.info["n_pairs"] == 10 and same.n_flagged == 5 and not same.passed
    assert (same.scores == 0.0).all()


def test_rows_without_an_embedding_are_no_duplicates_of_each_other(rng: np.random.Generator) -> None:
    from functools import partial

    from assetgrade.audit.data import audit_data_from_records
    from assetgrade.store.records import AssetRecord, ImageRef, LogEntry

    recs = [AssetRecord(f"a{k}", grade="A", images=(ImageRef(f"e{k}", f"{k:064x}", partial(bytes, 1)),),
                        attributes={"split": "train"}) for k in range(6)]
    recs += [AssetRecord(f"log{k}", grade="A", logs=(LogEntry(f"l{k}", "text"),),
                         attributes={"split": ("train", "test")[k % 2]}) for k in range(4)]
    data = audit_data_from_records(recs, embed=lambda refs: rng.normal(size=(len(refs), 4)))
    assert data.embeddings is not None and np.isnan(data.embeddings[6:]).all()
    res = get_check("duplicates").run(AuditData(data.table, embeddings=data.embeddings))
    assert res.info["n_pairs"] == 0 and res.info["n_leakage_pairs"] == 0


def test_synthetic_share_cells_keep_labels_with_any_characters() -> None:
    # the cell key was the values joined by \x1f and split again: a label holding one crashed the whole audit
    labels = ["a\x1fb", "a\x1fb", "c", "c"]
    res = get_check("synthetic_share", max_share=0.4).run(_data(labels, origins=["real", "synthetic", "real", "real"]))
    assert [(c["label"], c["share"]) for c in res.info["cells"]] == [("a\x1fb", 0.5), ("c", 0.0)]
    assert not res.passed and res.flags.tolist() == [False, True, False, False]


def test_label_noise_leaves_out_unusable_probability_rows_by_item() -> None:
    # one NaN row from the grader used to error the whole check, naming a row of its own numbering
    n = 20
    probs = np.tile([0.9, 0.1], (n, 1))
    probs[1::2] = [0.1, 0.9]
    probs[3], probs[5], probs[7] = np.nan, [2.0, -1.0], [0.0, 0.0]
    probs[8] = [0.02, 0.98]  # labelled A, clearly B
    res = get_check("label_noise").run(_data(["A", "B"] * 10, pred_probs=probs, classes=("A", "B")))
    assert res.info["not_scored"]["unusable_probabilities"] == {"item_ids": ["i3", "i5", "i7"], "n_items": 3}
    assert res.info["n_scored"] == 17 and res.flags[8] and not res.flags[[3, 5, 7]].any()
