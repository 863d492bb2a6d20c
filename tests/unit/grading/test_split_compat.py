"""Graders and fusers pickled before the modules were split still load, and model versions name no module path.

A saved grader is a pickle: it names each object's class by module path (``assetgrade.grader.Grader``,
``assetgrade.fusion.combine.Fuser``, ``assetgrade.fusion.combine._Constant``...). Moving a class must
leave its old path importable, or every saved model stops loading; and the model version (which
keys the evidence cache) must not hash a module path that a refactoring could change.
"""

from __future__ import annotations

import base64
import json
import pickle

import numpy as np

from assetgrade.fusion import Fuser
from assetgrade.grader import Grader
from assetgrade.grading.fitting import version_settings

OLD_PICKLE = base64.b64decode(
    "gASV9gIAAAAAAABdlCiMEWFzc2V0Z3JhZGUuZ3JhZGVylIwGR3JhZGVylJOUKYGUfZQojApleHRyYWN0b3JzlIwGdmlzaW9ulIwE"
    "dGV4dJSMB3NlbnNvcnOUh5SMCG9udG9sb2d5lE6MBWNvc3RzlE6MCGNvdmVyYWdllEc/7MzMzMzMzYwFZm9sZHOUSwOMBHNlZWSU"
    "SwGMCG1vbmRyaWFulIiMBWZ1c2VylIwZYXNzZXRncmFkZS5mdXNpb24uY29tYmluZZSMBUZ1c2VylJOUKYGUfZQojAhtb25vdG9u"
    "ZZSJjAVtb2RlbJSMCGxvZ2lzdGljlIwHb3JkaW5hbJSIjAdkcm9wb3V0lEc/0AAAAAAAAIwOZHJvcG91dF9jb3BpZXOUSwKMDHVz"
    "ZV9mZWF0dXJlc5SJjAFDlEc/8AAAAAAAAIwMbl9lc3RpbWF0b3JzlEvIaA9LAXVijBJleHRyYWN0b3Jfc2V0dGluZ3OUfZSMCW1h"
    "eF9lcnJvcpRHP5R64UeuFHuMBWRlbHRhlEc/uZmZmZmZmowXcmV2aWV3X29uX2NvbnRyYWRpY3Rpb26UiIwRcmV2aWV3X29uX3F1"
    "YWxpdHmUiIwObWluX2dyb3VwX3NpemWUSx6MDG1heF9zZXRfc2l6ZZRLAYwRbWF4X2V4cGVjdGVkX2Nvc3SUTowFY2FjaGWUTnVi"
    "aBQpgZR9lChoF4loGIwGbGF0ZW50lGgaiWgbRz/QAAAAAAAAaBxLAmgdiGgeRz/wAAAAAAAAaB9LyGgPSwJ1YmgSjAlfQ29uc3Rh"
    "bnSUk5QpgZR9lIwIY2xhc3Nlc1+UjBZudW1weS5fY29yZS5tdWx0aWFycmF5lIwMX3JlY29uc3RydWN0lJOUjAVudW1weZSMB25k"
    "YXJyYXmUk5RLAIWUQwFilIeUUpQoSwFLAYWUaDWMBWR0eXBllJOUjAJpOJSJiIeUUpQoSwOMATyUTk5OSv////9K/////0sAdJRi"
    "iUMIAQAAAAAAAACUdJRic2JlLg=="
)
"""``[Grader(folds=3, seed=1, fuser={"model": "logistic", "ordinal": True}), Fuser(model="latent", seed=2),
_Constant(1)]`` pickled (protocol 4) by commit 3ad460a, before grader.py and fusion/combine.py were split."""


def test_objects_pickled_before_the_split_load() -> None:
    assert b"assetgrade.grader" in OLD_PICKLE and b"assetgrade.fusion.combine" in OLD_PICKLE
    assert b"_Constant" in OLD_PICKLE
    grader, fuser, constant = pickle.loads(OLD_PICKLE)
    assert isinstance(grader, Grader) and (grader.folds, grader.seed) == (3, 1)
    assert isinstance(grader.fuser, Fuser) and grader.fuser.model == "logistic" and grader.fuser.ordinal is True
    assert grader.cache is not None  # __setstate__ ran: a fresh evidence cache
    assert isinstance(fuser, Fuser) and (fuser.model, fuser.seed) == ("latent", 2)
    assert constant.predict_proba(np.zeros((2, 3))).tolist() == [[1.0], [1.0]] and constant.classes_.tolist() == [1]


def test_the_pickled_classes_keep_their_paths() -> None:
    """New pickles name the same paths as old ones, so a model saved today also loads in the release before."""
    assert (Grader.__module__, Grader.__qualname__) == ("assetgrade.grader", "Grader")
    assert (Fuser.__module__, Fuser.__qualname__) == ("assetgrade.fusion.combine", "Fuser")


def test_the_model_version_hashes_no_module_path_but_the_extractors(grader: Grader) -> None:
    """Only the extractor classes' paths enter the version (``extractor_info_``): moving grader or fusion code
    between modules leaves model versions, and the evidence rows cached under them, valid."""
    settings = version_settings(grader)
    extractors = json.loads(json.dumps(settings["extractors"], default=str))
    classes = {m: info.pop("class") for m, info in extractors.items()}
    assert classes == {
        "vision": "assetgrade.modalities.vision.extractor.VisionExtractor",
        "text": "assetgrade.modalities.text.extractor.TextExtractor",
        "sensors": "assetgrade.modalities.sensors.extractor.SensorExtractor",
    }
    rest = json.dumps({**settings, "extractors": extractors}, sort_keys=True, default=str)
    assert "assetgrade." not in rest and " object at 0x" not in rest, rest
