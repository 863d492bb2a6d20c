"""Prediction heads: the latest prediction and the review queue kept by the writes equal their definition.

The definition (newest prediction per asset by time then id; queued when its decision is review
and no review was made since it or based on it) is computed here from the raw tables with a
window query, independently of the heads table, after a seeded random mix of writes.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from assetgrade.rest.queries import latest_predictions, queue_neighbours, review_queue
from assetgrade.store import add_asset, add_prediction, add_review, latest_prediction
from assetgrade.store.engine import head_revision, make_engine, upgrade
from assetgrade.store.schema import Asset, Prediction, PredictionHead, Review
from assetgrade.workspace import Workspace

GRADES = ["A", "B", "C", "D"]


def _reference_queue(s: Session) -> list[str]:
    rn = func.row_number().over(partition_by=Prediction.asset_id,
                                order_by=(Prediction.created_at.desc(), Prediction.id.desc())).label("rn")
    sub = select(Prediction, rn).subquery()
    p = aliased(Prediction, sub)
    reviewed = exists(select(Review.id).where(
        Review.asset_id == sub.c.asset_id,
        or_(Review.created_at >= sub.c.created_at, Review.based_on_prediction_id == sub.c.id)))
    rows = s.execute(select(p).where(and_(sub.c.rn == 1, sub.c.decision == "review", ~reviewed))).scalars().all()
    key = [(-(r.expected_cost if r.expected_cost is not None else -1.0), -len(r.conformal_set),
            -len((r.payload or {}).get("contradictions") or []), r.created_at, r.asset_id) for r in rows]
    return [k[-1] for k in sorted(key)]


def _reference_latest(s: Session) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in s.execute(select(Prediction).order_by(Prediction.created_at, Prediction.id)).scalars():
        out[p.asset_id] = p.id
    return out


def _random_writes(ws: Workspace, seed: int, n_assets: int = 12, n_ops: int = 80) -> None:
    rng = random.Random(seed)
    ids = [f"h-{i:02d}" for i in range(n_assets)]
    with ws.session() as s:
        for i, aid in enumerate(ids):
            add_asset(s, aid, asset_type="pump" if i % 2 else "valve")
    for _ in range(n_ops):
        aid = rng.choice(ids)
        with ws.session() as s:
            if rng.random() < 0.6:
                g = rng.choice(GRADES)
                cost = None if rng.random() < 0.2 else float(rng.choice([5, 10, 10, 40]))
                k = rng.randint(1, 3)
                add_prediction(s, aid, model_version="m", grade=g, distribution={x: 0.25 for x in GRADES},
                               conformal_set=GRADES[:k], decision=rng.choice(["review", "review", "accept"]),
                               expected_cost=cost, payload={"contradictions": [{}] * rng.randint(0, 2)})
            else:
                version = s.execute(select(Asset.version).where(Asset.id == aid)).scalar_one()
                add_review(s, aid, reviewer="r", expected_version=version, grade=rng.choice(GRADES))


def test_heads_match_the_definition_after_random_writes(ws: Workspace) -> None:
    _random_writes(ws, seed=3)
    with ws.session(readonly=True) as s:
        expected_queue = _reference_queue(s)
        expected_latest = _reference_latest(s)
        page, total = review_queue(s, limit=1000)
        assert [r.asset_id for r in page] == expected_queue
        assert total == len(expected_queue)
        assert 0 < total < 12  # the mix leaves some assets queued and some not
        assert {a: p.id for a, p in latest_predictions(s, list(expected_latest)).items()} == expected_latest
        for aid, pid in expected_latest.items():
            got = latest_prediction(s, aid)
            assert got is not None and got.id == pid
        # paging walks the same order
        walked = [r.asset_id for off in range(0, total, 3) for r in review_queue(s, limit=3, offset=off)[0]]
        assert walked == expected_queue
        if total >= 2:
            assert queue_neighbours(s, expected_queue[1])[:3] == (expected_queue[0],
                                                                  expected_queue[2] if total > 2 else None, 1)


@pytest.mark.parametrize("seed", [0, 5])
def test_queue_neighbours_match_the_full_ordering(ws: Workspace, seed: int) -> None:
    # ties on cost, set size and contradictions are common in this mix: the keyset must break them as the list does
    _random_writes(ws, seed=seed, n_assets=20, n_ops=120)
    with ws.session(readonly=True) as s:
        queue = _reference_queue(s)
        total = len(queue)
        assert total >= 3
        for i, aid in enumerate(queue):
            expected = (queue[i - 1] if i else None, queue[i + 1] if i + 1 < total else None, i, total)
            assert queue_neighbours(s, aid) == expected, aid
        for aid in set(_reference_latest(s)) - set(queue):
            assert queue_neighbours(s, aid) == (None, queue[0], None, total)
        assert queue_neighbours(s, "no-such-asset") == (None, queue[0], None, total)


def test_an_older_prediction_does_not_replace_the_head(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "a1")
        new = add_prediction(s, "a1", model_version="m", grade="B", distribution={"A": 0.4, "B": 0.6},
                             conformal_set=["B"], decision="accept")
        old = add_prediction(s, "a1", model_version="m", grade="A", distribution={"A": 0.6, "B": 0.4},
                             conformal_set=["A", "B"], decision="review")
        # backdate the second one: it was made before the first (a batch replaying history)
        s.execute(update(Prediction).where(Prediction.id == old.id)
                  .values(created_at=new.created_at - timedelta(hours=1)))
    with ws.session() as s:
        s.execute(update(PredictionHead).where(PredictionHead.asset_id == "a1")
                  .values(prediction_id=new.id, predicted_at=new.created_at, queued=False))
        from assetgrade.store.results import advance_head

        assert advance_head(s, s.get(Prediction, old.id)) is False
    with ws.session(readonly=True) as s:
        got = latest_prediction(s, "a1")
        assert got is not None and got.id == new.id
        assert review_queue(s)[1] == 0


def test_a_review_takes_the_asset_off_the_queue_and_a_new_prediction_puts_it_back(ws: Workspace) -> None:
    with ws.session() as s:
        add_asset(s, "a1")
        add_prediction(s, "a1", model_version="m", grade="B", distribution={"A": 0.5, "B": 0.5},
                       conformal_set=["A", "B"], decision="review", expected_cost=12.0)
    with ws.session(readonly=True) as s:
        assert [r.asset_id for r in review_queue(s)[0]] == ["a1"]
    with ws.session() as s:
        add_review(s, "a1", reviewer="r", expected_version=1, grade="A")
    with ws.session(readonly=True) as s:
        assert review_queue(s) == ([], 0)
    with ws.session() as s:
        add_prediction(s, "a1", model_version="m2", grade="C", distribution={"B": 0.5, "C": 0.5},
                       conformal_set=["B", "C"], decision="review", expected_cost=3.0,
                       payload={"reasons": ["set {B, C} has 2 grades", "ünïcode ok"], "contradictions": [{"a": 1}],
                                "evidence": [{"big": "x" * 1000}]})
    with ws.session(readonly=True) as s:
        rows, total = review_queue(s)
        assert total == 1 and rows[0].model_version == "m2"
        # the queue reads the reasons out of the payload in the database, on SQLite and PostgreSQL alike
        assert rows[0].reasons == ["set {B, C} has 2 grades", "ünïcode ok"]
        assert rows[0].n_contradictions == 1 and rows[0].conformal_set == ["B", "C"] and rows[0].grade == "C"


def test_migration_fills_heads_from_existing_rows(tmp_path: Path) -> None:
    """A store made before the heads table gets it filled by ``db upgrade`` with the same rule."""
    w = Workspace.init(tmp_path / "w")
    _random_writes(w, seed=11)
    with w.session(readonly=True) as s:
        expected_queue = _reference_queue(s)
        expected_latest = _reference_latest(s)
    w.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'w' / 'assetgrade.db'}")
    with engine.begin() as conn:  # back to the schema before 0004 (undoing 0005-0010; 0007 is a no-op on SQLite)
        conn.execute(sa.text("DROP TABLE evidence_reinstatements"))
        conn.execute(sa.text("DROP TABLE evidence_withdrawals"))
        conn.execute(sa.text("DROP INDEX ix_ended_sessions_expires_at"))
        conn.execute(sa.text("DROP TABLE ended_sessions"))
        conn.execute(sa.text("ALTER TABLE api_tokens DROP COLUMN expires_at"))
        conn.execute(sa.text("DROP INDEX ix_label_requests_order"))
        conn.execute(sa.text("DROP TABLE label_requests"))
        conn.execute(sa.text("DROP INDEX ix_prediction_heads_queue"))
        conn.execute(sa.text("DROP TABLE prediction_heads"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    assert upgrade(engine) == head_revision()
    engine.dispose()
    w2 = Workspace.open(tmp_path / "w")
    with w2.session(readonly=True) as s:
        assert [r.asset_id for r in review_queue(s, limit=1000)[0]] == expected_queue
        assert {a: p.id for a, p in latest_predictions(s, list(expected_latest)).items()} == expected_latest
    w2.close()


def test_bulk_heads_in_one_shard_pick_the_newest_per_asset(ws: Workspace) -> None:
    """The batch writer adds a shard of predictions, then advances all heads at once."""
    from assetgrade.store.results import advance_heads

    with ws.session() as s:
        for a in ("b1", "b2"):
            add_asset(s, a)
        add_review(s, "b2", reviewer="r", expected_version=1, grade="A")
    with ws.session() as s:
        preds = []
        for i, (a, decision) in enumerate([("b1", "review"), ("b1", "accept"), ("b2", "review")]):
            p = Prediction(id=f"p{i}", asset_id=a, model_version="batch", grade="A", distribution={"A": 1.0},
                           conformal_set=["A"], decision=decision, expected_cost=1.0, payload={})
            s.add(p)
            preds.append(p)
        s.flush()
        s.execute(update(Prediction).where(Prediction.id == "p0").values(created_at=preds[1].created_at
                                                                          + timedelta(seconds=1)))
        s.expire(preds[0])
        assert advance_heads(s, preds) == {"p0", "p2"}  # p0 is newer than p1 for b1
    with ws.session(readonly=True) as s:
        assert {a: p.id for a, p in latest_predictions(s, ["b1", "b2"]).items()} == {"b1": "p0", "b2": "p2"}
        # b1's head says review and nobody reviewed since; b2 was reviewed before its prediction: queued too
        assert sorted(r.asset_id for r in review_queue(s)[0]) == ["b1", "b2"]
