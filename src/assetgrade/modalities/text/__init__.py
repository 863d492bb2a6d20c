"""Maintenance-log evidence: normalisation, entities, negation, ontology linking, asset summaries, extractor."""

from assetgrade.modalities.text.entities import EntityTagger, span_f1
from assetgrade.modalities.text.extractor import TextExtractor
from assetgrade.modalities.text.linking import Link, OntologyLinker, format_unlinked_report
from assetgrade.modalities.text.negation import NegationDetector
from assetgrade.modalities.text.normalize import NormalizedText, Normalizer, normalization_scores
from assetgrade.modalities.text.summary import AssetSummary, LogSummarizer

__all__ = [
    "AssetSummary",
    "EntityTagger",
    "Link",
    "LogSummarizer",
    "NegationDetector",
    "NormalizedText",
    "Normalizer",
    "OntologyLinker",
    "TextExtractor",
    "format_unlinked_report",
    "normalization_scores",
    "span_f1",
]
