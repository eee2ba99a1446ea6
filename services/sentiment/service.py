"""Sentiment: canonical topic -> annotated topic, same key, same order per customer.

The key is the customer's in the documented format (``schemas.identity``), rebuilt from the
event rather than copied, so that every stage keys by the same rule.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from schemas import AnnotatedEvent, CanonicalEvent
from schemas.base import ACCEPTED_EVENTS_POLICY
from schemas.validation import RejectReason, describe_validation_error
from services.runtime.exceptions import PermanentError
from services.runtime.handlers import RecordFunction, RecordHandler
from services.runtime.policy import ErrorPolicy
from services.runtime.records import InRecord, OutRecord
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings
from services.sentiment.domain import Annotator
from services.sentiment.native import implementation

NAME = "sentiment"
log = logging.getLogger(__name__)


class TextCounter:
    """Counts the texts the service read, by detected language and whether they were annotated.

    Counted when a record is processed, so a batch the runtime retries counts again: a rate
    to watch (how much traffic is not English), not an exact tally.
    """

    def __init__(self) -> None:
        self._counter: Counter | None = None

    def register(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            "rapport_sentiment_texts",
            "Texts read by the sentiment service, by detected language and whether annotated",
            ["language", "annotated"],
            registry=registry,
        )

    def count(self, annotated: AnnotatedEvent) -> None:
        if self._counter is not None and annotated.event.text:
            self._counter.labels(
                annotated.language or "unknown", "true" if annotated.annotated else "false"
            ).inc()


class SentimentHandler(RecordHandler):
    """The runtime's record handler, with the sentiment service's own metrics."""

    def __init__(
        self, settings: Settings, policy: ErrorPolicy, counter: TextCounter | None = None
    ) -> None:
        self.texts = counter or TextCounter()
        super().__init__(policy, make_process(settings, self.texts))

    def register_metrics(self, registry: CollectorRegistry) -> None:
        self.texts.register(registry)


def make_process(settings: Settings, texts: TextCounter | None = None) -> RecordFunction:
    annotator = Annotator(foreign_languages=frozenset(settings.sentiment.foreign_languages))
    # The pure-Python build gives the same results about 2.5x slower: say which one runs.
    log.info("annotator %s, %s build", annotator.model_version, implementation())

    def process(record: InRecord) -> list[OutRecord]:
        try:
            event = CanonicalEvent.model_validate_json(
                record.value or b"", context=ACCEPTED_EVENTS_POLICY.context()
            )
        except ValidationError as exc:
            raise PermanentError(
                RejectReason.SCHEMA_VIOLATION, describe_validation_error(exc)
            ) from exc
        annotated = annotator.annotate(event)
        if texts is not None:
            texts.count(annotated)
        return [
            OutRecord(
                settings.topics.annotated,
                settings.tenancy.customer_key(event.tenant_id, event.customer_id),
                annotated.model_dump_json().encode(),
            )
        ]

    return process


SPEC = ServiceSpec(
    name=NAME,
    default_port=9102,
    input_topics=lambda s: [s.topics.canonical],
    output_topics=lambda s: [s.topics.annotated],
    build_handler=SentimentHandler,
)
