"""Scoring: annotated topic -> database state -> score updates, latest scores, alerts, erasure
notices; exactly once.

The protocol, per partition batch (``docs/scoring.md`` has the sequence diagram):

1. In one database transaction: lock the partition's ``applied_offsets`` row; prune the outbox
   below the batch's first offset; skip records below the applied offset (an earlier attempt
   applied them but crashed before its Kafka commit); apply the rest (bulk-load the batch's
   customers, or reuse the records this instance committed while their stored version still
   matches; fold in offset order, write states, history, processed event ids, alerts) and
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
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from sqlalchemy import Engine, bindparam, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from schemas import Alert, AlertState, AnnotatedEvent, ScoreUpdate
from schemas.base import ACCEPTED_EVENTS_POLICY
from schemas.identity import DEFAULT_TENANT
from schemas.validation import RejectReason, describe_validation_error
from services.runtime.erasure import destroy_and_receipt
from services.runtime.exceptions import (
    ConfigurationError,
    PermanentError,
    StateConflictError,
    TransientError,
)
from services.runtime.handlers import with_origin
from services.runtime.health import ReadinessCheck
from services.runtime.kafka_io import TopicCatalog
from services.runtime.kafka_security import client_security
from services.runtime.policy import ErrorPolicy
from services.runtime.records import InRecord, OutRecord, PartitionBatch, TopicPartition
from services.runtime.service import ServiceSpec
from services.runtime.settings import ScoringLimits, Settings, Tenancy, Topics
from services.scoring import metrics as scoring_metrics
from services.scoring import store
from services.scoring.domain import (
    CustomerRecord,
    Outcome,
    erased_before,
    erasure_completed,
    erasure_mark,
    score_event,
)
from services.scoring.input_checks import check_ranges
from services.scoring.model import Scores, ScoringConfig, StateMismatchError
from services.scoring.signals import ScoringInput, to_input
from services.scoring.watermark import (
    TICK,
    IdleTicker,
    applied_record,
    next_review_us,
    read_tick,
    review_until,
    watermark_after,
)

NAME = "scoring"
CONFIG_HASH_HEADER: Final = "rapport.scoring.config-hash"
# What store.erase_customers deletes from, for the erasure receipt.
LATEST_TOPIC_CONFIG: Final = {"cleanup.policy": "compact"}
"""The latest-scores topic keeps the latest record per customer (and tombstones of erasures)."""
UNKNOWN_TENANT: Final = "unknown_tenant"
"""Dead-letter reason: with topics per tenant, an event of a tenant without its own topics."""
log = logging.getLogger(__name__)
Who = store.Who

Clock = Callable[[], datetime]
TopicIds = Callable[[bool], dict[str, str]]
"""Topic name -> KIP-516 topic id of the topics on the broker (True: ask the broker now)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _alert_row(tenant: str, alert: Alert) -> dict[str, Any]:
    return {
        "tenant": tenant,
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


def _resolution(tenant: str, alert: Alert) -> dict[str, Any]:
    return {
        "b_tenant": tenant,
        "b_alert_id": alert.alert_id,
        "b_resolved_at": alert.resolved_at,
        "b_resolved_by": alert.caused_by_event_id,
        "b_resolution": alert.message,
    }


_RESOLVE = (
    update(store.alerts)
    .where(
        store.alerts.c.tenant == bindparam("b_tenant"),
        store.alerts.c.alert_id == bindparam("b_alert_id"),
    )
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

    records: dict[Who, CustomerRecord]
    seen: set[store.EventOf]
    erased_before: set[tuple[str, str]]
    """(tenant, event id) of erasure requests already completed."""
    dirty: dict[Who, tuple[Scores, str]] = field(default_factory=dict)
    erased: set[Who] = field(default_factory=set)
    history: list[dict[str, Any]] = field(default_factory=list)
    processed: list[dict[str, Any]] = field(default_factory=list)
    raised: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(tenant, alert id) -> the alert's row."""
    resolved: list[dict[str, Any]] = field(default_factory=list)
    erasures: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    clock: store.PartitionClock = field(default_factory=lambda: store.PartitionClock(None, None))
    reviews: dict[Who, int | None] = field(default_factory=dict)
    """Review times of the customers this batch touched (the stored ones are stale)."""
    stored_next_us: int | None = None
    """A lower bound of the stored review times the batch has not read yet."""
    prefetched: dict[Who, int] = field(default_factory=dict)
    """Stored review times read ahead (those of customers in ``reviews`` are stale)."""
    hashes: dict[Who, str] = field(default_factory=dict)
    """(tenant, customer) -> keyed hash (``store.erased``), for the batch's customers."""
    erased_at: dict[Who, int] = field(default_factory=dict)
    """(tenant, customer) -> time of their last erasure, for erased customers of the batch."""
    newly_erased: set[Who] = field(default_factory=set)
    processed_limit: int | None = None
    """``publishing.processed_ids_limit`` (None: unbounded, a rebuild's or tool's batch)."""
    stored: dict[Who, int] = field(default_factory=dict)
    """Stored review times of the batch's customers (those in ``reviews`` are newer)."""

    def forget(self, who: Who) -> None:
        """An erasure: drop what this batch was about to write for the customer."""

        def other(row: Mapping[str, Any]) -> bool:
            return (row["tenant"], row["customer_id"]) != who

        self.erased.add(who)
        self.dirty.pop(who, None)
        self.history = [r for r in self.history if other(r)]
        self.processed = [r for r in self.processed if other(r)]
        self.raised = {k: r for k, r in self.raised.items() if other(r)}
        self.resolved = [r for r in self.resolved if r["b_who"] != who]
        self.seen = {key for key in self.seen if key[:2] != who}
        erased = self.records[who]
        self.records[who] = replace(CustomerRecord.empty(who[1]), key_tenant=erased.key_tenant)
        self.reviews[who] = None

    def add_alerts(self, tenant: str, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            if alert.state is AlertState.RAISED:
                self.raised[(tenant, alert.alert_id)] = _alert_row(tenant, alert)
                continue
            pending = self.raised.get((tenant, alert.alert_id))
            if pending is not None:  # raised and resolved within this batch
                pending.update(
                    state=AlertState.RESOLVED.value,
                    resolved_at=alert.resolved_at,
                    resolved_by_event_id=alert.caused_by_event_id,
                    resolution=alert.message,
                )
            else:
                self.resolved.append(
                    _resolution(tenant, alert) | {"b_who": (tenant, alert.customer_id)}
                )

    def write(self, conn: Connection, history_limit: int) -> None:
        # Erasures first: rows this batch writes afterwards belong to the fresh state.
        if self.erased:
            store.erase_customers(conn, self.erased)
        store.insert_rows(conn, store.processed_events, self.processed)
        self._bound_processed(conn)
        store.save_states(
            conn,
            [
                store.state_row(who[0], self.records[who], scores, event_id)
                for who, (scores, event_id) in sorted(self.dirty.items())
            ],
        )
        store.save_trackers(conn, {who: self.records[who].tracker for who in self.dirty})
        store.insert_rows(conn, store.score_history, self.history)
        # A customer has at most one history row per event: only those with more events than
        # the bound can have rows to prune (one narrow delete each).
        store.prune_history(
            conn,
            [c for c in self.dirty if self.records[c].state.event_count > history_limit],
            history_limit,
        )
        store.insert_rows(conn, store.alerts, list(self.raised.values()))
        if self.resolved:
            conn.execute(
                _RESOLVE,
                [{k: v for k, v in r.items() if k != "b_who"} for r in self.resolved],
            )
        store.insert_rows(conn, store.erasures, self.erasures)
        for tenant in sorted({tenant for tenant, _ in self.newly_erased}):
            erased = {w: self.erased_at[w] for w in self.newly_erased if w[0] == tenant}
            store.save_erased(conn, tenant, {self.hashes[w]: at for w, at in erased.items()})
        store.add_outbox(conn, self.outbox)

    def _bound_processed(self, conn: Connection) -> None:
        """At most about ``processed_limit`` processed ids per customer (the newest by event
        time); the customer's tracker remembers up to when ids were forgotten."""
        limit = self.processed_limit
        if limit is None:
            return
        # Only customers with new ids in this batch: a time review adds none to prune.
        added = {(row["tenant"], row["customer_id"]) for row in self.processed}
        over = [c for c in sorted(added) if self.records[c].state.event_count > limit]
        for customer, bound in store.prune_processed(conn, over, limit).items():
            record = self.records[customer]
            tracker = record.tracker
            until = max(bound, tracker.ids_forgotten_until_us or bound)
            self.records[customer] = replace(
                record, tracker=replace(tracker, ids_forgotten_until_us=until)
            )

    def write_clock(self, conn: Connection, tp: TopicPartition) -> None:
        # After ``write``'s erasures, which delete the erased customers' review rows.
        store.save_schedule(conn, tp.partition, self.reviews)
        store.set_partition_clock(conn, tp, self.clock)


REVIEW_PREFETCH_US: Final = 86_400_000_000
"""How far ahead of the watermark stored review times are read at once (one day)."""
RECORD_CACHE_SIZE: Final = 20_000
"""Customer records an instance keeps in memory between batches (a few kB each)."""


class _RecordCache:
    """Customer records as this instance last committed them, with their stored version.

    Loading a record (its state row and alert tracker, JSON included) costs more than scoring
    an event; a customer's events usually come in several batches. A cached record is used only
    while the stored version still matches it, read in the batch's own transaction: anything
    else that wrote the customer since (another instance after a rebalance, an erasure, a
    rebuild) changed the version, and the record is loaded afresh. Updated only after a commit.
    """

    def __init__(self, size: int = RECORD_CACHE_SIZE) -> None:
        self._size = size
        self._records: dict[Who, tuple[store.RecordVersion, CustomerRecord]] = {}

    def load(self, conn: Connection, customers: Collection[Who]) -> dict[Who, CustomerRecord]:
        versions = store.record_versions(conn, customers)
        found: dict[Who, CustomerRecord] = {}
        missing = []
        for customer in customers:
            cached = self._records.get(customer)
            if cached is not None and cached[0] == versions.get(customer):
                found[customer] = cached[1]
            else:
                missing.append(customer)
        found.update(store.load_records(conn, missing))
        return found

    def keep(self, work: _Batch) -> None:
        """The records a committed batch wrote (erased customers are dropped)."""
        records = self._records
        for customer in work.erased:
            records.pop(customer, None)
        for customer, (_, event_id) in work.dirty.items():
            record = work.records[customer]
            records.pop(customer, None)  # re-inserted last: the oldest go first
            records[customer] = ((record.state.event_count, event_id), record)
        while len(records) > self._size:
            del records[next(iter(records))]


class ScoringHandler:
    """The scoring service's batch handler: the protocol above, each record under the runtime's
    error policy (a record that cannot be scored is a dead letter in the outbox, like any
    output)."""

    def __init__(
        self,
        engine: Engine,
        topics: Topics,
        config: ScoringConfig,
        clock: Clock = _now,
        *,
        policy: ErrorPolicy | None = None,
        limits: ScoringLimits | None = None,
        topic_ids: TopicIds | None = None,
        durable: bool = True,
        tenancy: Tenancy | None = None,
    ) -> None:
        self._engine = engine
        self._topics = topics
        self._tenancy = tenancy or Tenancy()
        self._config = config
        self._clock = clock
        self._policy = policy or ErrorPolicy(NAME, topics.dead_letter)
        self._limits = limits or ScoringLimits()
        self._topic_ids = topic_ids
        self._verified: set[TopicPartition] = set()
        self._warned_currencies: set[str] = set()
        self._durable = durable
        self._records = _RecordCache()
        self._ticker = IdleTicker(self._limits.idle_tick_seconds)
        configured = self._limits.erasure_hash_key
        self._configured_hash_key = (
            None if configured is None else configured.get_secret_value().encode()
        )
        self._hash_key: bytes | None = None

    @property
    def engine(self) -> Engine:
        return self._engine

    def register_metrics(self, registry: CollectorRegistry) -> None:
        # Database latency, outbox size, durability and the business view (metrics.py).
        scoring_metrics.register(self._engine, registry, NAME, durable=self._durable)

    def reset_partitions(self, partitions: Collection[TopicPartition]) -> None:
        # Re-assigned or rewound: check the topic's identity afresh before the next batch.
        self._verified.difference_update(partitions)

    def periodic_records(self, assigned: Collection[TopicPartition]) -> list[OutRecord]:
        """Tick records for the assigned annotated partitions idle for ``idle_tick_seconds``
        (the runner writes them to the ticks topic; ``watermark.py`` explains why they are
        records)."""
        annotated = [tp for tp in assigned if tp.topic == self._topics.annotated]
        return self._ticker.due(annotated, self._clock(), self._topics.scoring_ticks)

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
        if batch.tp.topic == self._topics.annotated:
            self._ticker.saw(batch.tp, self._clock())
        # The first batch of a partition after an assignment or a rewind asks the broker for the
        # topic's id and checks it against every partition of the topic the database knows (a
        # recreated topic shows on a partition never seen before too); later batches compare
        # the id cached for 10 s with their own partition's row, which they read anyway.
        first = batch.tp not in self._verified
        topic_id = None
        if self._topic_ids is not None:
            topic_id = self._topic_ids(first).get(batch.tp.topic) or None
        with self._transaction(), self._engine.begin() as conn:
            if first and topic_id:
                for known in store.topic_ids_of(conn, batch.tp.topic):
                    store.verify_topic(store.Applied(0, known), batch.tp, topic_id)
            applied = store.lock_partition(conn, batch.tp)
            store.verify_topic(applied, batch.tp, topic_id)
            store.prune_outbox(conn, batch.tp, below=batch.first_offset)
            fresh = [r for r in batch.records if r.offset >= applied.next_offset]
            # The outputs of records an earlier attempt applied are read back from the outbox;
            # those of the fresh ones are the rows just written (no need to read them back).
            outputs = []
            if batch.first_offset < applied.next_offset:
                last_applied = min(applied.next_offset, batch.next_offset) - 1
                outputs = store.outbox_records(conn, batch.tp, batch.first_offset, last_applied)
            work = None
            if fresh and batch.tp.topic == self._topics.scoring_ticks:
                work = self._apply_ticks(conn, batch.tp, fresh)
            elif fresh:
                work = self._apply(conn, batch.tp, fresh)
            if work is not None:
                outputs += store.records_of(work.outbox)
            if fresh or (topic_id and not applied.topic_id):
                next_offset = max(applied.next_offset, batch.next_offset)
                store.set_applied(conn, batch.tp, next_offset, topic_id)
        if work is not None:
            self._records.keep(work)
        self._verified.add(batch.tp)
        return outputs

    def persist_dead_letter(self, record: InRecord, letter: OutRecord) -> list[OutRecord]:
        """A record the runtime isolated as failing its whole batch: its dead letter goes
        through the outbox, and the record counts as applied, in one database transaction."""
        with self._transaction(), self._engine.begin() as conn:
            applied = store.lock_partition(conn, record.tp)
            if record.offset >= applied.next_offset:
                rows = store.outbox_rows(record.tp, record.offset, [with_origin(letter, record)])
                store.add_outbox(conn, rows)
                store.set_applied(conn, record.tp, record.offset + 1)
            return store.outbox_records(conn, record.tp, record.offset, record.offset)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Database errors in the runtime's terms: unavailable is transient, anything else about
        the batch is the runtime's to isolate record by record."""
        try:
            yield
        except StateMismatchError as exc:
            # A deployment error (instances with different configurations), not bad input.
            raise StateConflictError(f"{exc}; run `rapport scores rebuild --apply`") from exc
        except OperationalError as exc:
            raise TransientError(f"database unavailable: {exc.orig!r}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise TransientError(f"database connection lost: {exc.orig!r}") from exc
            raise

    # -- one batch -------------------------------------------------------------------------

    def _tenant(self, inp: ScoringInput) -> str:
        return self._tenancy.tenant_of(inp.tenant_id)

    def _config_of(self, tenant: str) -> ScoringConfig:
        """The configuration of a tenant's customers (its overrides, multi-tenant only)."""
        return self._config.for_tenant(self._tenancy.key_tenant(tenant))

    def _topics_of(self, tenant: str) -> Topics:
        if self._tenancy.topics_per_tenant:
            return self._topics.for_tenant(tenant)
        return self._topics

    def _parse(self, record: InRecord) -> ScoringInput:
        try:
            annotated = AnnotatedEvent.model_validate_json(
                record.value or b"", context=ACCEPTED_EVENTS_POLICY.context()
            )
        except ValidationError as exc:
            raise PermanentError(
                RejectReason.SCHEMA_VIOLATION, describe_validation_error(exc)
            ) from exc
        tenant = self._tenancy.tenant_of(annotated.event.tenant_id)
        if self._tenancy.topics_per_tenant and tenant not in self._tenancy.tenants:
            raise PermanentError(
                UNKNOWN_TENANT,
                f"tenant {tenant!r} has no output topics of its own (RAPPORT_TENANCY__TENANTS "
                "lists the tenants; replay the dead letter after adding it)",
            )
        inp = to_input(annotated, self._config_of(tenant))
        check_ranges(inp, record.timestamp_ms, self._limits)
        currency = inp.unconverted_currency
        if currency is not None and currency not in self._warned_currencies:
            self._warned_currencies.add(currency)
            log.warning(
                "no exchange rate for %s in scoring.yaml: its amounts carry no spend evidence",
                currency,
            )
        return inp

    def _apply(self, conn: Connection, tp: TopicPartition, records: list[InRecord]) -> _Batch:
        """Apply fresh records; return what was written (the outbox rows in offset order)."""
        parsed = [(r, self._policy.attempt(r, partial(self._parse, r))) for r in records]
        inputs = [inp for _, inp in parsed if isinstance(inp, ScoringInput)]
        tenant = self._tenant
        keys = {
            (tenant(i), i.signal.customer_id, i.signal.event_id) for i in inputs if not i.is_erasure
        }
        customers = {(tenant(i), i.signal.customer_id) for i in inputs}
        work = _Batch(
            records=self._load(conn, customers),
            seen=store.processed_among(conn, keys),
            erased_before=store.erasures_among(
                conn, {(tenant(i), i.signal.event_id) for i in inputs if i.is_erasure}
            ),
            clock=store.partition_clock_of(conn, tp),
            processed_limit=self._config.publishing.processed_ids_limit,
        )
        # At a batch's start every review time is stored: the partition's next due is theirs.
        work.stored_next_us = work.clock.next_due_us
        self._erased_of(conn, work, customers)
        work.stored = store.reviews_of(conn, customers)
        for record, item in parsed:
            seen_us: int | None = None
            if isinstance(item, OutRecord):
                outputs = [item]
            elif item.is_erasure:
                outputs = self._policy.run(record, partial(self._erase, work, item))
            else:
                # Reviews due by the event's time first, at their own times, as a watermark
                # would have applied them had it got there first: the same outputs either way.
                outputs = self._reviews_before(work, item)
                outputs += self._policy.run(record, partial(self._score, work, item))
                seen_us = item.signal.occurred_us
            if seen_us is not None:
                # The watermark's time updates go out under the record that moved it.
                outputs = outputs + self._advance_watermark(conn, tp, work, seen_us)
            work.outbox += store.outbox_rows(
                tp, record.offset, [with_origin(out, record) for out in outputs]
            )
        work.write(conn, self._config.publishing.history_limit)
        work.write_clock(conn, tp)
        return work

    def _apply_ticks(self, conn: Connection, tp: TopicPartition, records: list[InRecord]) -> _Batch:
        """Apply fresh records of the ticks topic: each tick moves its annotated partition's
        watermark where that partition stands (its applied offset, read under the partition's
        lock), and its outputs end with the ``applied`` record saying where: the log a
        replay or a rebuild follows. ``applied`` records (this handler's own outputs, read
        back) and malformed ones do nothing."""
        done = _Batch(records={}, seen=set(), erased_before=set())
        for record in records:
            tick = read_tick(record)
            outputs: list[OutRecord] = []
            if tick is not None and tick.kind == TICK:
                annotated = TopicPartition(self._topics.annotated, tick.partition)
                position = store.lock_partition(conn, annotated).next_offset
                work, outputs = self.apply_tick(conn, annotated, tick.tick_us)
                if work is not None:
                    outputs.append(applied_record(tp.topic, tick.partition, position, tick.tick_us))
                    done.records.update(work.records)
                    done.dirty.update(work.dirty)
            done.outbox += store.outbox_rows(
                tp, record.offset, [with_origin(out, record) for out in outputs]
            )
        store.add_outbox(conn, done.outbox)
        return done

    def apply_tick(
        self, conn: Connection, annotated: TopicPartition, tick_us: int
    ) -> tuple[_Batch | None, list[OutRecord]]:
        """Move ``annotated``'s watermark to a tick's time and write what follows (None: the
        watermark did not move, the tick changes nothing). Also what a rebuild calls at the
        position an ``applied`` record names."""
        clock = store.partition_clock_of(conn, annotated)
        if watermark_after(clock.watermark_us, tick_us, self._config) == clock.watermark_us:
            return None, []
        work = _Batch(records={}, seen=set(), erased_before=set(), clock=clock)
        work.stored_next_us = clock.next_due_us
        outputs = self._advance_watermark(conn, annotated, work, tick_us)
        work.write(conn, self._config.publishing.history_limit)
        work.write_clock(conn, annotated)
        return work, outputs

    def replay_tick(self, annotated: TopicPartition, tick_us: int) -> None:
        """Apply a tick in its own transaction, outputs discarded (a rebuild's fold)."""
        with self._transaction(), self._engine.begin() as conn:
            store.lock_partition(conn, annotated)
            work, _ = self.apply_tick(conn, annotated, tick_us)
        if work is not None:
            self._records.keep(work)

    def _advance_watermark(
        self, conn: Connection, tp: TopicPartition, work: _Batch, seen_us: int
    ) -> list[OutRecord]:
        """Move the partition's watermark to a record's event time; when it reaches the
        partition's next review time, advance every customer due (``advance_to``) and publish
        their time updates. Cheap per record: a comparison unless a review falls due, then
        at most one index range read (a day ahead). A pure function of the partition's
        records in offset order (batch boundaries do not matter), so replay and rebuild
        reproduce it."""
        clock = work.clock
        watermark = watermark_after(clock.watermark_us, seen_us, self._config)
        if watermark == clock.watermark_us:
            return []
        if clock.next_due_us is None or watermark < clock.next_due_us:
            work.clock = store.PartitionClock(watermark, clock.next_due_us)
            return []
        touched = work.reviews
        prefetched = work.prefetched
        stored_next = work.stored_next_us
        if stored_next is not None and stored_next <= watermark:
            # A stored review time is reached: one index range read of the stored review
            # times up to a day ahead, so that the next steps of the watermark need none.
            horizon = watermark + REVIEW_PREFETCH_US
            ahead = store.reviews_until(conn, tp.partition, horizon)
            prefetched.update(ahead)
            stored_next = work.stored_next_us = horizon + 1  # the rest are later
            # Their records too, in one read: most come due within the day, and a read per
            # watermark step costs more than the few records loaded early.
            unread = ahead.keys() - work.records.keys() - touched.keys()
            if unread:
                work.records.update(self._load(conn, unread))
        due = {c for c, at in touched.items() if at is not None and at <= watermark}
        due.update(c for c, at in prefetched.items() if at <= watermark and c not in touched)
        missing = due - work.records.keys()
        if missing:
            work.records.update(self._load(conn, missing))
        outputs: list[OutRecord] = []
        for customer in sorted(due):
            review = touched[customer] if customer in touched else prefetched[customer]
            outputs += self._review(work, customer, review, watermark)
        # Every review time is now after the watermark: the batch's own (in memory), those
        # read ahead, and the other stored ones (after ``stored_next``).
        candidates = [at for at in touched.values() if at is not None]
        candidates += [at for c, at in prefetched.items() if c not in touched]
        if stored_next is not None:
            candidates.append(stored_next)
        work.clock = store.PartitionClock(watermark, min(candidates) if candidates else None)
        return outputs

    def _reviews_before(self, work: _Batch, inp: ScoringInput) -> list[OutRecord]:
        who = (self._tenant(inp), inp.signal.customer_id)
        review = work.reviews[who] if who in work.reviews else work.stored.get(who)
        if review is None or review > inp.signal.occurred_us:
            return []
        return self._review(work, who, review, inp.signal.occurred_us)

    def _review(
        self, work: _Batch, who: Who, review_us: int | None, until_us: int
    ) -> list[OutRecord]:
        """The customer's reviews due by ``until_us`` (``watermark.review_until``), published."""
        tenant = who[0]
        config = self._config_of(tenant)
        record, published, after = review_until(work.records[who], review_us, until_us, config)
        outputs: list[OutRecord] = []
        for outcome in published:
            update = outcome.update
            assert update is not None  # review_until returns published outcomes only
            work.dirty[who] = (outcome.after, update.caused_by_event_id)
            work.add_alerts(tenant, outcome.alerts)
            outputs += self._publish(tenant, [update], outcome.alerts, config)
        work.records[who] = record
        work.reviews[who] = after
        return outputs

    def _load(self, conn: Connection, customers: Collection[Who]) -> dict[Who, CustomerRecord]:
        loaded = self._records.load(conn, customers)
        return {who: self._with_key_tenant(who, record) for who, record in loaded.items()}

    def _with_key_tenant(self, who: Who, record: CustomerRecord) -> CustomerRecord:
        key_tenant = self._tenancy.key_tenant(who[0])
        return record if record.key_tenant == key_tenant else replace(record, key_tenant=key_tenant)

    def _erased_of(self, conn: Connection, work: _Batch, customers: Collection[Who]) -> None:
        """The keyed hashes of the batch's customers, and the erasure times of erased ones."""
        if self._hash_key is None:
            self._hash_key = store.erasure_hash_key(conn, self._configured_hash_key)
        key = self._hash_key
        work.hashes = {who: erasure_mark(who[1], key, who[0]) for who in customers}
        for tenant in sorted({tenant for tenant, _ in customers}):
            by_hash = {digest: who for who, digest in work.hashes.items() if who[0] == tenant}
            found = store.erased_at_of(conn, tenant, by_hash)
            work.erased_at.update({by_hash[digest]: at for digest, at in found.items()})

    def _score(self, work: _Batch, inp: ScoringInput) -> list[OutRecord]:
        signal = inp.signal
        tenant = self._tenant(inp)
        customer = (tenant, signal.customer_id)
        key = (tenant, signal.customer_id, signal.event_id)
        if key in work.seen:
            return []  # a duplicate event id never counts twice
        occurred = signal.occurred_us
        forgotten = work.records[customer].tracker.ids_forgotten_until_us
        if forgotten is not None and occurred <= forgotten:
            # Older than the customer's remembered ids (``processed_ids_limit``): it may be a
            # duplicate no longer recognisable, and nothing may count twice.
            log.debug("refused an event older than the customer's remembered ids")
            return []
        erased_at = work.erased_at.get(customer)
        if erased_before(signal, erased_at):
            # Erasure is final: an event dated before it (re-sent, late) is dropped, not a
            # dead letter (nothing is wrong with it) and not kept anywhere.
            log.debug("dropped an event dated before its customer's erasure")
            return []
        record = work.records[customer]
        if erased_at is not None and record.state.as_of_us is None:
            # Back after an erasure: alert ids of their own (``alerts.alert_id``).
            tracker = replace(record.tracker, erased_before_us=erased_at)
            record = replace(record, tracker=tracker)
        config = self._config_of(tenant)
        outcome = score_event(record, inp, config)
        outputs = self._outputs(tenant, outcome, config)
        # Before anything is kept: outputs that cannot be published make the event a dead
        # letter, and a dead letter must leave no state behind.
        self._policy.check_sizes(outputs)
        work.seen.add(key)
        work.records[customer] = outcome.record
        work.dirty[customer] = (outcome.scores, signal.event_id)
        work.processed.append(
            {
                "tenant": tenant,
                "customer_id": signal.customer_id,
                "event_id": signal.event_id,
                "occurred_us": occurred,
            }
        )
        work.history.append(self._history_row(tenant, inp, outcome))
        work.add_alerts(tenant, outcome.alerts)
        review = next_review_us(outcome.record, config)
        work.reviews[customer] = review
        due = work.clock.next_due_us
        if review is not None and (due is None or review < due):
            work.clock = store.PartitionClock(work.clock.watermark_us, review)
        return outputs

    def _history_row(self, tenant: str, inp: ScoringInput, outcome: Outcome) -> dict[str, Any]:
        scores = outcome.scores
        explanation = outcome.explanation
        return {
            "tenant": tenant,
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

    def _outputs(self, tenant: str, outcome: Outcome, config: ScoringConfig) -> list[OutRecord]:
        # Time first (deadlines passed before the event: reason "time"), then the event's
        # update unless publishing.material_only holds it back, then the alerts.
        time = outcome.time
        published = [] if time is None or time.update is None else [time.update]
        if outcome.publish:
            published.append(outcome.update)
        return self._publish(tenant, published, outcome.alerts, config)

    def _publish(
        self,
        tenant: str,
        published: Sequence[ScoreUpdate],
        alerts: Sequence[Alert],
        config: ScoringConfig,
    ) -> list[OutRecord]:
        if not published and not alerts:
            return []
        customer = (published[0] if published else alerts[0]).customer_id
        key = self._tenancy.customer_key(tenant, customer)
        headers = [(CONFIG_HASH_HEADER, config.content_hash.encode())]
        topics = self._topics_of(tenant)
        out = []
        for score_update in published:
            value = score_update.model_dump_json().encode()
            out.append(OutRecord(topics.score_updates, key, value, headers))
            out.append(OutRecord(topics.scores_latest, key, value, headers))
        out.extend(
            OutRecord(topics.alerts, key, alert.model_dump_json().encode()) for alert in alerts
        )
        return out

    def _erase(self, work: _Batch, inp: ScoringInput) -> list[OutRecord]:
        signal = inp.signal
        tenant = self._tenant(inp)
        if (tenant, signal.event_id) in work.erased_before:
            return []  # a re-sent erasure request: done already
        work.erased_before.add((tenant, signal.event_id))
        customer = (tenant, signal.customer_id)
        work.forget(customer)
        # Final: events dated up to the request are dropped from now on (the latest request).
        work.erased_at[customer] = max(signal.occurred_us, work.erased_at.get(customer, 0))
        work.newly_erased.add(customer)
        # Issue 12: the customer's dead-letter keys go too, and the receipt says what went where.
        completed = destroy_and_receipt(
            erasure_completed(inp, self._clock()),
            self._policy.sealer,
            self._topics,
            database_tables=tuple(t.name for t in store.ERASED_TABLES),
            tombstones=(self._topics_of(tenant).scores_latest,),
        )
        work.erasures.append(
            {
                "tenant": tenant,
                "event_id": signal.event_id,
                "request_id": completed.request_id,
                "requested_at": completed.requested_at,
                "completed_at": completed.completed_at,
            }
        )
        key = self._tenancy.customer_key(tenant, signal.customer_id)
        log.info("erased customer state on request %s", completed.request_id)
        return [
            OutRecord(self._topics_of(tenant).scores_latest, key, None),  # tombstone
            OutRecord(self._topics.erasure_completed, key, completed.model_dump_json().encode()),
        ]


def open_store(
    database_url: str, config: ScoringConfig, default_tenant: str = DEFAULT_TENANT
) -> Engine:
    """An engine on a migrated database whose states match ``config``. ``TransientError`` while
    the database cannot be reached (start-up waits); ``ConfigurationError`` for a bad URL."""
    try:
        engine = store.make_engine(database_url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigurationError(f"RAPPORT_DATABASE_URL is not usable: {exc}") from exc
    try:
        store.migrate(engine, default_tenant=default_tenant)
        store.check_config(engine, config.content_hash)
    except OperationalError as exc:
        engine.dispose()
        raise TransientError(f"database unreachable: {exc.orig!r}") from exc
    return engine


def require_durable(engine: Engine, *, accept_non_durable: bool) -> bool:
    """Whether the database acknowledges commits durably; ``ConfigurationError`` when it does
    not and the operator has not accepted that."""
    try:
        problems = store.durability_problems(engine)
    except OperationalError as exc:
        raise TransientError(f"database unreachable: {exc.orig!r}") from exc
    if problems and not accept_non_durable:
        raise ConfigurationError(
            "the database does not acknowledge commits durably ("
            + "; ".join(problems)
            + "): a crash of it would lose scoring state whose Kafka offsets are committed. "
            "Fix its configuration, or set RAPPORT_ACCEPT_NON_DURABLE_DATABASE=true to accept "
            "the risk (docs/operations.md)"
        )
    if problems:
        log.warning(
            "running exactly-once on a non-durable database (%s): accepted by "
            "RAPPORT_ACCEPT_NON_DURABLE_DATABASE; a database crash can lose applied events",
            "; ".join(problems),
        )
    return not problems


def build_handler(
    settings: Settings, policy: ErrorPolicy | None = None, config: ScoringConfig | None = None
) -> ScoringHandler:
    config = config or ScoringConfig.load(settings.scoring_config)
    engine = open_store(settings.database_url, config, settings.tenancy.default_tenant)
    durable = require_durable(engine, accept_non_durable=settings.accept_non_durable_database)
    catalog = (
        TopicCatalog(settings.kafka_bootstrap_servers, **client_security(settings))
        if settings.kafka_bootstrap_servers
        else None
    )
    return ScoringHandler(
        engine,
        settings.topics,
        config,
        policy=policy,
        limits=settings.scoring,
        topic_ids=catalog.topic_ids if catalog else None,
        durable=durable,
        tenancy=settings.tenancy,
    )


def _readiness(settings: Settings) -> dict[str, ReadinessCheck]:
    engines: list[Engine] = []

    def database_reachable() -> bool | str:
        if not engines:
            engines.append(store.make_engine(settings.database_url))
        try:
            return store.ping(engines[0])
        except DBAPIError as exc:
            return f"database unreachable: {exc.orig!r}"

    return {"database_reachable": database_reachable}


def _published_topics(settings: Settings) -> list[Topics]:
    """The topic sets scoring publishes to: one, or one per tenant (``topics_per_tenant``)."""
    tenancy = settings.tenancy
    if tenancy.topics_per_tenant:
        return [settings.topics.for_tenant(tenant) for tenant in tenancy.tenants]
    return [settings.topics]


def output_topics(settings: Settings) -> list[str]:
    names = [
        name
        for topics in _published_topics(settings)
        for name in (topics.score_updates, topics.scores_latest, topics.alerts)
    ]
    return [*names, settings.topics.erasure_completed, settings.topics.scoring_ticks]


def _topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    return {t.scores_latest: dict(LATEST_TOPIC_CONFIG) for t in _published_topics(settings)}


SPEC = ServiceSpec(
    name=NAME,
    default_port=9103,
    input_topics=lambda s: [s.topics.annotated, s.topics.scoring_ticks],
    output_topics=output_topics,
    build_handler=build_handler,
    readiness=_readiness,
    topic_configs=_topic_configs,
)
