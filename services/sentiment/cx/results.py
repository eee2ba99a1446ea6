"""Immutable results of :class:`services.sentiment.cx.CxAnnotator`.

All scores are plain floats rounded to 4 decimals (emotion intensities to 3),
so results compare exactly across runs and serialise without surprises.
``emotions`` and ``aspects`` are ordinary dicts for easy serialisation; treat
them as read-only (the dataclasses are frozen, their dicts are not copied).

The annotator builds these objects with :func:`_build`, which fills the
instance ``__dict__`` in one go instead of calling the generated ``__init__``
(a frozen dataclass's ``__init__`` calls ``object.__setattr__`` once per
field, which is a measurable share of the annotator's per-text cost). The
result is indistinguishable from ``Cls(**fields)``: same attributes, equality,
hash and repr; the tests check this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeVar

__all__ = [
    "Adjustment",
    "AspectSentiment",
    "ConversationAnnotation",
    "Label",
    "MessageAnnotation",
    "SentenceAnnotation",
    "TextAnnotation",
    "TrendLabel",
    "VaderScores",
    "label_for",
]

Label = Literal["negative", "neutral", "positive"]
TrendLabel = Literal["improved", "worsened", "unchanged"]

POSITIVE_THRESHOLD = 0.05
"""VADER's standard thresholds: compound >= 0.05 is positive, <= -0.05 negative."""


_T = TypeVar("_T")
_new = object.__new__


def _build(cls: type[_T], **values: Any) -> _T:
    """``cls(**values)`` without the per-field ``object.__setattr__`` calls (see module doc)."""
    obj = _new(cls)
    obj.__dict__.update(values)
    return obj


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The dataclass field names of ``cls`` (used by the tests of :func:`_build`)."""
    return tuple(f.name for f in fields(cls))


def label_for(compound: float) -> Label:
    """Three-class label of a compound score with VADER's standard ±0.05 thresholds."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= -POSITIVE_THRESHOLD:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class VaderScores:
    """VADER's ``polarity_scores`` as a typed value (identical numbers)."""

    compound: float
    pos: float
    neu: float
    neg: float

    @classmethod
    def from_dict(cls, scores: Mapping[str, float]) -> VaderScores:
        obj = _new(cls)
        obj.__dict__.update(scores)
        return obj


@dataclass(frozen=True)
class Adjustment:
    """One CX rule that fired, for explanations.

    ``contribution`` is in VADER valence units (the scale of lexicon words,
    roughly -4..4) and is what the rule added to the text's raw VADER sum;
    the adjusted compound is VADER's normalisation of (raw sum + all
    contributions). A rule can fire with contribution 0 (e.g. a complaint
    phrase in a sentence VADER already scores more negative than the phrase).
    """

    rule: str
    """Rule family: complaint, negated_problem, evaluation, neutral_term, politeness,
    sarcasm or request."""
    pattern: str
    """The lexicon entry's pattern (entries are identified by family + pattern)."""
    source: str
    """Lexicon file the entry comes from."""
    matched: str
    """The normalised tokens the pattern matched."""
    sentence: int
    """Index into :attr:`TextAnnotation.sentences`."""
    contribution: float


@dataclass(frozen=True)
class SentenceAnnotation:
    """One sentence: exact VADER scores and the CX-adjusted compound."""

    text: str
    """The sentence of the normalised text (emoji kept)."""
    vader: VaderScores
    """VADER's scoring formula on this sentence's tokens as VADER valued them in the
    whole normalised text (so sentence scores decompose the text's). Equal to
    VADER on the sentence alone unless one of VADER's rules crosses the sentence
    boundary: the text's first "but", a negation/booster in the last three words
    of the previous sentence, ALL-CAPS emphasis."""
    compound: float
    """CX-adjusted compound of the sentence (same adjustments, same formula)."""
    label: Label


@dataclass(frozen=True)
class AspectSentiment:
    """Sentiment of the clauses that mention one relationship-driver aspect."""

    sentiment: float
    """Mean CX-adjusted compound of the mentioning clauses, in [-1, 1]."""
    mentions: int
    label: Label


@dataclass(frozen=True)
class TextAnnotation:
    """Everything the CX annotator says about one text."""

    text: str
    normalized_text: str
    """``text`` after noise normalisation; what VADER and the CX rules analysed."""
    vader: VaderScores
    """vaderSentiment's ``polarity_scores`` of the raw ``text``, exactly."""
    vader_normalized: VaderScores
    """vaderSentiment's ``polarity_scores`` of ``normalized_text``, exactly; the base
    the CX adjustments are applied to."""
    sentences: tuple[SentenceAnnotation, ...]
    compound: float
    """CX-adjusted compound in [-1, 1]; equals ``vader_normalized.compound`` when no
    adjustment has a non-zero contribution."""
    label: Label
    emotions: dict[str, float]
    """CX emotion -> intensity in (0, 1]; labels with zero intensity are left out."""
    aspects: dict[str, AspectSentiment]
    adjustments: tuple[Adjustment, ...]
    model_version: str


@dataclass(frozen=True)
class MessageAnnotation:
    """One conversation message and whether (and how much) it counts."""

    author: str
    is_customer: bool
    weight: float
    """Normalised recency weight of this message in the customer-side score
    (0.0 for agent/bot messages); customer weights sum to 1."""
    annotation: TextAnnotation


@dataclass(frozen=True)
class ConversationAnnotation:
    """Customer-side sentiment of a conversation, with its trend."""

    messages: tuple[MessageAnnotation, ...]
    compound: float
    """Recency-weighted mean of the customer messages' CX-adjusted compounds."""
    label: Label
    start_compound: float
    """Compound of the first customer message (0.0 if there is none)."""
    end_compound: float
    """Compound of the last customer message (0.0 if there is none)."""
    trend: float
    """``end_compound - start_compound``."""
    trend_label: TrendLabel
    emotions: dict[str, float]
    aspects: dict[str, AspectSentiment]
    customer_messages: int
    model_version: str
