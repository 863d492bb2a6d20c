"""Batch audit isolation: an unexpected exception auditing one asset is its error, not the end of the batch."""

from __future__ import annotations

import pytest
from tests.unit.batch.conftest import N_ASSETS, batch_ws, trained  # noqa: F401  (fixtures)

from assetgrade.batch.jobs import run_batch
from assetgrade.batch.local_executor import LocalExecutor
from assetgrade.store.blobs import BlobStore
from assetgrade.store.schema import Evidence
from assetgrade.workspace import Workspace


def test_an_unexpected_exception_auditing_one_asset_is_reported_for_it_and_the_rest_is_audited(
        batch_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # a blob backend that raises something of its own (here a TimeoutError from an object store) for asset-005's
    # image escaped run_shard in an audit (grade and extract isolate such errors per asset) and ended the batch
    with batch_ws.session(readonly=True) as s:
        bad_sha = s.get(Evidence, "asset-005/img").blob_sha  # type: ignore[union-attr]
    real_get = BlobStore.get_bytes

    def get_bytes(self: BlobStore, sha: str, **kw: object) -> bytes:
        if sha == bad_sha:
            raise TimeoutError("read timed out after 30 s")
        return real_get(self, sha, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(BlobStore, "get_bytes", get_bytes)
    with LocalExecutor(workers=1, start_method="fork") as ex:  # fork: the worker inherits the patched store
        rep = run_batch(batch_ws, "audit", ex, shard_size=8)
    assert [a for a, _ in rep.errors] == ["asset-005"], rep.errors
    assert "TimeoutError" in rep.errors[0][1] and "timed out" in rep.errors[0][1] and "not audited" in rep.errors[0][1]
    assert (rep.shards_done, rep.written) == (4, N_ASSETS - 1)  # every other asset has its audit row
