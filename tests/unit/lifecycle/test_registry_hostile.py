"""The registry under hostile input and concurrency: bundle copies outside the write lock, staged registration,
truncated bundles, bad names and lineage, two promotions at once (PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.pg import PG_ENV, pg_url, start_behind

from assetgrade.errors import ConflictError, StoreError, ValidationError
from assetgrade.lifecycle import promotion, registration, registry, serving
from assetgrade.lifecycle.bundles import bundle_digest
from assetgrade.lifecycle.golden import freeze_golden_set
from assetgrade.lifecycle.registry import ModelRegistry
from assetgrade.store.audit import verify_chain
from assetgrade.workspace import Workspace

from .conftest import OwnIdModel, TableModel, golden_registry, seed_assets

GOOD = {"pump": "A", "valve": "C"}


@pytest.fixture
def reg(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    return golden_registry(ws, monkeypatch)


def test_promotion_and_rollback_copy_and_hash_bundles_outside_the_write_lock(
        reg: ModelRegistry, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ws._write_lock is not None
    lock = ws._write_lock
    under_lock: list[str] = []
    real_copy, real_digest = shutil.copytree, bundle_digest

    def copytree(src: Any, dst: Any, *a: Any, **k: Any) -> Any:
        if lock.held:
            under_lock.append(f"copy {src}")
        return real_copy(src, dst, *a, **k)

    def digest(path: Path) -> str:
        if lock.held:
            under_lock.append(f"hash {path}")
        return real_digest(path)

    monkeypatch.setattr(serving.shutil, "copytree", copytree)
    monkeypatch.setattr(serving, "bundle_digest", digest)
    monkeypatch.setattr(registration, "bundle_digest", digest)
    monkeypatch.setattr(registry, "bundle_digest", digest)
    v1 = reg.register(OwnIdModel("t-1", GOOD), version="v1")
    v2 = reg.register(OwnIdModel("t-2", GOOD), version="v2")
    reg.promote("v1")
    reg.promote("v2")
    assert bundle_digest(ws.grader_dir) == v2.bundle_sha256
    reg.rollback(reason="v2 is worse at site 2")
    assert bundle_digest(ws.grader_dir) == v1.bundle_sha256
    assert under_lock == []  # a large bundle never blocks every other writer of the store
    assert not [p.name for p in ws.models_dir.iterdir() if p.name.startswith(".")]


def test_a_refused_promotion_leaves_no_staged_copy(reg: ModelRegistry, ws: Workspace,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    reg.register(OwnIdModel("t-1", GOOD), version="v1")
    reg.register(OwnIdModel("t-2", GOOD), version="v2")
    reg.promote("v1")
    before = bundle_digest(ws.grader_dir)
    real = promotion.lock_chain

    def someone_else_promotes_first(s: Any) -> None:  # the champion changes between evaluation and the commit
        real(s)
        row = s.get(promotion.ModelVersion, "v1")
        row.status = "retired"

    monkeypatch.setattr(promotion, "lock_chain", someone_else_promotes_first)
    with pytest.raises(ConflictError, match="champion changed"):
        reg.promote("v2")
    assert bundle_digest(ws.grader_dir) == before
    assert not [p.name for p in ws.models_dir.iterdir() if p.name.startswith(".")]


def test_a_second_registration_of_the_same_name_cannot_delete_the_first(
        reg: ModelRegistry, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    TableModel(GOOD).save(first)
    TableModel({"pump": "B", "valve": "B"}).save(second)
    real_copy = shutil.copytree
    nested: list[str] = []

    def copytree(src: Any, dst: Any, *a: Any, **k: Any) -> Any:
        if Path(src) == second and not nested:  # while the second copies, the first registers in full
            nested.append(reg.register(first, version="v1", loader="table").bundle_sha256)
        return real_copy(src, dst, *a, **k)

    monkeypatch.setattr(registration.shutil, "copytree", copytree)
    with pytest.raises(ConflictError, match="already registered"):
        reg.register(second, version="v1", loader="table")
    assert reg.get("v1").bundle_sha256 == nested[0] == bundle_digest(first)
    assert reg.load("v1").by_type == GOOD  # its bundle is whole, not deleted by the refused one
    assert sorted(p.name for p in ws.models_dir.iterdir()) == ["v1"]


def test_a_failed_registration_leaves_no_folder(reg: ModelRegistry, ws: Workspace,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise StoreError("audit trail unavailable")

    monkeypatch.setattr(registration, "append_event", broken)
    with pytest.raises(StoreError, match="audit trail unavailable"):
        reg.register(TableModel(GOOD), version="v1", loader="table")
    assert list(ws.models_dir.iterdir()) == []
    monkeypatch.undo()
    assert reg.register(TableModel(GOOD), version="v1", loader="table").version == "v1"  # the name is free


def _grader_folder(path: Path, payload: bytes = b"pickled grader " * 100) -> Path:
    path.mkdir(parents=True)
    (path / "grader.pkl").write_bytes(payload)
    (path / "bundle.json").write_text(json.dumps({"format": 1, "model_version": "grader-0123",
                                                  "pickle_sha256": hashlib.sha256(payload).hexdigest()}))
    return path


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / "grader.pkl").write_bytes((p / "grader.pkl").read_bytes()[:40]), "grader.pkl.*truncated"),
    (lambda p: (p / "grader.pkl").unlink(), "grader.pkl.*missing"),
    (lambda p: (p / "bundle.json").write_text('{"format": 1, "pickle'), "bundle.json.*not JSON"),
    (lambda p: (p / "bundle.json").write_text("[1, 2]"), "bundle.json.*list"),
    (lambda p: (p / "bundle.json").write_text(json.dumps(
        {**json.loads((p / "bundle.json").read_text()), "format": 99})), "bundle.json.*format 99"),
])
def test_a_damaged_grader_bundle_is_refused_at_registration_naming_the_file(
        reg: ModelRegistry, ws: Workspace, tmp_path: Path, damage: Any, message: str) -> None:
    src = _grader_folder(tmp_path / "saved")
    assert reg.register(src, version="intact").loader == "grader"  # the undamaged folder registers
    damage(src)
    with pytest.raises(ValidationError, match=message) as err:
        reg.register(src, version="v1")
    assert str(src) in str(err.value)
    assert [m.version for m in reg.list()] == ["intact"]
    assert sorted(p.name for p in ws.models_dir.iterdir()) == ["intact"]


def test_a_file_is_refused_as_no_bundle_folder(reg: ModelRegistry, ws: Workspace, tmp_path: Path) -> None:
    file = tmp_path / "grader.pkl"
    file.write_bytes(b"not a folder")
    with pytest.raises(ValidationError, match="is a file, not a bundle folder"):  # was "not found" (exit 3)
        reg.register(file, version="v1")
    assert list(ws.models_dir.iterdir()) == []


@pytest.mark.parametrize("version", ["a\\b", "v1\n", " v1", "v\x00", "x" * 101, "..", ".hidden"])
def test_bad_version_names_are_refused(reg: ModelRegistry, ws: Workspace, version: str) -> None:
    with pytest.raises(ValidationError, match="bad model version name"):
        reg.register(TableModel(GOOD), version=version, loader="table")
    assert list(ws.models_dir.iterdir()) == []


@pytest.mark.parametrize("field, value", [("manifest_hash", ["not", "a", "hash"]), ("ontology_version", "o" * 65),
                                          ("metrics", [0.9])])
def test_bad_lineage_is_refused_naming_the_field(reg: ModelRegistry, ws: Workspace, field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        reg.register(TableModel(GOOD), version="v1", loader="table", **{field: value})
    assert err.value.where == field
    assert reg.list() == [] and list(ws.models_dir.iterdir()) == []


_PG = pg_url(default=None)  # only when ASSETGRADE_TEST_PG_URL is set


@pytest.mark.skipif(_PG is None, reason=f"no PostgreSQL server answers: set {PG_ENV}")
def test_two_promotions_at_once_on_postgresql_leave_one_champion(pg_ws: Workspace,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert _PG is not None
    ws = pg_ws
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids)
    reg = ModelRegistry(ws)
    for v in ("v1", "v2", "v3"):
        reg.register(TableModel(GOOD), version=v, loader="table")
    reg.promote("v1")
    reg.evaluate("v3")
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            outcome["v3"] = ModelRegistry(ws).promote("v3")
        except Exception as exc:  # the failure this test is about
            outcome["v3"] = exc

    real = promotion._registered_digests
    worker: list[threading.Thread] = []

    def in_first_transaction(s: Any) -> set[str]:
        if not worker:  # v2's transaction has written, not committed: v3's promotion starts now
            worker.append(start_behind(_PG, s, second)[0])
        return real(s)

    monkeypatch.setattr(promotion, "_registered_digests", in_first_transaction)
    reg.promote("v2")
    worker[0].join(60)
    assert isinstance(outcome["v3"], ConflictError), outcome
    assert [m.version for m in reg.list("champion")] == ["v2"]
    with ws.session(readonly=True) as s:
        assert verify_chain(s).ok


@pytest.mark.parametrize("text, why", [('{"model_version": "grader-1", "metr', "not JSON"), ('["v1"]', "JSON list")])
def test_models_register_names_a_damaged_bundle_json(ws: Workspace, tmp_path: Path, text: str, why: str) -> None:
    from typer.testing import CliRunner

    from assetgrade.cli.app import build_app, exit_code_for

    src = tmp_path / "saved"
    TableModel(GOOD).save(src)
    (src / "bundle.json").write_text(text)
    r = CliRunner().invoke(build_app(), ["models", "register", str(src), "--loader", "table", "-w", str(ws.path)])
    assert isinstance(r.exception, ValidationError), r.exception  # not a JSONDecodeError/AttributeError traceback
    assert exit_code_for(r.exception) == 2 and why in str(r.exception)
    assert str(src / "bundle.json") in str(r.exception)
    assert ModelRegistry(ws).list() == []


def _other_release_bundle(path: Path) -> Path:
    """A Grader bundle whose pickle holds a class of a module this release does not have, with a valid bundle.json."""
    import pickle
    import sys
    import types

    mod = types.ModuleType("assetgrade_release_0_0_1_grader")

    class OldGrader:
        pass

    OldGrader.__module__ = mod.__name__
    OldGrader.__qualname__ = "OldGrader"
    mod.OldGrader = OldGrader  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod
    try:
        data = pickle.dumps(OldGrader())
    finally:
        del sys.modules[mod.__name__]
    path.mkdir(parents=True)
    (path / "grader.pkl").write_bytes(data)
    (path / "bundle.json").write_text(json.dumps({
        "format": 1, "model_version": "grader-0ld", "code_version": "0.0.1+gdeadbeef0000", "manifest_hash": "e" * 64,
        "ontology_version": "0ld0nt0l0gy", "pickle_sha256": hashlib.sha256(data).hexdigest()}))
    return path


def test_a_bundle_of_another_release_keeps_its_lineage_and_fails_to_load_by_name(ws: Workspace,
                                                                                  tmp_path: Path) -> None:
    src = _other_release_bundle(tmp_path / "old")
    info = ModelRegistry(ws).register(src, version="v-old")  # the real Grader loader
    # lineage is the bundle's own, not this checkout's code version
    assert (info.code_version, info.manifest_hash, info.ontology_version, info.model_version) == (
        "0.0.1+gdeadbeef0000", "e" * 64, "0ld0nt0l0gy", "grader-0ld")
    with pytest.raises(ValidationError) as err:
        ModelRegistry(ws).load("v-old")
    message = str(err.value)
    assert str(ws.models_dir / "v-old") in message and "0.0.1+gdeadbeef0000" in message
    assert "ModuleNotFoundError" in message and "assetgrade_release_0_0_1_grader" in message


@pytest.mark.skipif(_PG is None, reason=f"no PostgreSQL server answers: set {PG_ENV}")
def test_two_freezes_of_one_golden_name_at_once_on_postgresql(pg_ws: Workspace) -> None:
    assert _PG is not None
    ws = pg_ws
    ids = seed_assets(ws, 8)
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            with ws.session() as s:
                outcome["second"] = freeze_golden_set(s, ids[4:], name="default")
        except Exception as exc:  # the failure this test is about
            outcome["second"] = exc

    with ws.session() as s:  # the first freeze: written, not yet committed
        freeze_golden_set(s, ids[:4], name="default")
        worker, _ = start_behind(_PG, s, second)
    worker.join(60)
    assert isinstance(outcome["second"], ConflictError), outcome  # not an IntegrityError traceback
    from assetgrade.lifecycle.golden import get_golden_set

    with ws.session(readonly=True) as s:
        assert get_golden_set(s, "default").asset_ids == tuple(ids[:4])


@pytest.mark.parametrize("version, error, message", [("v1", ConflictError, "already registered"),
                                                     ("grader", ValidationError, "reserved"),
                                                     ("a/b", ValidationError, "bad model version name")])
def test_retrain_refuses_a_taken_or_bad_name_before_training(ws: Workspace, version: str, error: type[Exception],
                                                             message: str) -> None:
    from assetgrade.lifecycle.retrain import retrain

    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12])
    ModelRegistry(ws).register(TableModel(GOOD), version="v1", loader="table")
    fitted: list[int] = []

    def fit(records: Any) -> TableModel:
        fitted.append(len(records))
        return TableModel(GOOD)

    with pytest.raises(error, match=message):
        retrain(ws, fit=fit, loader="table", version=version)
    assert fitted == []  # refused up front, not after the training
    assert retrain(ws, fit=fit, loader="table", version="v2").n_train == 12 and fitted == [12]


def _exchange_works(tmp: Path) -> bool:
    a, b = tmp / "xa", tmp / "xb"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    ok = serving.exchange_folders(a, b) and (b / "f").read_text() == "a"
    shutil.rmtree(a)
    shutil.rmtree(b)
    return ok


def test_models_grader_never_goes_missing_during_a_swap_or_its_undo(
        reg: ModelRegistry, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _exchange_works(tmp_path):
        pytest.skip("this file system or kernel has no renameat2(RENAME_EXCHANGE); two renames are used instead")
    v1 = reg.register(OwnIdModel("t-1", GOOD), version="v1")
    v2 = reg.register(OwnIdModel("t-2", GOOD), version="v2")
    reg.promote("v1")
    seen: list[bool] = []
    real_rename = Path.rename

    def rename(self: Path, target: Any) -> Any:
        out = real_rename(self, target)
        seen.append((ws.grader_dir / "table.json").is_file())  # what a grading request would find now
        return out

    monkeypatch.setattr(Path, "rename", rename)
    reg.promote("v2")
    assert bundle_digest(ws.grader_dir) == v2.bundle_sha256
    reg.rollback(reason="back to v1")
    assert bundle_digest(ws.grader_dir) == v1.bundle_sha256

    def broken(*_a: object, **_k: object) -> None:
        raise StoreError("audit trail unavailable")

    monkeypatch.setattr(promotion, "append_event", broken)
    with pytest.raises(StoreError):
        reg.promote("v2", force=True, reason="retry")  # swapped in, then undone
    assert bundle_digest(ws.grader_dir) == v1.bundle_sha256
    assert seen and all(seen), seen
    assert not [p.name for p in ws.models_dir.iterdir() if p.name.startswith(".")]


def test_without_an_atomic_exchange_two_renames_still_install_and_undo(
        reg: ModelRegistry, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving, "exchange_folders", lambda _a, _b: False)  # another OS or file system
    v1 = reg.register(OwnIdModel("t-1", GOOD), version="v1")
    v2 = reg.register(OwnIdModel("t-2", GOOD), version="v2")
    reg.promote("v1")
    reg.promote("v2")
    assert bundle_digest(ws.grader_dir) == v2.bundle_sha256
    real, down = promotion.append_event, [True]

    def append_event(*a: Any, **k: Any) -> Any:
        if down:
            raise StoreError("down")
        return real(*a, **k)

    monkeypatch.setattr(promotion, "append_event", append_event)
    with pytest.raises(StoreError, match="down"):
        reg.rollback()
    assert bundle_digest(ws.grader_dir) == v2.bundle_sha256 and reg.champion().version == "v2"  # type: ignore[union-attr]
    down.clear()
    reg.rollback()
    assert bundle_digest(ws.grader_dir) == v1.bundle_sha256
    assert sorted(p.name for p in ws.models_dir.iterdir()) == ["grader", "v1", "v2"]


def test_champion_is_no_version_name(reg: ModelRegistry) -> None:
    with pytest.raises(ValidationError, match="'models show champion' shows the current champion"):
        reg.register(TableModel(GOOD), version="champion", loader="table")


@pytest.mark.skipif(_PG is None, reason=f"no PostgreSQL server answers: set {PG_ENV}")
def test_two_evaluations_of_one_version_at_once_on_postgresql_keep_both(
        pg_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _PG is not None
    ws = pg_ws
    ids = seed_assets(ws, 24)
    with ws.session() as s:
        freeze_golden_set(s, ids[:12], name="g1")
        freeze_golden_set(s, ids[12:], name="g2")
    reg = ModelRegistry(ws)
    reg.register(TableModel(GOOD), version="v1", loader="table")
    outcome: dict[str, object] = {}
    worker: list[threading.Thread] = []

    def second() -> None:
        try:
            outcome["g2"] = ModelRegistry(ws).evaluate("v1", "g2")
        except Exception as exc:  # the failure this test is about
            outcome["g2"] = exc

    real_session = ws.session
    first_session: list[Any] = []

    class Watch:
        """Inside the first evaluation's write session (row read, not yet committed), start the second."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __enter__(self) -> Any:
            s = self.inner.__enter__()
            first_session.append(s)
            return s

        def __exit__(self, *exc: Any) -> Any:
            s = first_session[-1]
            if not worker and exc[0] is None and s.in_transaction():
                worker.append(start_behind(_PG, s, second)[0])
            return self.inner.__exit__(*exc)

    def session(*a: Any, readonly: bool = False, **k: Any) -> Any:
        inner = real_session(*a, readonly=readonly, **k)
        return inner if readonly or worker else Watch(inner)

    monkeypatch.setattr(ws, "session", session)
    reg.evaluate("v1", "g1")
    worker[0].join(60)
    monkeypatch.undo()
    assert not isinstance(outcome["g2"], Exception), outcome
    assert sorted(reg.get("v1").golden or {}) == ["g1", "g2"]  # neither evaluation lost the other's


class _ScaledModel(TableModel):
    """The table model with a ``bundle.json`` naming the grade scale it was trained on, as a Grader bundle does."""

    def __init__(self, grades: list[str]) -> None:
        super().__init__(GOOD)
        self.grades = grades

    def save(self, path: Path) -> None:
        super().save(path)
        (path / "bundle.json").write_text(json.dumps({"grades": self.grades}))


def test_a_model_on_another_grade_scale_is_never_made_the_champion(reg: ModelRegistry, ws: Workspace,
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # a champion trained on grades the ontology no longer has would have every grade refused
    # (Grader.check_scale); promoting it, even forced, used to install it all the same
    from sqlalchemy import select

    from assetgrade.ontology import load_ontology, loader
    from assetgrade.store.schema import AuditEvent

    reg.register(_ScaledModel(["A", "B", "C", "D"]), version="v1", loader="table")
    reg.promote("v1")
    reg.register(_ScaledModel(["A", "B", "C", "D", "E"]), version="v2", loader="table")
    for force in (False, True):
        with pytest.raises(ValidationError, match=r"cannot promote model version 'v2': it grades on \['A', 'B', 'C', "
                                                  r"'D', 'E'\] but the workspace's ontology now has \['A', 'B', 'C', "
                                                  r"'D'\]"):
            reg.promote("v2", force=force, reason="urgent")
    assert reg.champion().version == "v1"  # type: ignore[union-attr]
    with ws.session(readonly=True) as s:
        refused = [e.payload for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "model.promotion_refused"))]
    assert refused[-1]["model_grades"] == ["A", "B", "C", "D", "E"] and refused[-1]["action"] == "promote"
    # the ontology gains grade E: v2 may now be promoted, and a rollback to v1 (four grades) is refused
    text = (Path(loader.__file__).with_name("default.yaml")).read_text(encoding="utf-8")
    extra = "  - id: E\n    name: Scrap\n    description: Only the metal is worth anything.\n"
    (tmp_path / "five.yaml").write_text(text.replace("  - id: D\n", extra + "  - id: D\n", 1), encoding="utf-8")
    five = load_ontology(tmp_path / "five.yaml")
    assert "E" in five.grades.names
    monkeypatch.setattr(ws, "ontology", lambda: five)
    order = list(five.grades.names)
    reg.register(_ScaledModel(order), version="v3", loader="table")
    reg.promote("v3")
    assert reg.champion().version == "v3"  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="cannot roll back to model version 'v1'"):
        reg.rollback()
    assert reg.champion().version == "v3"  # type: ignore[union-attr]


def test_a_champion_whose_bundle_was_damaged_can_be_replaced_only_on_purpose(reg: ModelRegistry,
                                                                             ws: Workspace) -> None:
    # a champion whose bundle changed on disk cannot be evaluated; that used to block every promotion
    # with its StoreError, forced or not, leaving the damaged model in place
    from sqlalchemy import select

    from assetgrade.store.schema import AuditEvent

    v1 = reg.register(OwnIdModel("t-1", GOOD), version="v1")
    reg.promote("v1")
    (v1.bundle_dir / "table.json").write_text(json.dumps({"by_type": {}, "overrides": {}, "conf": 0.9}))
    v2 = reg.register(OwnIdModel("t-2", GOOD), version="v2")
    with pytest.raises(ConflictError, match=r"champion 'v1' cannot be evaluated on golden set 'default' \(model "
                                            r"bundle .* changed since it was registered.*--force with --reason"):
        reg.promote("v2")
    assert reg.champion().version == "v1"  # type: ignore[union-attr]
    done = reg.promote("v2", force=True, reason="v1's bundle was overwritten on disk")
    assert done.forced and reg.champion().version == "v2"  # type: ignore[union-attr]
    assert bundle_digest(ws.grader_dir) == v2.bundle_sha256
    with ws.session(readonly=True) as s:
        events = {e.action: e.payload for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action.in_(["model.promote", "model.promotion_refused"])).order_by(AuditEvent.seq))}
    assert "changed since it was registered" in events["model.promotion_refused"]["champion_unusable"]
    assert events["model.promote"]["forced"] and "changed" in events["model.promote"]["champion_unusable"]
