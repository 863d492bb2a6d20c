"""The extractors' yes/no settings under ``grader: extractor_settings:`` take the words yes / no in the file.

Every yes/no setting of ``assetgrade.yaml`` takes true/false or the words yes/no (``config.YesNo``), the
``grader:`` section's own since 407a811; the extractors' (vision ``mil``, the sensors extractor's
``rul_settings: full_stats``) still refused ``mil: yes`` (``mil='yes'; allowed: True, False or 'auto'``), and
``full_stats: no`` went on as a non-empty string, which reads as true. Python callers stay strict.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any

import pytest

from assetgrade.config import load_config
from assetgrade.config_check import check_config
from assetgrade.errors import ValidationError
from assetgrade.grader import Grader
from assetgrade.grader_factory import check_grader_settings, grader_from_settings, workspace_grader
from assetgrade.modalities.base import get_extractor
from assetgrade.modalities.sensors.extractor import SensorExtractor
from assetgrade.modalities.sensors.health import RulModel
from assetgrade.modalities.text.extractor import TextExtractor
from assetgrade.modalities.vision.extractor import VisionExtractor


def _vision(value: Any) -> dict[str, Any]:
    return {"extractors": ["vision"], "extractor_settings": {"vision": {"mil": value, "coreset_size": 300}}}


def test_the_file_words_yes_and_no_are_true_and_false_for_an_extractors_setting() -> None:
    assert check_grader_settings(_vision("yes")) == []  # was: mil='yes'; allowed: True, False or 'auto'
    for word, flag in (("yes", True), ("No", False), (" YES ", True), ("auto", "auto"), (True, True)):
        g = grader_from_settings(_vision(word))
        assert g.extractor_settings["vision"] == {"mil": flag, "coreset_size": 300}, word
    sensors = {"extractors": ["sensors"], "extractor_settings": {"sensors": {"rul_settings": {"full_stats": "no"}}}}
    g = grader_from_settings(sensors)
    assert g.extractor_settings["sensors"]["rul_settings"] == {"full_stats": False}  # "no" was a true string
    assert check_grader_settings(sensors) == []


def test_what_yes_no_settings_refuse_stays_refused_and_named_where_the_file_writes_it() -> None:
    for value in ("on", "true", 1):
        assert check_grader_settings(_vision(value)) == [
            f"assetgrade.yaml:grader.extractor_settings.vision.mil: mil={value!r}; allowed: True, False or 'auto'"]
    # another key of the extractor that happens to read 'yes' is not a yes/no setting: left as written
    assert grader_from_settings({"extractor_settings": {"text": {"embedder": "no"}}}).extractor_settings == {
        "text": {"embedder": "no"}}


def test_python_callers_stay_strict() -> None:
    with pytest.raises(ValidationError, match="mil='yes'"):
        get_extractor("vision", mil="yes")
    # a CLI option or Python keyword given on top is the caller's, not the file's: passed on as given
    g = grader_from_settings({}, extractor_settings={"vision": {"mil": "yes"}})
    assert g.extractor_settings["vision"]["mil"] == "yes"
    assert Grader(extractor_settings={"vision": {"mil": "no"}}).extractor_settings["vision"]["mil"] == "no"


def test_mil_yes_in_a_workspace_file_passes_config_check(tmp_path: Path) -> None:
    cfg = tmp_path / "assetgrade.yaml"
    cfg.write_text("grader:\n  extractors: [vision]\n  extractor_settings:\n    vision:\n      mil: yes\n"
                   "      coreset_size: 300\n", encoding="utf-8")
    config = load_config(cfg)
    assert config.section("grader")["extractor_settings"]["vision"]["mil"] == "yes"  # YAML 1.2: a word, not a bool
    assert check_config(config, tmp_path) == []
    assert workspace_grader(config, tmp_path).extractor_settings["vision"]["mil"] is True  # what train builds


def _bool_keywords(cls: type) -> list[str]:
    """The keyword arguments of ``cls`` whose annotation admits a bool (``bool``, ``bool | Literal['auto']``)."""
    hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    out = []
    for name in inspect.signature(cls.__init__).parameters:  # type: ignore[misc]
        hint = hints.get(name)
        if hint is bool or bool in typing.get_args(hint):
            out.append(name)
    return out


@pytest.mark.parametrize(("name", "cls", "inside"), [("vision", VisionExtractor, ()), ("text", TextExtractor, ()),
                                                     ("sensors", SensorExtractor, ()),
                                                     ("sensors", RulModel, ("rul_settings",))])
def test_every_yes_no_setting_of_a_built_in_extractor_takes_the_words(name: str, cls: type,
                                                                       inside: tuple[str, ...]) -> None:
    """A yes/no keyword added to a built-in extractor (or its RUL model) later is read from the file's words too."""
    for key in _bool_keywords(cls):
        kw: dict[str, Any] = {key: "yes"}
        for part in reversed(inside):
            kw = {part: kw}
        got = grader_from_settings({"extractor_settings": {name: kw}}).extractor_settings[name]
        for part in inside:
            got = got[part]
        assert got == {key: True}, (name, key)
