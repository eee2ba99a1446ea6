"""Scoring: annotated topic -> database state -> score-updates topic, exactly once.

The protocol, per partition batch:

1. In one database transaction: lock the partition's ``applied_offsets`` row; skip records below
   it (an earlier attempt applied them but crashed before its Kafka commit); apply the rest
   (state, processed event ids) and write each record's outputs to the outbox under its source
   offset; advance ``applied_offsets``; commit.
2. Hand the runtime every outbox record of the batch's offset range, old and new. The runtime
   produces them and commits the input offsets in one Kafka transaction.

A crash after 1 but before 2 commits: the batch is re-read from the committed offset, nothing is
applied twice (step 1 skips it), and the outbox re-supplies the outputs, which Kafka has never
made visible. A crash after 2: the batch is not re-read. The outbox row of an offset is therefore
published exactly when that offset is committed, and rows below the committed offset are pruned.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from schemas import AnnotatedEvent
from schemas.base import ACCEPTED_EVENTS_POLICY
from schemas.validation import RejectReason, describe_validation_error
from services.runtime.deadletter import dead_letter
from services.runtime.exceptions import PermanentError, TransientError
from services.runtime.records import InRecord, OutRecord, PartitionBatch
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings
from services.scoring import store
from services.scoring.domain import apply_event, score_update

NAME = "scoring"
log = logging.getLogger(__name__)


class ScoringHandler:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._topics = settings.topics

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
        try:
            with self._engine.begin() as conn:
                applied = store.lock_partition(conn, batch.tp)
                store.prune_outbox(conn, batch.tp, below=batch.first_offset)
                for record in batch.records:
                    if record.offset < applied:
                        continue
                    store.add_outbox(conn, batch.tp, record.offset, self._apply_one(conn, record))
                store.set_applied(conn, batch.tp, max(applied, batch.next_offset))
                return store.outbox_records(
                    conn, batch.tp, batch.first_offset, batch.next_offset - 1
                )
        except OperationalError as exc:
            raise TransientError(f"database unavailable: {exc.orig!r}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise TransientError(f"database connection lost: {exc.orig!r}") from exc
            raise

    def _apply_one(self, conn: Connection, record: InRecord) -> list[OutRecord]:
        """Apply one record inside a savepoint, so that a record that fails half-way leaves no
        partial state behind when it is dead-lettered."""
        savepoint = conn.begin_nested()
        try:
            outputs = self._apply(conn, record)
        except (OperationalError, DBAPIError):
            savepoint.rollback()
            raise
        except PermanentError as exc:
            savepoint.rollback()
            return [self._dead_letter(record, exc.reason, exc.message, exc)]
        except Exception as exc:
            savepoint.rollback()
            log.exception(
                "unexpected error on %s:%d@%d", record.topic, record.partition, record.offset
            )
            return [self._dead_letter(record, "unexpected_error", repr(exc), exc)]
        savepoint.commit()
        return outputs

    def _dead_letter(
        self, record: InRecord, reason: str, message: str, exc: Exception
    ) -> OutRecord:
        return dead_letter(
            record,
            topic=self._topics.dead_letter,
            service=NAME,
            reason=reason,
            message=message,
            error_class=type(exc).__name__,
        )

    def _apply(self, conn: Connection, record: InRecord) -> list[OutRecord]:
        try:
            annotated = AnnotatedEvent.model_validate_json(
                record.value or b"", context=ACCEPTED_EVENTS_POLICY.context()
            )
        except ValidationError as exc:
            raise PermanentError(
                RejectReason.SCHEMA_VIOLATION, describe_validation_error(exc)
            ) from exc
        event = annotated.event
        if not store.mark_processed(conn, event.event_id, event.customer_id):
            return []  # a duplicate event id never counts twice
        before = store.load_state(conn, event.customer_id)
        state = apply_event(before, annotated)
        store.save_state(conn, state)
        update = score_update(before, state, annotated)
        return [
            OutRecord(
                self._topics.score_updates,
                event.customer_id.encode(),
                update.model_dump_json().encode(),
            )
        ]


def build_handler(settings: Settings) -> ScoringHandler:
    engine = store.make_engine(settings.database_url)
    store.create_schema(engine)
    return ScoringHandler(engine, settings)


SPEC = ServiceSpec(
    name=NAME,
    default_port=9103,
    input_topics=lambda s: [s.topics.annotated],
    output_topics=lambda s: [s.topics.score_updates],
    build_handler=build_handler,
    readiness=lambda s: {
        "database_reachable": lambda: store.ping(store.make_engine(s.database_url))
    },
)
