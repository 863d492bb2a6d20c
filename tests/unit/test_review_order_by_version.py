"""Reviews are ordered by the asset version each produced, not by the writing server's clock, everywhere.

docs/review.md, "From reviews to training labels": with servers on several hosts whose clocks disagree, a
review's ``created_at`` says nothing about which came last. The list of an asset's reviews (REST, the UI's
"newest review"), the retry check of ``POST /assets/{id}/reviews``, a golden set's frozen grade and retrain's
count of reviewed assets follow the store's precedence (``assetgrade.store.precedence``). SQLite and PostgreSQL
(the test session's own schema, tests/conftest.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.models import FixedModel

import assetgrade.store.results as results_module
from assetgrade.errors import ConflictError, ValidationError
from assetgrade.lifecycle.bundles import register_bundle_loader
from assetgrade.lifecycle.golden import (
    content_hash,
    freeze_golden_set,
    get_golden_set,
    golden_records,
    verify_golden_set,
)
from assetgrade.lifecycle.retrain import retrain
from assetgrade.rest.auth import Principal
from assetgrade.rest.schema_review import ReviewIn
from assetgrade.rest.writes import submit_review
from assetgrade.store import add_asset, add_evidence, add_label, add_review, list_reviews, load_records
from assetgrade.store.audit import append_event
from assetgrade.store.lifecycle_schema import GoldenSetRow
from assetgrade.store.records import AssetRecord
from assetgrade.store.repository import get_asset
from assetgrade.store.schema import Label, Review, utcnow
from assetgrade.workspace import Workspace

register_bundle_loader("review-order", lambda _p: FixedModel())


@pytest.fixture
def ws(store_ws: Workspace) -> Workspace:
    return store_ws


def _version(ws: Workspace, asset_id: str) -> int:
    with ws.session(readonly=True) as s:
        return int(get_asset(s, asset_id).version)


def _review_on_clock(ws: Workspace, monkeypatch: pytest.MonkeyPatch, skew: timedelta, asset_id: str,
                     reviewer: str, grade: str | None) -> str:
    """A review written by a server whose clock is ``skew`` off; its id."""
    with monkeypatch.context() as m:
        m.setattr(results_module, "utcnow", lambda: utcnow() + skew)
        with ws.session() as s:
            return add_review(s, asset_id, reviewer=reviewer, expected_version=_version(ws, asset_id),
                              grade=grade).id


def _real_asset(ws: Workspace, asset_id: str, grade: str = "A") -> None:
    """An expert-labelled asset with one real log (eligible for a golden set) and an expert's imported grade."""
    with ws.session() as s:
        add_asset(s, asset_id, asset_type="pump")
        add_evidence(s, asset_id=asset_id, kind="log", sha256="0" * 64, text=f"inspection of {asset_id}",
                     evidence_id=f"{asset_id}/log")
        add_label(s, asset_id=asset_id, kind="grade", value=grade, annotator="inspector-1")


def test_list_reviews_is_newest_version_first_whatever_the_clocks(ws: Workspace,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with ws.session() as s:
        add_asset(s, "a1", asset_type="pump")
    _review_on_clock(ws, monkeypatch, timedelta(0), "a1", "ana", "B")  # version 2
    _review_on_clock(ws, monkeypatch, timedelta(seconds=-2), "a1", "ben", "C")  # version 3, clock 2 s behind
    _review_on_clock(ws, monkeypatch, timedelta(seconds=-5), "a1", "cat", None)  # version 4: a note, further behind
    with ws.session(readonly=True) as s:
        assert [r.reviewer for r in list_reviews(s, "a1")] == ["cat", "ben", "ana"]
        assert [r.reviewer for r in list_reviews(s, "a1", limit=2)] == ["cat", "ben"]  # the UI's newest 50


def test_a_retried_review_is_recognised_whatever_the_clocks(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    with ws.session() as s:
        add_asset(s, "r1", asset_type="pump")
    ana = Principal("ana", "reviewer")
    onto = ws.ontology()
    with monkeypatch.context() as m:  # ana's first review, on a server whose clock is 1 h ahead
        m.setattr(results_module, "utcnow", lambda: utcnow() + timedelta(hours=1))
        submit_review(ws, onto, ana, "r1", ReviewIn(expected_version=1, grade="B"))
    second = ReviewIn(expected_version=2, grade="C", note="corrected")
    first = submit_review(ws, onto, ana, "r1", second)  # her correction, on a server with the right time
    assert first.version == 3 and not first.replayed
    again = submit_review(ws, onto, ana, "r1", second)  # the response was lost: the client sends it again
    assert again.replayed and again.review.id == first.review.id and again.version == 3
    with pytest.raises(ConflictError, match="version 3"):  # a different review against version 2 is stale
        submit_review(ws, onto, ana, "r1", ReviewIn(expected_version=2, grade="D"))
    with pytest.raises(ConflictError, match="version 3"):  # so is her first review sent again
        submit_review(ws, onto, ana, "r1", ReviewIn(expected_version=1, grade="B"))
    with ws.session(readonly=True) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Review)).scalar_one() == 2


def test_a_golden_set_freezes_the_grade_training_uses(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _real_asset(ws, "g1")
    _review_on_clock(ws, monkeypatch, timedelta(0), "g1", "ana", "B")  # version 2
    corr = _review_on_clock(ws, monkeypatch, timedelta(seconds=-2), "g1", "ben", "C")  # version 3, clock behind
    assert [r.grade for r in load_records(ws, ["g1"])] == ["C"]
    with ws.session() as s:
        gs = freeze_golden_set(s, ["g1"], name="g")
    assert gs.labels == {"g1": "C"} and gs.items[0]["label_id"] == f"lb_{corr}"
    assert gs.items[0]["grade_rule"] == "precedence/2"
    with ws.session(readonly=True) as s:
        assert verify_golden_set(s, get_golden_set(s, "g")).ok
    # a later correction written on a host whose clock is even further behind: the grade moved, the set says so
    _review_on_clock(ws, monkeypatch, timedelta(seconds=-9), "g1", "cat", "D")
    with ws.session(readonly=True) as s:
        check = verify_golden_set(s, get_golden_set(s, "g"))
    assert not check.ok and check.problems[0][0] == "g1" and "'C' -> 'D'" in check.problems[0][1]


def _freeze_as_before(ws: Workspace, name: str, items: Sequence[dict[str, object]]) -> None:
    """Store a golden set the way freeze_golden_set did before it followed the store's precedence."""
    with ws.session() as s:
        h = content_hash(items, None)
        s.add(GoldenSetRow(name=name, created_by="lead", n_items=len(items), content_hash=h, ontology_version=None,
                           items=list(items), notes=None))
        s.flush()
        append_event(s, actor="lead", action="golden.freeze", entity="golden_set", entity_id=name,
                     payload={"content_hash": h, "n_items": len(items), "ontology_version": None})


def test_a_set_frozen_before_still_verifies(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _real_asset(ws, "o1")
    first = _review_on_clock(ws, monkeypatch, timedelta(0), "o1", "ana", "B")  # version 2
    _review_on_clock(ws, monkeypatch, timedelta(seconds=-2), "o1", "ben", "C")  # version 3, clock behind
    _real_asset(ws, "o2", grade="C")
    # the old rule (reviews first, then by time) froze ana's B for o1
    old = [{"asset_id": "o1", "asset_type": "pump", "label": "B", "label_id": f"lb_{first}", "annotator": "ana",
            "label_source": "review", "defects": [], "evidence": [["o1/log", "log", _sha("inspection of o1")]]},
           {"asset_id": "o2", "asset_type": "pump", "label": "C", "label_id": "", "annotator": "inspector-1",
            "label_source": "import", "defects": [], "evidence": [["o2/log", "log", _sha("inspection of o2")]]}]
    with ws.session(readonly=True) as s:
        old[1]["label_id"] = s.execute(sa.select(Label.id).where(Label.asset_id == "o2")).scalar_one()
    _freeze_as_before(ws, "old", old)
    with ws.session(readonly=True) as s:
        check = verify_golden_set(s, get_golden_set(s, "old"), blobs=ws.blobs)
    assert check.ok, check.message()
    _, records = golden_records(ws, "old")
    assert [r.grade for r in records] == ["B", "C"]  # the frozen grades, as frozen
    with ws.session() as s:  # a new review on the right clock still shows up as a change
        add_review(s, "o2", reviewer="dan", expected_version=_version(ws, "o2"), grade="D")
    with ws.session(readonly=True) as s:
        check = verify_golden_set(s, get_golden_set(s, "old"))
    assert [a for a, _ in check.problems] == ["o2"]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_retrain_counts_only_human_reviews(ws: Workspace) -> None:
    for aid in ("h1", "m1", "i1"):
        _real_asset(ws, aid)
    with ws.session() as s:
        add_review(s, "h1", reviewer="ana", expected_version=_version(ws, "h1"), grade="B")
    with ws.session() as s:  # a review posted with a machine's token name: a machine label (precedence.py)
        add_review(s, "m1", reviewer="Model", expected_version=_version(ws, "m1"), grade="D")
    seen: list[list[tuple[str, str | None]]] = []

    def fit(records: Sequence[AssetRecord]) -> FixedModel:
        seen.append([(r.asset_id, r.grade) for r in records])
        return FixedModel()

    res = retrain(ws, golden=None, fit=fit, loader="review-order", version="v1")
    assert seen == [[("h1", "B"), ("i1", "A"), ("m1", "A")]]  # m1 trains on the expert's import
    assert res.n_reviewed == 1
    with pytest.raises(Exception, match="1 assets with reviewed labels; at least 2"):
        retrain(ws, golden=None, fit=fit, loader="review-order", version="v2", min_reviewed=2)


def test_a_golden_asset_has_no_machine_grade_label(ws: Workspace) -> None:
    _real_asset(ws, "p1", grade="B")  # an expert's B, and an older machine label that training ignores
    with ws.session() as s:
        add_label(s, asset_id="p1", kind="grade", value="D", annotator="pseudo")
        s.flush()
        s.execute(sa.update(Label).where(Label.annotator == "pseudo").values(created_at=utcnow() - timedelta(days=9)))
    assert [r.grade for r in load_records(ws, ["p1"])] == ["B"]
    with ws.session() as s, pytest.raises(ValidationError, match=r"asset p1.*'pseudo', not an expert"):
        freeze_golden_set(s, ["p1"], name="p")
