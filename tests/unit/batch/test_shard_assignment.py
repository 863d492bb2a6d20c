"""Stable shards: assets coming and going change only their own shards; old markers are never read as new ones."""

from __future__ import annotations

import hashlib
import random

import pytest
from sqlalchemy import select

from assetgrade.batch.assignment import SHARD_SCHEME, cut_shards, id_hash
from assetgrade.batch.jobs import SHARD_EVENT, plan_shards, run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.grading.bundle import read_bundle_info
from assetgrade.store.audit import append_event
from assetgrade.store.schema import AuditEvent, Evidence
from assetgrade.workspace import Workspace

from .conftest import N_ASSETS, seed

IDS = [f"asset-{i:03d}" for i in range(N_ASSETS)]


def _changed(before: list[tuple[str, tuple[str, ...]]], after: list[tuple[str, tuple[str, ...]]]) -> tuple[int, int]:
    """(shards of ``before`` gone from ``after``, shards of ``after`` not in ``before``), by key."""
    old, new = {k for k, _ in before}, {k for k, _ in after}
    return len(old - new), len(new - old)


def test_an_asset_with_a_lower_id_than_any_changes_only_the_shard_it_falls_in(batch_ws: Workspace) -> None:
    # fixed counts of sorted ids: 'asset-00-000' sorts first, so it moved every boundary and every shard key
    before = plan_shards(batch_ws, "grade", model_version="m", shard_size=5)
    seed(batch_ws, 1, prefix="asset-00")
    after = plan_shards(batch_ws, "grade", model_version="m", shard_size=5)
    gone, new = _changed(before, after)
    assert gone == 1 and 1 <= new <= 2, (gone, new)  # its shard, which may split in two


def test_removing_an_asset_changes_only_its_shard_and_at_most_the_sibling_it_merges_with(
        batch_ws: Workspace) -> None:
    before = plan_shards(batch_ws, "grade", model_version="m", shard_size=5, asset_ids=IDS)
    after = plan_shards(batch_ws, "grade", model_version="m", shard_size=5, asset_ids=IDS[:3] + IDS[4:])
    gone, new = _changed(before, after)
    assert 1 <= gone <= 2 and new == 1, (gone, new)


def test_a_resumed_grade_after_a_new_low_id_recomputes_only_that_assets_shard(batch_ws: Workspace) -> None:
    # fixed counts: the new first id shifted every shard, so the rerun graded all 25 assets again (24 skipped as
    # already stored): exactly once, but every shard's work redone
    with LocalExecutor(workers=1, start_method="fork") as ex:
        first = run_batch(batch_ws, "grade", ex, shard_size=5)
        seed(batch_ws, 1, prefix="asset-00")
        again = run_batch(batch_ws, "grade", ex, shard_size=5)
    assert (first.written, first.errors) == (N_ASSETS, [])
    assert again.shards_skipped >= first.n_shards - 1 and 1 <= again.shards_done <= 2
    assert (again.written, again.errors) == (1, []) and again.skipped_existing <= 5  # the rest of its old shard


def test_a_done_marker_of_the_fixed_count_scheme_does_not_skip_a_shard(batch_ws: Workspace) -> None:
    # the marker a fixed-count run wrote for the one shard of all 24 assets (same assets, same evidence): keys of
    # the two schemes are hashed apart, so the run grades every asset instead of trusting a marker it did not write
    mv = str(read_bundle_info(batch_ws.models_dir / "grader")["model_version"])
    h = hashlib.sha256(f"grade\x00{mv}".encode())
    with batch_ws.session() as s:
        for aid in IDS:
            shas = s.scalars(select(Evidence.sha256).where(Evidence.asset_id == aid).order_by(Evidence.id))
            h.update(f"\x00{aid}\x01{','.join(shas)}".encode())
        old_key = f"grade:{h.hexdigest()[:40]}"
        append_event(s, actor="batch", action=SHARD_EVENT, entity="batch_shard", entity_id=old_key,
                     payload={"kind": "grade", "model_version": mv, "index": 0, "assets": N_ASSETS})
    with LocalExecutor(workers=1, start_method="fork") as ex:
        rep = run_batch(batch_ws, "grade", ex, shard_size=N_ASSETS)
    assert (rep.n_shards, rep.shards_skipped, rep.written, rep.errors) == (1, 0, N_ASSETS, [])
    with batch_ws.session(readonly=True) as s:
        payloads = list(s.scalars(select(AuditEvent.payload).where(AuditEvent.action == SHARD_EVENT)
                                  .order_by(AuditEvent.seq)))
    assert [p.get("scheme") for p in payloads] == [None, SHARD_SCHEME]  # the new marker names its scheme


def test_cut_shards_is_stable_and_balanced_on_synthetic_ids() -> None:
    rng = random.Random(0)
    ids = sorted({f"a{rng.randrange(10**9):09d}" for _ in range(5000)})
    shards = cut_shards(ids, 64)
    sizes = [len(s) for s in shards]
    assert sorted(a for s in shards for a in s) == ids and max(sizes) <= 64
    assert sum(sizes) / len(sizes) >= 32 and min(sizes) >= 8  # leaves are about ln 2 full; none nearly empty
    assert cut_shards(list(reversed(ids)), 64) == shards  # the input order does not matter
    for added in ("a", "a000000000", "zzz", "a5"):  # lowest, highest, anywhere: one shard changes
        after = cut_shards([*ids, added], 64)
        assert len(set(shards) - set(after)) == 1 and 1 <= len(set(after) - set(shards)) <= 2


def test_cut_shards_validates_its_capacity_and_takes_each_id_once() -> None:
    with pytest.raises(ValueError, match="capacity=0"):
        cut_shards(["a"], 0)
    assert cut_shards([], 3) == [] and cut_shards(["b", "a", "a"], 3) == [("a", "b")]
    assert id_hash("asset-000") == int(hashlib.sha256(b"asset-000").hexdigest()[:16], 16)
