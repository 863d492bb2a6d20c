"""CRF tagger: BIO round trip, nested spans, span-and-type F1, a tiny model that learns."""

from __future__ import annotations

import pickle

import pytest

from assetgrade.datasets.maintie import IEText, coarsen
from assetgrade.errors import ValidationError
from assetgrade.modalities.text.entities import EntityTagger, bio_decode, bio_encode, span_f1


def test_bio_round_trip() -> None:
    spans = [(0, 1, "Activity"), (1, 3, "PhysicalObject")]
    assert bio_decode(bio_encode(4, spans)) == spans


def test_nested_layers() -> None:
    spans = [(0, 3, "PhysicalObject"), (0, 2, "PhysicalObject")]
    assert bio_decode(bio_encode(3, spans, prefer="outer")) == [(0, 3, "PhysicalObject")]
    assert bio_decode(bio_encode(3, spans, prefer="inner")) == [(0, 2, "PhysicalObject")]


def test_span_f1_needs_type_and_span() -> None:
    gold = [[(0, 2, "State")]]
    assert span_f1(gold, [[(0, 2, "State")]])["f1_micro"] == pytest.approx(100.0)
    assert span_f1(gold, [[(0, 2, "Process")]])["f1_micro"] == 0.0
    assert span_f1(gold, [[(0, 1, "State")]])["f1_micro"] == 0.0


def test_coarsen_granularities() -> None:
    t = "PhysicalObject/SensingObject/TemperatureSensingObject"
    assert [coarsen(t, g) for g in (1, 5, 32)] == ["Entity", "PhysicalObject", "PhysicalObject/SensingObject"]
    with pytest.raises(ValidationError):
        coarsen(t, 7)


def test_tiny_tagger_learns_and_pickles() -> None:
    train = [
        IEText(("replace", "pump"), ((0, 1, "Activity"), (1, 2, "PhysicalObject"))),
        IEText(("pump", "leaking"), ((0, 1, "PhysicalObject"), (1, 2, "State"))),
        IEText(("replace", "hose"), ((0, 1, "Activity"), (1, 2, "PhysicalObject"))),
        IEText(("hose", "leaking"), ((0, 1, "PhysicalObject"), (1, 2, "State"))),
    ] * 5
    tagger = EntityTagger(max_iterations=50).fit(train)
    assert tagger.predict(["hose", "leaking"]) == [(0, 1, "PhysicalObject"), (1, 2, "State")]
    assert tagger.predict([]) == []
    again = pickle.loads(pickle.dumps(tagger))
    assert again.predict(["replace", "pump"]) == [(0, 1, "Activity"), (1, 2, "PhysicalObject")]


def test_bad_settings() -> None:
    with pytest.raises(ValidationError):
        EntityTagger().fit([])
    with pytest.raises(ValidationError, match="layers"):
        EntityTagger(layers=("middle",)).fit([IEText(("a",), ())])


def test_an_unfitted_tagger_is_named_not_an_attribute_error() -> None:
    from assetgrade.errors import ValidationError

    with pytest.raises(ValidationError, match="fit the tagger"):
        EntityTagger().predict(["replace", "pump"])


def test_lone_surrogates_in_tokens_or_types_do_not_break_the_crf() -> None:
    # json.loads accepts "\udcff" escapes; CRFsuite failed on them with a bare SystemError
    texts = [IEText(("replace", "p\udcffump"), ((0, 1, "Activity"), (1, 2, "Physical\udcffObject")))] * 5
    tagger = EntityTagger(max_iterations=20).fit(texts)
    assert tagger.predict(["replace", "p\udcffump"]) == [(0, 1, "Activity"), (1, 2, "Physical\ufffdObject")]
