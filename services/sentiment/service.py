"""Sentiment: canonical topic -> annotated topic, same key, same order per customer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import ValidationError

from schemas import CanonicalEvent
from schemas.base import ACCEPTED_EVENTS_POLICY
from schemas.validation import RejectReason, describe_validation_error
from services.runtime.exceptions import PermanentError
from services.runtime.handlers import RecordHandler
from services.runtime.records import InRecord, OutRecord
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings
from services.sentiment.domain import Annotator
from services.sentiment.native import implementation

NAME = "sentiment"
log = logging.getLogger(__name__)


def make_process(settings: Settings) -> Callable[[InRecord], list[OutRecord]]:
    annotator = Annotator()
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
        return [
            OutRecord(
                settings.topics.annotated,
                event.customer_id.encode(),
                annotated.model_dump_json().encode(),
            )
        ]

    return process


SPEC = ServiceSpec(
    name=NAME,
    default_port=9102,
    input_topics=lambda s: [s.topics.canonical],
    output_topics=lambda s: [s.topics.annotated],
    build_handler=lambda settings, policy: RecordHandler(policy, make_process(settings)),
)
