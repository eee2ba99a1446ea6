"""Immutable results of :class:`services.sentiment.cx.CxAnnotator`.

All scores are plain floats rounded to 4 decimals (emotion intensities to 3),
so results compare exactly across runs and serialise without surprises.
``emotions`` and ``aspects`` are ordinary dicts for easy serialisation; treat
them as read-only (the dataclasses are frozen, their dicts are not copied).

The classes are frozen dataclasses with ``__slots__``. The annotator builds
the per-text ones with the ``build_*`` builders below rather than the
generated ``__init__``, which calls ``object.__setattr__`` once per field: at
several objects per text that was a measurable share of the annotator's
cost. In the compiled build (``setup.py``) a builder is a C constructor
(``_construct.c``) that allocates the instance and fills its slots; otherwise
it fills a *draft*, a plain class with the same slots, with ordinary attribute
stores, then gives it the frozen class by assigning ``__class__`` (allowed
because the two layouts are identical). Either result is indistinguishable
from ``Cls(...)``: same type, fields, equality, hash, repr, pickling, and it is
frozen; the tests check both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

from services.sentiment import native
from services.sentiment.fastvader import VaderLabel, vader_label

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

Label = VaderLabel
TrendLabel = Literal["improved", "worsened", "unchanged"]


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The dataclass field names of ``cls`` (used by the tests of the builders)."""
    return tuple(f.name for f in fields(cls))


def label_for(compound: float) -> Label:
    """Three-class label of a compound score with VADER's standard ±0.05 thresholds."""
    return vader_label(compound)


@dataclass(frozen=True, slots=True)
class VaderScores:
    """VADER's ``polarity_scores`` as a typed value (identical numbers)."""

    compound: float
    pos: float
    neu: float
    neg: float

    @classmethod
    def from_dict(cls, scores: Mapping[str, float]) -> VaderScores:
        return build_vader_scores(scores["compound"], scores["pos"], scores["neu"], scores["neg"])


@dataclass(frozen=True, slots=True)
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
    sarcasm or request; or ``proper_noun`` (a lexicon word inside a name, set to 0)."""
    pattern: str
    """The lexicon entry's pattern (entries are identified by family + pattern)."""
    source: str
    """Lexicon file the entry comes from."""
    matched: str
    """The normalised tokens the pattern matched."""
    sentence: int
    """Index into :attr:`TextAnnotation.sentences`."""
    contribution: float


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class AspectSentiment:
    """Sentiment of the clauses that mention one relationship-driver aspect."""

    sentiment: float
    """Mean CX-adjusted compound of the mentioning clauses, in [-1, 1]."""
    mentions: int
    label: Label


@dataclass(frozen=True, slots=True)
class TextAnnotation:
    """Everything the CX annotator says about one text."""

    text: str
    normalized_text: str
    """``text`` after noise normalisation; what VADER and the CX rules analysed."""
    vader: VaderScores
    """vaderSentiment's ``polarity_scores`` of ``normalized_text``, exactly: the base
    the CX adjustments are applied to. When normalisation changed nothing
    (``normalized_text == text``) this is VADER on the raw text;
    :meth:`CxAnnotator.raw_vader` scores the raw text when it differs."""
    vader_normalized: VaderScores
    """The same object as ``vader`` (kept for callers that use this name)."""
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


@dataclass(frozen=True, slots=True)
class MessageAnnotation:
    """One conversation message and whether (and how much) it counts."""

    author: str
    is_customer: bool
    weight: float
    """Normalised recency weight of this message in the customer-side score
    (0.0 for agent/bot messages); customer weights sum to 1."""
    annotation: TextAnnotation


@dataclass(frozen=True, slots=True)
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


# --------------------------------------------------------------------- builders
# Two implementations of the same five builders. In the compiled build (setup.py), C
# constructors (_construct.c): an instance of the class with its slots filled from the
# arguments, no Python code run. Otherwise drafts: plain classes with exactly the slots of
# the frozen class they stand in for (same names, same order), so the two layouts are
# identical and assigning ``__class__`` turns a filled draft into the real thing (see the
# module doc). Either gives the object the class's constructor gives (the tests check both).


class _VaderScoresDraft:
    __slots__ = VaderScores.__slots__


class _AdjustmentDraft:
    __slots__ = Adjustment.__slots__


class _SentenceAnnotationDraft:
    __slots__ = SentenceAnnotation.__slots__


class _AspectSentimentDraft:
    __slots__ = AspectSentiment.__slots__


class _TextAnnotationDraft:
    __slots__ = TextAnnotation.__slots__


# The drafts' attributes exist only as slots, hence the type: ignore[attr-defined]
# on each store; each builder returns the draft once it is the frozen class.


def draft_vader_scores(compound: float, pos: float, neu: float, neg: float) -> VaderScores:
    """``VaderScores(compound, pos, neu, neg)``, built from a draft (see the module doc)."""
    draft = _VaderScoresDraft()
    draft.compound = compound  # type: ignore[attr-defined]
    draft.pos = pos  # type: ignore[attr-defined]
    draft.neu = neu  # type: ignore[attr-defined]
    draft.neg = neg  # type: ignore[attr-defined]
    draft.__class__ = VaderScores  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


def draft_adjustment(  # noqa: PLR0917 - mirrors the dataclass fields
    rule: str, pattern: str, source: str, matched: str, sentence: int, contribution: float
) -> Adjustment:
    """``Adjustment(...)``, built from a draft (see the module doc)."""
    draft = _AdjustmentDraft()
    draft.rule = rule  # type: ignore[attr-defined]
    draft.pattern = pattern  # type: ignore[attr-defined]
    draft.source = source  # type: ignore[attr-defined]
    draft.matched = matched  # type: ignore[attr-defined]
    draft.sentence = sentence  # type: ignore[attr-defined]
    draft.contribution = contribution  # type: ignore[attr-defined]
    draft.__class__ = Adjustment  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


def draft_sentence_annotation(
    text: str, vader: VaderScores, compound: float, label: Label
) -> SentenceAnnotation:
    """``SentenceAnnotation(...)``, built from a draft (see the module doc)."""
    draft = _SentenceAnnotationDraft()
    draft.text = text  # type: ignore[attr-defined]
    draft.vader = vader  # type: ignore[attr-defined]
    draft.compound = compound  # type: ignore[attr-defined]
    draft.label = label  # type: ignore[attr-defined]
    draft.__class__ = SentenceAnnotation  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


def draft_aspect_sentiment(sentiment: float, mentions: int, label: Label) -> AspectSentiment:
    """``AspectSentiment(...)``, built from a draft (see the module doc)."""
    draft = _AspectSentimentDraft()
    draft.sentiment = sentiment  # type: ignore[attr-defined]
    draft.mentions = mentions  # type: ignore[attr-defined]
    draft.label = label  # type: ignore[attr-defined]
    draft.__class__ = AspectSentiment  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


def draft_text_annotation(  # noqa: PLR0917 - mirrors the dataclass fields
    text: str,
    normalized_text: str,
    vader: VaderScores,
    sentences: tuple[SentenceAnnotation, ...],
    compound: float,
    label: Label,
    emotions: dict[str, float],
    aspects: dict[str, AspectSentiment],
    adjustments: tuple[Adjustment, ...],
    model_version: str,
) -> TextAnnotation:
    """``TextAnnotation(...)``, ``vader_normalized`` = ``vader``, built from a draft."""
    draft = _TextAnnotationDraft()
    draft.text = text  # type: ignore[attr-defined]
    draft.normalized_text = normalized_text  # type: ignore[attr-defined]
    draft.vader = vader  # type: ignore[attr-defined]
    draft.vader_normalized = vader  # type: ignore[attr-defined]
    draft.sentences = sentences  # type: ignore[attr-defined]
    draft.compound = compound  # type: ignore[attr-defined]
    draft.label = label  # type: ignore[attr-defined]
    draft.emotions = emotions  # type: ignore[attr-defined]
    draft.aspects = aspects  # type: ignore[attr-defined]
    draft.adjustments = adjustments  # type: ignore[attr-defined]
    draft.model_version = model_version  # type: ignore[attr-defined]
    draft.__class__ = TextAnnotation  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


def _argument_order(
    cls: type[Any], arguments: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``cls``'s slots and, for each, the index of the builder argument that fills it (the
    builder's arguments are ``arguments``, a field name each; ``vader`` also fills
    ``vader_normalized``)."""
    slots: tuple[str, ...] = cls.__slots__
    index = {name: k for k, name in enumerate(arguments)}
    return slots, tuple(index["vader" if slot == "vader_normalized" else slot] for slot in slots)


def _c_constructors() -> Any:
    """The C constructors module, if this process runs the compiled build and it was built."""
    if native.implementation() != "mypyc":
        return None
    try:
        # Imported only here: the pure-Python build runs no compiled code.
        from services.sentiment.cx import _construct
    except ImportError:  # pragma: no cover - a compiled build without the C module
        return None
    return _construct


_C: Final = _c_constructors()
BUILDERS: Final = "c" if _C is not None else "draft"
"""Which builders this process uses: ``"c"`` (the compiled build) or ``"draft"``."""

build_vader_scores: Final[Callable[[float, float, float, float], VaderScores]] = (
    draft_vader_scores
    if _C is None
    else _C.constructor(
        VaderScores, *_argument_order(VaderScores, ("compound", "pos", "neu", "neg"))
    )
)
build_adjustment: Final[Callable[[str, str, str, str, int, float], Adjustment]] = (
    draft_adjustment
    if _C is None
    else _C.constructor(Adjustment, *_argument_order(Adjustment, field_names(Adjustment)))
)
build_sentence_annotation: Final[Callable[[str, VaderScores, float, Label], SentenceAnnotation]] = (
    draft_sentence_annotation
    if _C is None
    else _C.constructor(
        SentenceAnnotation, *_argument_order(SentenceAnnotation, field_names(SentenceAnnotation))
    )
)
build_aspect_sentiment: Final[Callable[[float, int, Label], AspectSentiment]] = (
    draft_aspect_sentiment
    if _C is None
    else _C.constructor(
        AspectSentiment, *_argument_order(AspectSentiment, field_names(AspectSentiment))
    )
)
build_text_annotation: Final[
    Callable[
        [
            str,
            str,
            VaderScores,
            tuple[SentenceAnnotation, ...],
            float,
            Label,
            dict[str, float],
            dict[str, AspectSentiment],
            tuple[Adjustment, ...],
            str,
        ],
        TextAnnotation,
    ]
] = (
    draft_text_annotation
    if _C is None
    else _C.constructor(
        TextAnnotation,
        *_argument_order(
            TextAnnotation,
            tuple(name for name in field_names(TextAnnotation) if name != "vader_normalized"),
        ),
    )
)
