"""Ingest: raw interaction and feedback topics -> canonical topic, keyed by customer id."""

from __future__ import annotations

from collections.abc import Callable

from schemas import EventKind
from services.ingest.domain import parse_raw
from services.runtime.handlers import RecordHandler
from services.runtime.records import InRecord, OutRecord
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings

NAME = "ingest"


def make_process(settings: Settings) -> Callable[[InRecord], list[OutRecord]]:
    kinds = {
        settings.topics.raw_interactions: EventKind.INTERACTION,
        settings.topics.raw_feedback: EventKind.FEEDBACK,
    }

    def process(record: InRecord) -> list[OutRecord]:
        event = parse_raw(record.value, kinds[record.topic])
        # Keyed by customer: all of a customer's events share a partition and stay in order.
        return [
            OutRecord(
                settings.topics.canonical,
                event.customer_id.encode(),
                event.model_dump_json().encode(),
            )
        ]

    return process


SPEC = ServiceSpec(
    name=NAME,
    default_port=9101,
    input_topics=lambda s: [s.topics.raw_interactions, s.topics.raw_feedback],
    output_topics=lambda s: [s.topics.canonical],
    build_handler=lambda s: RecordHandler(NAME, s.topics.dead_letter, make_process(s)),
)
