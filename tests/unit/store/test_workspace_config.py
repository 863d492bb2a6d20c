"""Workspace layout, config validation with clear messages, store URL precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgrade.config import (
    CONFIG_NAME,
    WorkspaceConfig,
    config_value,
    load_config,
    parse_config,
    set_in_text,
    unset_in_text,
)
from assetgrade.errors import ConflictError, NotFoundError, ValidationError
from assetgrade.workspace import STORE_ENV, Workspace


def test_init_creates_layout_and_reopens(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w")
    for sub in ("blobs", "cache", "models", "reports"):
        assert (tmp_path / "w" / sub).is_dir()
    assert (tmp_path / "w" / CONFIG_NAME).is_file()
    assert (tmp_path / "w" / "assetgrade.db").is_file()
    ws.close()
    again = Workspace.open(tmp_path / "w")
    assert again.store_url.endswith("assetgrade.db")
    with pytest.raises(ConflictError, match="already"):
        Workspace.init(tmp_path / "w")


def test_open_missing_workspace_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="assetgrade init"):
        Workspace.open(tmp_path / "nothing")


def test_bad_config_names_key(tmp_path: Path) -> None:
    p = tmp_path / CONFIG_NAME
    p.write_text("ingest_group_size: -3\n")
    with pytest.raises(ValidationError) as exc:
        load_config(p)
    assert "ingest_group_size" in str(exc.value)
    p.write_text("policy:\n  coverage: 2\n")
    with pytest.raises(ValidationError, match=r"policy\.coverage"):
        load_config(p)
    p.write_text("a: [unclosed\n")
    with pytest.raises(ValidationError, match="YAML"):
        load_config(p)


def test_free_sections_are_kept(tmp_path: Path) -> None:
    p = tmp_path / CONFIG_NAME
    p.write_text("costs:\n  currency: EUR\naudit:\n  max_synthetic_share: 0.3\n")
    cfg = load_config(p)
    assert cfg.section("costs") == {"currency": "EUR"}
    assert cfg.section("audit")["max_synthetic_share"] == 0.3
    assert WorkspaceConfig().section("nothing") == {}


def test_store_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.init(tmp_path / "w").close()
    other = tmp_path / "other.db"
    monkeypatch.setenv(STORE_ENV, f"sqlite:///{other}")
    with pytest.raises(NotFoundError, match=r"no database at .*other\.db \(the store named by \$ASSETGRADE_STORE\)"):
        Workspace.open(tmp_path / "w", check_schema=False)  # never created empty on open
    assert not other.exists()
    import sqlite3

    sqlite3.connect(other).close()
    w = Workspace.open(tmp_path / "w", check_schema=False)
    assert w.store_url == f"sqlite:///{other}" and w.store_source == "$ASSETGRADE_STORE"
    w2 = Workspace.open(tmp_path / "w", store_url=f"sqlite:///{tmp_path / 'w' / 'assetgrade.db'}")
    assert w2.store_url.endswith("w/assetgrade.db")


def test_a_key_given_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    p = tmp_path / CONFIG_NAME
    p.write_text("grader:\n  folds: 3\npolicy:\n  coverage: 0.8\ngrader:\n  fuser: {model: logistic}\n")
    with pytest.raises(ValidationError, match=r"'grader' is given twice \(first on line 1\)") as exc:
        load_config(p)
    assert exc.value.where == f"{p}:line 5:column 1"
    p.write_text("policy: {coverage: 0.8, coverage: 0.7}\n")
    with pytest.raises(ValidationError, match="'coverage' is given twice"):
        load_config(p)
    # a mapping may override what it merges in: that is what merge keys are for
    p.write_text("base: &b {seed: 1, folds: 3}\ngrader:\n  <<: *b\n  seed: 2\n")
    assert load_config(p).section("grader") == {"seed": 2, "folds": 3}


def test_non_utf8_config_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / CONFIG_NAME
    p.write_bytes(b"store_url: caf\xe9\n")
    with pytest.raises(ValidationError, match="not UTF-8") as exc:
        load_config(p)
    assert exc.value.where == str(p)


def test_dotted_keys_get_set_and_unset() -> None:
    text = set_in_text("", "grader.extractor_settings.vision.coreset_size", 300)
    cfg = parse_config(text, "t")
    assert config_value(cfg, "grader.extractor_settings") == {"vision": {"coreset_size": 300}}
    text = set_in_text(text, "policy.coverage", 0.8)
    assert parse_config(text, "t").policy.coverage == 0.8
    unset = unset_in_text(text, "policy.coverage")
    assert unset is not None and parse_config(unset, "t").policy.coverage == 0.9  # back to the default
    unset = unset_in_text(text, "grader")
    assert unset is not None and parse_config(unset, "t").section("grader") == {}
    with pytest.raises(NotFoundError, match=r"grader\.fuser is not set"):
        config_value(parse_config(text, "t"), "grader.fuser.model")
    assert unset_in_text(text, "audit") is None  # not in the text: nothing to remove
    with pytest.raises(ValidationError, match="not a mapping"):
        set_in_text(text, "policy.coverage.low", 1)
    with pytest.raises(ValidationError, match="dotted key"):
        set_in_text(text, "policy..coverage", 1)
    with pytest.raises(ValidationError, match=r"t:line 7:column 1:ingest_group_size"):
        parse_config(set_in_text(text, "ingest_group_size", 0), "t")


def test_a_relative_sqlite_store_keeps_its_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORE_ENV, raising=False)
    with Workspace.init(tmp_path / "w", store_url="sqlite:///data.db?timeout=30") as w:
        assert w.store_url == f"sqlite:///{(tmp_path / 'w' / 'data.db').resolve()}?timeout=30"
    assert (tmp_path / "w" / "data.db").exists()


def test_a_file_given_as_the_workspace_is_named_as_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(NotFoundError, match="is a file, not a workspace folder"):
        Workspace.open(tmp_path / "notes.txt")


@pytest.mark.parametrize("folder", ["plant?3", "line#2", "100%20 done", "ops@site:b", "Prüfstand 7"])
def test_a_workspace_folder_a_url_would_misread_keeps_its_database_inside(tmp_path: Path, folder: str) -> None:
    # the default store URL was "sqlite:///" + path: a '?' cut the path (the database went to a file named after
    # the parent folder's prefix) and '%20' was decoded to a space (no such folder: the store could not be opened)
    from assetgrade.store.repository import add_asset, list_assets
    from assetgrade.store.writelock import sqlite_lock_path

    path = tmp_path / folder / "ws"
    Workspace.init(path).close()
    with Workspace.open(path) as ws:
        with ws.session() as s:
            add_asset(s, "pump-1")
        with ws.session(readonly=True) as s:
            assert [a.id for a in list_assets(s)] == ["pump-1"]
        assert sqlite_lock_path(ws.store_url) == path / "assetgrade.db.writer-lock"
    assert (path / "assetgrade.db").is_file() and (path / "assetgrade.db.writer-lock").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]  # nothing written beside it
