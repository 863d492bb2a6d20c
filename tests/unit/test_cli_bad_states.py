"""Bad input and odd states outside ingest: a one-line error naming what is wrong, the right exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgrade.cli.app import build_app, exit_code_for
from assetgrade.errors import AssetgradeError

APP = build_app()


def run(*args: str) -> tuple[int, str, BaseException | None]:
    """Exit code, message and exception as ``assetgrade`` (cli.app.main) gives them for our error tree."""
    res = CliRunner().invoke(APP, list(args))
    exc = res.exception
    if isinstance(exc, AssetgradeError):
        return exit_code_for(exc), str(exc), exc
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}"
    return res.exit_code, " ".join(res.output.split()), exc


def test_golden_freeze_names_the_line_of_an_id_file_that_is_not_utf8(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"\xef\xbb\xbfpump-1\n\npump-\xc5\x02\n")
    code, msg, _ = run("golden", "freeze", "--from-file", str(ids), "-w", str(tmp_path / "nowhere"))
    assert code == 2 and f"{ids}:line 3" in msg and "not UTF-8" in msg


def test_golden_freeze_refuses_a_name_with_a_slash_and_a_negative_seed(tmp_path: Path) -> None:
    nowhere = str(tmp_path / "nowhere")  # both are checked before the workspace is opened
    for name in ("x/y", "x\\y", ".hidden", " padded"):
        code, msg, exc = run("golden", "freeze", "a1", "--name", name, "-w", nowhere)
        assert code == 2 and getattr(exc, "where", None) == "--name" and "no slash" in msg, (name, msg)
    code, msg, exc = run("golden", "freeze", "--split", "test", "--sample", "2", "--seed", "-5", "-w", nowhere)
    assert code == 2 and getattr(exc, "where", None) == "--seed" and "-5" in msg


def test_models_register_of_a_file_says_it_is_no_bundle_folder(tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    file.write_text("root:x:0:0\n", encoding="utf-8")
    code, msg, _ = run("models", "register", str(file), "-w", str(tmp_path / "nowhere"))
    assert code == 2 and f"{file} is a file, not a bundle folder" in msg


def test_models_register_refuses_a_loader_that_does_not_resolve(tmp_path: Path) -> None:
    from assetgrade.lifecycle.registry import ModelRegistry
    from assetgrade.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "model.pkl").write_bytes(b"x")
    for loader, why in (("nope", "unknown bundle loader"), ("no_such_module_xyz:load", "cannot import"),
                        ("os:no_such_attr", "cannot import"), (":load", "cannot import"),
                        (".relative:load", "cannot import"), ("os:sep", "not a function")):
        code, msg, exc = run("models", "register", str(bundle), "--loader", loader, "-w", str(tmp_path / "ws"))
        assert code == 2 and getattr(exc, "where", None) == "--loader" and why in msg, (loader, msg)
    with Workspace.open(tmp_path / "ws") as ws:
        assert ModelRegistry(ws).list() == []  # nothing registered that could never be loaded
        assert [p.name for p in ws.models_dir.iterdir()] == []


def test_init_on_a_file_or_below_one_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x", encoding="utf-8")
    code, msg, _ = run("init", str(file))
    assert code == 2 and f"{file} is a file, not a folder" in msg
    code, msg, _ = run("init", str(file / "ws"))
    assert code == 2 and f"cannot create the workspace folder {file / 'ws'}" in msg
    assert file.read_text(encoding="utf-8") == "x"


def test_init_with_an_unknown_blob_store_protocol_names_blob_root(tmp_path: Path) -> None:
    code, msg, exc = run("init", str(tmp_path / "ws"), "--blob-root", "nosuchproto://bucket")
    assert code == 2 and getattr(exc, "where", None) == "blob_root" and "nosuchproto" in msg
    assert not (tmp_path / "ws" / "assetgrade.yaml").exists()  # no workspace that cannot be opened
    (tmp_path / "blobs").write_text("x", encoding="utf-8")
    code, msg, _ = run("init", str(tmp_path / "ws2"), "--blob-root", str(tmp_path / "blobs"))
    assert code == 6 and f"cannot create the blob store folder {tmp_path / 'blobs'}" in msg


def test_serve_refuses_bad_option_values_before_it_starts(tmp_path: Path) -> None:
    nowhere = str(tmp_path / "nowhere")  # the options are checked before the workspace is opened
    for args, option in ((["--port", "70000"], "--port"), (["--port", "-1"], "--port"),
                         (["--max-json-mb", "nan"], "--max-json-mb"), (["--max-upload-mb", "0"], "--max-upload-mb")):
        code, msg, exc = run("serve", "-w", nowhere, *args)
        assert code == 2 and getattr(exc, "where", None) == option, (args, msg)
    code, msg, _ = run("serve", "-w", nowhere, "--log-level", "loud")  # a Click choice
    assert code == 2 and "Invalid value for '--log-level'" in msg and "'trace'" in msg


def test_serve_on_a_taken_port_is_one_error_naming_it_not_uvicorns_exit_3(tmp_path: Path) -> None:
    import socket

    assert run("init", str(tmp_path / "ws"))[0] == 0
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code, msg, _ = run("serve", "-w", str(tmp_path / "ws"), "--port", str(port))
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in msg


def test_train_and_evaluate_check_their_output_folders_before_the_work(tmp_path: Path) -> None:
    file = tmp_path / "taken"
    file.write_text("x", encoding="utf-8")
    nowhere = str(tmp_path / "nowhere")  # checked while parsing: no minutes of fitting before the save fails
    for args, option in ((["train", "--out", str(file)], "--out"), (["evaluate", "--plots", str(file)], "--plots")):
        code, msg, exc = run(*args, "-w", nowhere)
        assert code == 2 and getattr(exc, "where", None) == option and "is a file, not a folder" in msg, msg


def test_demo_refuses_bad_numbers_before_it_builds_anything(tmp_path: Path) -> None:
    from assetgrade.errors import ValidationError
    from assetgrade.grading.demo import run_demo

    for args, option in ((["--seed", "-1"], "--seed"), (["--folds", "1"], "--folds"),
                         (["--reports", "-1"], "--reports"), (["--n-assets", "2"], "--n-assets")):
        code, msg, exc = run("demo", "-w", str(tmp_path / "demo"), *args)
        assert code == 2 and getattr(exc, "where", None) == option, (args, msg)
    # the library call too: it wrote folds: 1 into assetgrade.yaml after ingest and the fleet model, then failed
    with pytest.raises(ValidationError, match=r"Grader\.folds"):
        run_demo(tmp_path / "lib", folds=1)
    assert not (tmp_path / "demo").exists() and not (tmp_path / "lib").exists()


def test_an_error_is_one_line_however_long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from assetgrade.cli.app import main

    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "workspace"  # the message is far wider than 80 columns
    monkeypatch.setattr("sys.argv", ["assetgrade", "stats", "-w", str(deep)])
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 3 and err.count("\n") == 1 and err.startswith("error: ") and str(deep) in err, err


def test_a_write_the_system_refuses_is_one_line_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    from assetgrade.cli.app import main
    from assetgrade.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    out = tmp_path / "requests.json"

    def full_disk(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))  # a disk that fills up after the checks

    monkeypatch.setattr(Path, "write_text", full_disk)
    argv = ["assetgrade", "review", "requests", "-w", str(tmp_path / "ws"), "--json", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == 1 and err == f"error: {out}: No space left on device\n", err
