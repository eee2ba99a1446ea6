"""Sentiment annotation: pure functions, no Kafka."""

from __future__ import annotations

from importlib.metadata import version

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from schemas import AnnotatedEvent, CanonicalEvent, Sentiment

MODEL_VERSION = f"vader-{version('vaderSentiment')}"


class Annotator:
    def __init__(self) -> None:
        # Loading the lexicon takes ~50 ms: once per process, not per event.
        self._vader = SentimentIntensityAnalyzer()

    def annotate(self, event: CanonicalEvent) -> AnnotatedEvent:
        if not event.text or not event.text.strip():
            return AnnotatedEvent(event=event, annotated=False, model_version=MODEL_VERSION)
        scores = self._vader.polarity_scores(event.text)
        return AnnotatedEvent(
            event=event,
            annotated=True,
            sentiment=Sentiment(
                compound=scores["compound"],
                positive=scores["pos"],
                neutral=scores["neu"],
                negative=scores["neg"],
            ),
            model_version=MODEL_VERSION,
        )
