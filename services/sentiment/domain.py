"""Sentiment annotation of canonical events: pure functions, no Kafka.

The customer-experience annotator (``services.sentiment.cx``) does the reading; this module maps
its result onto the contract's ``AnnotatedEvent``.
"""

from __future__ import annotations

from schemas import AnnotatedEvent, CanonicalEvent
from schemas.downstream import (
    ConversationSummary,
    ConversationTrend,
    NotAnnotatedReason,
    SentenceSentiment,
    Sentiment,
)
from schemas.feedback import ConversationFeedback
from services.sentiment.cx import CxAnnotator, TextAnnotation
from services.sentiment.foreign import FOREIGN_LANGUAGES, ForeignScorer
from services.sentiment.language import ENGLISH, LanguageDetector

_TRENDS = {
    "improved": ConversationTrend.IMPROVING,
    "worsened": ConversationTrend.WORSENING,
    "unchanged": ConversationTrend.STEADY,
}


class Annotator:
    def __init__(
        self,
        annotator: CxAnnotator | None = None,
        languages: LanguageDetector | None = None,
        foreign_languages: frozenset[str] = frozenset(),
    ) -> None:
        # Loading and compiling the lexicons takes a moment: once per process, not per event.
        self._cx = annotator or CxAnnotator()
        self._languages = languages or LanguageDetector()
        unknown = foreign_languages - FOREIGN_LANGUAGES
        if unknown:
            raise ValueError(
                f"no lexicon for {sorted(unknown)}; known: {sorted(FOREIGN_LANGUAGES)}"
            )
        # Loaded on the first text in the language: most deployments never see one.
        self._foreign_languages = foreign_languages

    @property
    def model_version(self) -> str:
        return self._cx.model_version

    def annotate(self, event: CanonicalEvent) -> AnnotatedEvent:
        if not event.text or not event.text.strip():
            return AnnotatedEvent(
                event=event,
                annotated=False,
                not_annotated_reason=NotAnnotatedReason.NO_TEXT,
                model_version=self.model_version,
            )
        language, result = self._cx.annotate_english(
            event.text, event.text.split(), self._languages
        )
        if result is None and language in self._foreign_languages:
            return self._annotate_foreign(event, ForeignScorer.load(language))
        if result is None:
            # The lexicon is English: scored anyway, most foreign text reads as neutral, and
            # neutral would count as evidence in the scores.
            return AnnotatedEvent(
                event=event,
                annotated=False,
                not_annotated_reason=NotAnnotatedReason.UNSUPPORTED_LANGUAGE,
                language=language,
                model_version=self.model_version,
            )
        emotions = dict(result.emotions)
        aspects = {name: aspect.sentiment for name, aspect in result.aspects.items()}
        conversation = None
        upstream = event.upstream
        if isinstance(upstream, ConversationFeedback) and upstream.messages:
            thread = self._cx.annotate_conversation(
                [(message.author.value, message.text) for message in upstream.messages]
            )
            if thread.customer_messages:
                conversation = ConversationSummary(
                    customer_messages=thread.customer_messages,
                    customer_sentiment=thread.compound,
                    opening_sentiment=thread.start_compound,
                    closing_sentiment=thread.end_compound,
                    trend=_TRENDS[thread.trend_label],
                )
                # The thread's merge weighs later messages more, as the scores should.
                emotions = dict(thread.emotions)
                aspects = {name: a.sentiment for name, a in thread.aspects.items()}
        return AnnotatedEvent(
            event=event,
            annotated=True,
            language=ENGLISH,
            sentiment=Sentiment(
                compound=result.compound,
                positive=result.vader_normalized.pos,
                neutral=result.vader_normalized.neu,
                negative=result.vader_normalized.neg,
                sentences=sentence_spans(event.text, result),
            ),
            emotions=emotions,
            aspects=aspects,
            conversation=conversation,
            model_version=self.model_version,
        )

    @staticmethod
    def _annotate_foreign(event: CanonicalEvent, scorer: ForeignScorer) -> AnnotatedEvent:
        """Sentiment only: emotions, aspects and conversation trends are read in English."""
        assert event.text is not None
        result = scorer.score(event.text)
        return AnnotatedEvent(
            event=event,
            annotated=True,
            language=result.language,
            sentiment=Sentiment(
                compound=result.compound,
                positive=result.positive,
                neutral=result.neutral,
                negative=result.negative,
                sentences=tuple(
                    SentenceSentiment(
                        start=s.start,
                        end=s.end,
                        compound=s.compound,
                        positive=s.positive,
                        neutral=s.neutral,
                        negative=s.negative,
                    )
                    for s in result.sentences
                ),
            ),
            model_version=scorer.model_version,
        )


def sentence_spans(text: str, result: TextAnnotation) -> tuple[SentenceSentiment, ...]:
    """Per-sentence sentiment with offsets into the canonical ``text``.

    The annotator reads a normalised copy (URLs, @mentions and ticket numbers removed), so a
    sentence is looked up in the original; where noise inside it prevents an exact match, its
    span runs from the end of the previous sentence to the start of the next one found.
    """
    spans: list[SentenceSentiment] = []
    cursor = 0
    for index, sentence in enumerate(result.sentences):
        found = text.find(sentence.text, cursor) if sentence.text else -1
        if found >= 0:
            start, end = found, found + len(sentence.text)
        else:
            start = cursor
            following = (
                result.sentences[index + 1].text if index + 1 < len(result.sentences) else ""
            )
            next_start = text.find(following, cursor) if following else -1
            end = next_start if next_start > start else len(text)
        spans.append(
            SentenceSentiment(
                start=start,
                end=max(start, end),
                compound=sentence.compound,
                positive=sentence.vader.pos,
                neutral=sentence.vader.neu,
                negative=sentence.vader.neg,
            )
        )
        cursor = max(cursor, end)
    return tuple(spans)
