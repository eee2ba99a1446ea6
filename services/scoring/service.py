"""Scoring: annotated topic -> database state -> score updates, latest scores, alerts, erasure
notices; exactly once.

The protocol, per partition batch (``docs/scoring.md`` has the sequence diagram):

1. In one database transaction: lock the partition's ``applied_offsets`` row; prune the outbox
   below the batch's first offset; skip records below the applied offset (an earlier attempt
   applied them but crashed before its Kafka commit); apply the rest (bulk-load the batch's
   customers, fold in offset order, write states, history, processed event ids, alerts) and
   write each record's outputs to the outbox under its source offset; advance
   ``applied_offsets``; commit.
2. Hand the runtime every outbox record of the batch's offset range, old and new. The runtime
   produces them and commits the input offsets in one Kafka transaction (whose group metadata
   fences a zombie that lost the partition in a rebalance, KIP-447).

A crash after 1 but before 2 commits: the batch is re-read from the committed offset, nothing is
applied twice (step 1 skips it), and the outbox re-supplies the outputs, which Kafka has never
made visible. A crash after 2: the batch is not re-read. The outbox row of an offset is therefore
published exactly when that offset is committed, and rows below the committed offset are pruned.
Within step 1, an event id already applied for the customer is a duplicate: no state change, no
output. Alerts are state too (``alert_state``), so no alert is raised twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import Engine, bindparam, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from schemas import Alert, AlertState, AnnotatedEvent
from schemas.base import ACCEPTED_EVENTS_POLICY
from schemas.validation import RejectReason, describe_validation_error
from services.runtime.deadletter import dead_letter
from services.runtime.exceptions import FatalError, PermanentError, TransientError
from services.runtime.handlers import with_origin
from services.runtime.records import InRecord, OutRecord, PartitionBatch, TopicPartition
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings, Topics
from services.scoring import store
from services.scoring.domain import CustomerRecord, Outcome, erasure_completed, score_event
from services.scoring.model import Scores, ScoringConfig, StateMismatchError
from services.scoring.signals import ScoringInput, to_input

NAME = "scoring"
CONFIG_HASH_HEADER: Final = "rapport.scoring.config-hash"
LATEST_TOPIC_CONFIG: Final = {"cleanup.policy": "compact"}
"""The latest-scores topic keeps the latest record per customer (and tombstones of erasures)."""
log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def _alert_row(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "customer_id": alert.customer_id,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "state": alert.state.value,
        "raised_at": alert.raised_at,
        "resolved_at": None,
        "caused_by_event_id": alert.caused_by_event_id,
        "resolved_by_event_id": None,
        "message": alert.message,
        "resolution": None,
    }


def _resolution(alert: Alert) -> dict[str, Any]:
    return {
        "b_alert_id": alert.alert_id,
        "b_resolved_at": alert.resolved_at,
        "b_resolved_by": alert.caused_by_event_id,
        "b_resolution": alert.message,
    }


_RESOLVE = (
    update(store.alerts)
    .where(store.alerts.c.alert_id == bindparam("b_alert_id"))
    .values(
        state=AlertState.RESOLVED.value,
        resolved_at=bindparam("b_resolved_at"),
        resolved_by_event_id=bindparam("b_resolved_by"),
        resolution=bindparam("b_resolution"),
    )
)


@dataclass
class _Batch:
    """The effects of one partition batch, accumulated in memory and written at the end."""

    records: dict[str, CustomerRecord]
    seen: set[tuple[str, str]]
    erased_before: set[str]
    dirty: dict[str, tuple[Scores, str]] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    history: list[dict[str, Any]] = field(default_factory=list)
    processed: list[dict[str, Any]] = field(default_factory=list)
    raised: dict[str, dict[str, Any]] = field(default_factory=dict)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    erasures: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def forget(self, customer_id: str) -> None:
        """An erasure: drop what this batch was about to write for the customer."""
        self.erased.add(customer_id)
        self.dirty.pop(customer_id, None)
        self.history = [r for r in self.history if r["customer_id"] != customer_id]
        self.processed = [r for r in self.processed if r["customer_id"] != customer_id]
        self.raised = {k: r for k, r in self.raised.items() if r["customer_id"] != customer_id}
        self.resolved = [r for r in self.resolved if r["b_customer_id"] != customer_id]
        self.seen = {key for key in self.seen if key[0] != customer_id}
        self.records[customer_id] = CustomerRecord.empty(customer_id)

    def add_alerts(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            if alert.state is AlertState.RAISED:
                self.raised[alert.alert_id] = _alert_row(alert)
                continue
            pending = self.raised.get(alert.alert_id)
            if pending is not None:  # raised and resolved within this batch
                pending.update(
                    state=AlertState.RESOLVED.value,
                    resolved_at=alert.resolved_at,
                    resolved_by_event_id=alert.caused_by_event_id,
                    resolution=alert.message,
                )
            else:
                self.resolved.append(_resolution(alert) | {"b_customer_id": alert.customer_id})

    def write(self, conn: Connection) -> None:
        # Erasures first: rows this batch writes afterwards belong to the fresh state.
        if self.erased:
            store.erase_customers(conn, self.erased)
        store.save_states(
            conn,
            [
                store.state_row(self.records[cid], scores, event_id)
                for cid, (scores, event_id) in sorted(self.dirty.items())
            ],
        )
        store.save_trackers(conn, {cid: self.records[cid].tracker for cid in self.dirty})
        store.insert_rows(conn, store.score_history, self.history)
        store.insert_rows(conn, store.processed_events, self.processed)
        store.insert_rows(conn, store.alerts, list(self.raised.values()))
        if self.resolved:
            conn.execute(
                _RESOLVE,
                [{k: v for k, v in r.items() if k != "b_customer_id"} for r in self.resolved],
            )
        store.insert_rows(conn, store.erasures, self.erasures)
        store.add_outbox(conn, self.outbox)


class ScoringHandler:
    def __init__(
        self,
        engine: Engine,
        topics: Topics,
        config: ScoringConfig,
        clock: Clock = _now,
    ) -> None:
        self._engine = engine
        self._topics = topics
        self._config = config
        self._clock = clock
        self._config_header = (CONFIG_HASH_HEADER, config.content_hash.encode())
        self._warned_currencies: set[str] = set()

    @property
    def engine(self) -> Engine:
        return self._engine

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
        try:
            with self._engine.begin() as conn:
                applied = store.lock_partition(conn, batch.tp)
                store.prune_outbox(conn, batch.tp, below=batch.first_offset)
                fresh = [r for r in batch.records if r.offset >= applied]
                if fresh:
                    self._apply(conn, batch.tp, fresh)
                    store.set_applied(conn, batch.tp, max(applied, batch.next_offset))
                return store.outbox_records(
                    conn, batch.tp, batch.first_offset, batch.next_offset - 1
                )
        except StateMismatchError as exc:
            # A deployment error (instances with different configurations), not bad input.
            raise FatalError(f"{exc}; run `rapport scores rebuild --apply`") from exc
        except OperationalError as exc:
            raise TransientError(f"database unavailable: {exc.orig!r}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise TransientError(f"database connection lost: {exc.orig!r}") from exc
            raise

    # -- one batch -------------------------------------------------------------------------

    def _parse(self, record: InRecord) -> ScoringInput:
        try:
            annotated = AnnotatedEvent.model_validate_json(
                record.value or b"", context=ACCEPTED_EVENTS_POLICY.context()
            )
        except ValidationError as exc:
            raise PermanentError(
                RejectReason.SCHEMA_VIOLATION, describe_validation_error(exc)
            ) from exc
        inp = to_input(annotated, self._config)
        currency = inp.unconverted_currency
        if currency is not None and currency not in self._warned_currencies:
            self._warned_currencies.add(currency)
            log.warning(
                "no exchange rate for %s in scoring.yaml: its amounts carry no spend evidence",
                currency,
            )
        return inp

    def _apply(self, conn: Connection, tp: TopicPartition, records: list[InRecord]) -> None:
        parsed: list[tuple[InRecord, ScoringInput | OutRecord]] = []
        for record in records:
            try:
                parsed.append((record, self._parse(record)))
            except PermanentError as exc:
                parsed.append((record, self._dead_letter(record, exc.reason, exc.message, exc)))
        inputs = [inp for _, inp in parsed if isinstance(inp, ScoringInput)]
        keys = {(i.signal.customer_id, i.signal.event_id) for i in inputs if not i.is_erasure}
        work = _Batch(
            records=store.load_records(conn, {i.signal.customer_id for i in inputs}),
            seen=store.processed_among(conn, keys),
            erased_before=store.erasures_among(
                conn, {i.signal.event_id for i in inputs if i.is_erasure}
            ),
        )
        for record, item in parsed:
            if isinstance(item, OutRecord):
                outputs = [item]
            elif item.is_erasure:
                outputs = self._erase(work, item)
            else:
                outputs = self._score(work, record, item)
            work.outbox += store.outbox_rows(
                tp, record.offset, [with_origin(out, record) for out in outputs]
            )
        work.write(conn)

    def _score(self, work: _Batch, record: InRecord, inp: ScoringInput) -> list[OutRecord]:
        signal = inp.signal
        customer = signal.customer_id
        key = (customer, signal.event_id)
        if key in work.seen:
            return []  # a duplicate event id never counts twice
        try:
            outcome = score_event(work.records[customer], inp, self._config)
        except StateMismatchError:
            raise
        except PermanentError as exc:
            return [self._dead_letter(record, exc.reason, exc.message, exc)]
        except Exception as exc:
            # A bug must not stall the partition; nothing of the event was kept.
            log.exception(
                "unexpected error on %s:%d@%d", record.topic, record.partition, record.offset
            )
            return [self._dead_letter(record, "unexpected_error", repr(exc), exc)]
        work.seen.add(key)
        work.records[customer] = outcome.record
        work.dirty[customer] = (outcome.scores, signal.event_id)
        work.processed.append({"customer_id": customer, "event_id": signal.event_id})
        work.history.append(self._history_row(inp, outcome))
        work.add_alerts(outcome.alerts)
        return self._outputs(outcome)

    def _history_row(self, inp: ScoringInput, outcome: Outcome) -> dict[str, Any]:
        scores = outcome.scores
        explanation = outcome.explanation
        return {
            "customer_id": inp.signal.customer_id,
            "event_id": inp.signal.event_id,
            "event_type": inp.event_type,
            "occurred_at": inp.signal.occurred_at,
            "as_of": scores.as_of,
            **{name: getattr(scores, name) for name in store.SCORE_COLUMNS},
            "segment": scores.segment.value,
            "trust_delta": explanation.trust_points,
            "loyalty_delta": explanation.loyalty_points,
            "summary": outcome.update.summary,
            "config_version": scores.config_version,
        }

    def _outputs(self, outcome: Outcome) -> list[OutRecord]:
        # Time first (deadlines passed before the event: reason "time"), then the event's
        # update unless publishing.material_only holds it back, then the alerts.
        time = outcome.time
        published = [] if time is None or time.update is None else [time.update]
        if outcome.publish:
            published.append(outcome.update)
        key = outcome.update.customer_id.encode()
        headers = [self._config_header]
        out = []
        for score_update in published:
            value = score_update.model_dump_json().encode()
            out.append(OutRecord(self._topics.score_updates, key, value, headers))
            out.append(OutRecord(self._topics.scores_latest, key, value, headers))
        out.extend(
            OutRecord(self._topics.alerts, key, alert.model_dump_json().encode())
            for alert in outcome.alerts
        )
        return out

    def _erase(self, work: _Batch, inp: ScoringInput) -> list[OutRecord]:
        signal = inp.signal
        if signal.event_id in work.erased_before:
            return []  # a re-sent erasure request: done already
        work.erased_before.add(signal.event_id)
        work.forget(signal.customer_id)
        completed = erasure_completed(inp, self._clock())
        work.erasures.append(
            {
                "event_id": signal.event_id,
                "request_id": completed.request_id,
                "requested_at": completed.requested_at,
                "completed_at": completed.completed_at,
            }
        )
        key = signal.customer_id.encode()
        log.info("erased customer state on request %s", completed.request_id)
        return [
            OutRecord(self._topics.scores_latest, key, None),  # tombstone
            OutRecord(self._topics.erasure_completed, key, completed.model_dump_json().encode()),
        ]

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


def open_store(database_url: str, config: ScoringConfig) -> Engine:
    """An engine on a migrated database whose states match ``config`` (else ``FatalError``)."""
    engine = store.make_engine(database_url)
    store.migrate(engine)
    store.check_config(engine, config.content_hash)
    return engine


def build_handler(settings: Settings, config: ScoringConfig | None = None) -> ScoringHandler:
    config = config or ScoringConfig.load(settings.scoring_config)
    return ScoringHandler(open_store(settings.database_url, config), settings.topics, config)


def _readiness(settings: Settings) -> dict[str, Callable[[], bool]]:
    engines: list[Engine] = []

    def database_reachable() -> bool:
        if not engines:
            engines.append(store.make_engine(settings.database_url))
        return store.ping(engines[0])

    return {"database_reachable": database_reachable}


def output_topics(settings: Settings) -> list[str]:
    topics = settings.topics
    return [topics.score_updates, topics.scores_latest, topics.alerts, topics.erasure_completed]


SPEC = ServiceSpec(
    name=NAME,
    default_port=9103,
    input_topics=lambda s: [s.topics.annotated],
    output_topics=output_topics,
    build_handler=build_handler,
    readiness=_readiness,
    topic_configs=lambda s: {s.topics.scores_latest: dict(LATEST_TOPIC_CONFIG)},
)
