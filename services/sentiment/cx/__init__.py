"""Customer-experience (CX) annotation on top of exact VADER.

Public API::

    from services.sentiment.cx import CxAnnotator

    annotator = CxAnnotator()
    annotation = annotator.annotate("on hold for 2 hours, thanks for nothing")
    annotation.compound, annotation.label, annotation.emotions, annotation.aspects
    annotator.annotate_conversation([("customer", "..."), ("agent", "..."), ...])

See ``docs/sentiment.md`` for how it works and how to extend the lexicon.
"""

from services.sentiment.cx.annotator import DEFAULT_CUSTOMER_AUTHORS, CxAnnotator
from services.sentiment.cx.loader import ASPECTS, EMOTIONS, Lexicon, LexiconError, load_lexicon
from services.sentiment.cx.results import (
    Adjustment,
    AspectSentiment,
    ConversationAnnotation,
    Label,
    MessageAnnotation,
    SentenceAnnotation,
    TextAnnotation,
    TrendLabel,
    VaderScores,
    label_for,
)

__all__ = [
    "ASPECTS",
    "DEFAULT_CUSTOMER_AUTHORS",
    "EMOTIONS",
    "Adjustment",
    "AspectSentiment",
    "ConversationAnnotation",
    "CxAnnotator",
    "Label",
    "Lexicon",
    "LexiconError",
    "MessageAnnotation",
    "SentenceAnnotation",
    "TextAnnotation",
    "TrendLabel",
    "VaderScores",
    "label_for",
    "load_lexicon",
]
