"""A downstream team's own view of Rapport's published topics, kept in memory.

It reads ``rapport.scores.latest`` (compacted: every customer's current score, a tombstone per
erased customer), ``rapport.score-updates`` (the history) and ``rapport.alerts`` from the
beginning, exactly as any subscriber would (read_committed, no consumer group, no database), so
a restart rebuilds the same view. The console, ``rapport watch`` and ``rapport simulate``'s
ranking all read through it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from schemas.downstream import Alert, AlertState, ScoreUpdate
from schemas.identity import TENANT_SEPARATOR, parse_customer_key
from services.runtime.kafka_security import client_security
from services.runtime.settings import Settings, Topics

# How often the subscription looks for partitions added to its topics since it assigned them.
_PARTITION_CHECK_SECONDS = 30.0

HISTORY_PER_CUSTOMER = 500
ALERT_FEED = 1000
RECENT_UPDATES = 2000


@dataclass(frozen=True)
class FeedAlert:
    seq: int
    """Arrival order in this view: the live feed asks for everything after the last it saw."""
    alert: Alert


_Named = TypeVar("_Named", ScoreUpdate, Alert)


def tenant_qualified_id(key: bytes | None) -> str | None:
    """``tenant|customer`` when the record key names a tenant (multi-tenant deployments)."""
    if key is not None and TENANT_SEPARATOR.encode() in key:
        return key.decode()
    return None


def named_by_key(key: bytes | None, record: _Named) -> _Named:
    """The record with its customer named as in its key, so that a view of several tenants
    keeps two tenants' customers of the same id apart (issue 16)."""
    identity = tenant_qualified_id(key)
    if identity is None or identity == record.customer_id:
        return record
    return record.model_copy(update={"customer_id": identity})


@dataclass
class CustomerRecord:
    latest: ScoreUpdate | None = None
    history: deque[ScoreUpdate] = field(default_factory=lambda: deque(maxlen=HISTORY_PER_CUSTOMER))
    alerts: dict[str, Alert] = field(default_factory=dict)


SORT_KEYS: dict[str, Callable[[ScoreUpdate], object]] = {
    "customer": lambda u: u.customer_id,
    "trust": lambda u: u.trust,
    "loyalty": lambda u: u.loyalty,
    "churn_risk": lambda u: u.churn_risk,
    "segment": lambda u: u.segment.value,
    "score": lambda u: u.score,
    "as_of": lambda u: u.as_of,
}


class ScoreView:
    """Thread-safe: one consumer thread applies records, HTTP threads read."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self._lock = threading.Lock()
        self._customers: dict[str, CustomerRecord] = {}
        self._feed: deque[FeedAlert] = deque(maxlen=ALERT_FEED)
        self._recent: deque[ScoreUpdate] = deque(maxlen=RECENT_UPDATES)
        self._seq = 0
        # Customers whose latest score is a tombstone: their updates and alerts, still on the
        # other topics until retention, are not shown again (say, after a restart re-reads them).
        self._erased: set[str] = set()
        self.records = Counter[str]()
        self.unreadable = 0
        self.caught_up = False
        """True once the topics were read up to their end offsets as of the start."""
        self.last_record_at: datetime | None = None
        self.started_at = datetime.now(UTC)

    # --- writing ----------------------------------------------------------------------------

    def apply(
        self, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int = 0
    ) -> None:
        with self._lock:
            self.records[topic] += 1
            self.last_record_at = datetime.now(UTC)
            try:
                if topic == self.topics.scores_latest:
                    self._apply_latest(key, value)
                elif topic == self.topics.score_updates and value is not None:
                    update = named_by_key(key, ScoreUpdate.model_validate_json(value))
                    if update.customer_id in self._erased:
                        return
                    record = self._customers.setdefault(update.customer_id, CustomerRecord())
                    record.history.append(update)
                    self._recent.append(update)
                elif topic == self.topics.alerts and value is not None:
                    alert = named_by_key(key, Alert.model_validate_json(value))
                    if alert.customer_id in self._erased:
                        return
                    record = self._customers.setdefault(alert.customer_id, CustomerRecord())
                    record.alerts[alert.alert_id] = alert
                    self._seq += 1
                    self._feed.append(FeedAlert(self._seq, alert))
            except ValidationError:
                # A record of a newer contract version or a foreign producer: skip, count.
                self.unreadable += 1

    def _apply_latest(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:  # a tombstone: the customer was erased
            if key is not None:  # `customer` or `tenant|customer` (multi-tenant deployments)
                self._forget(tenant_qualified_id(key) or parse_customer_key(key).customer_id)
            return
        update = named_by_key(key, ScoreUpdate.model_validate_json(value))
        # A latest score after the tombstone: the customer came back with new events.
        self._erased.discard(update.customer_id)
        record = self._customers.setdefault(update.customer_id, CustomerRecord())
        if record.latest is None or update.as_of >= record.latest.as_of:
            record.latest = update

    def _forget(self, customer_id: str) -> None:
        """Everything shown of an erased customer, wherever the view holds it (lock held)."""
        self._erased.add(customer_id)
        self._customers.pop(customer_id, None)
        feed = [item for item in self._feed if item.alert.customer_id != customer_id]
        if len(feed) != len(self._feed):
            self._feed = deque(feed, maxlen=ALERT_FEED)
        recent = [u for u in self._recent if u.customer_id != customer_id]
        if len(recent) != len(self._recent):
            self._recent = deque(recent, maxlen=RECENT_UPDATES)

    # --- reading ----------------------------------------------------------------------------

    def customers(
        self,
        query: str = "",
        sort: str = "trust",
        descending: bool = False,
        segment: str | None = None,
        limit: int | None = None,
    ) -> list[ScoreUpdate]:
        key = SORT_KEYS.get(sort, SORT_KEYS["trust"])
        query = query.strip().lower()
        with self._lock:
            rows = [
                r.latest
                for cid, r in self._customers.items()
                if r.latest is not None
                and (not query or query in cid.lower() or query in r.latest.summary.lower())
                and (segment is None or r.latest.segment.value == segment)
            ]
        rows.sort(key=key, reverse=descending)  # type: ignore[arg-type]
        return rows[:limit] if limit is not None else rows

    def customer(
        self, customer_id: str
    ) -> tuple[ScoreUpdate | None, list[ScoreUpdate], list[Alert]]:
        with self._lock:
            record = self._customers.get(customer_id)
            if record is None or record.latest is None:
                # No latest score: not (yet) read, or erased with its tombstone compacted away.
                return None, [], []
            history = list(record.history)  # as published: each is the state after the last
            alerts = sorted(record.alerts.values(), key=lambda a: a.raised_at, reverse=True)
            return record.latest, history, alerts

    def latest_scores(self) -> dict[str, ScoreUpdate]:
        with self._lock:
            return {c: r.latest for c, r in self._customers.items() if r.latest is not None}

    def alerts_after(self, seq: int, limit: int = 50) -> list[FeedAlert]:
        """The feed's alerts after ``seq``, newest first."""
        with self._lock:
            # Not filtered by _shown: an alert is often read before its customer's latest score
            # (another topic), and the live feed must not skip it for that.
            newer = [item for item in self._feed if item.seq > seq]
        return list(reversed(newer))[:limit]

    def _shown(self, customer_id: str) -> bool:
        """Only customers with a latest score are shown: the compacted topic is the list of
        customers, and an erased one is not in it (lock held)."""
        record = self._customers.get(customer_id)
        return record is not None and record.latest is not None

    def open_alerts(self) -> list[Alert]:
        with self._lock:
            return [
                a
                for r in self._customers.values()
                for a in r.alerts.values()
                if a.state is AlertState.RAISED
            ]

    def segment_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(
                r.latest.segment.value for r in self._customers.values() if r.latest is not None
            )

    def movers(self, limit: int = 8) -> list[ScoreUpdate]:
        """The biggest recent trust or loyalty moves (one per customer)."""
        with self._lock:
            recent = [u for u in self._recent if self._shown(u.customer_id)]
        best: dict[str, ScoreUpdate] = {}
        for update in recent:
            size = abs(update.deltas.trust) + abs(update.deltas.loyalty)
            held = best.get(update.customer_id)
            if held is None or size > abs(held.deltas.trust) + abs(held.deltas.loyalty):
                best[update.customer_id] = update
        ranked = sorted(best.values(), key=lambda u: -(abs(u.deltas.trust) + abs(u.deltas.loyalty)))
        return ranked[:limit]

    def health(self) -> dict[str, object]:
        with self._lock:
            return {
                "caught_up": self.caught_up,
                "customers": sum(1 for r in self._customers.values() if r.latest is not None),
                "records": dict(self.records),
                "unreadable": self.unreadable,
                "open_alerts": sum(
                    1
                    for r in self._customers.values()
                    for a in r.alerts.values()
                    if a.state is AlertState.RAISED
                ),
                "last_record_at": self.last_record_at.isoformat() if self.last_record_at else None,
            }


class Sink(Protocol):
    """What a ``Subscription`` feeds: a ``ScoreView``, or the report's collector."""

    topics: Topics
    caught_up: bool

    def apply(
        self, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int = 0
    ) -> None: ...


class Subscription:
    """Feeds a ``ScoreView`` (or another ``Sink``) from the published topics, from their
    beginning, in a background thread until ``stop``."""

    def __init__(
        self,
        bootstrap_servers: str,
        view: Sink,
        client_id: str,
        *,
        tenant: str | None = None,
        **client_config: Any,
    ) -> None:
        self._servers = bootstrap_servers
        # One tenant's records only (multi-tenant deployments): by the key's tenant, so that
        # on shared topics another tenant's customer of the same id never shows.
        self._tenant = tenant
        # The deployment's Kafka security settings unless the caller passes its own.
        self._client_config = client_config or client_security(Settings())
        self._view = view
        self._client_id = client_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="score-view", daemon=True)
        self.error: str | None = None

    def start(self) -> Subscription:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_caught_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._view.caught_up:
            time.sleep(0.1)
        return self._view.caught_up

    def _topics(self) -> list[str]:
        t = self._view.topics
        return [t.scores_latest, t.score_updates, t.alerts]

    def _run(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        while not self._stop.is_set():
            try:
                consumer = KafkaConsumer(
                    bootstrap_servers=self._servers,
                    group_id=None,
                    client_id=self._client_id,
                    enable_auto_commit=False,
                    isolation_level="read_committed",
                    **self._client_config,
                )
            except Exception as exc:  # broker not there yet: retry, the page says so
                self.error = f"cannot reach Kafka: {exc}"
                self._stop.wait(2.0)
                continue
            try:
                self._consume(consumer, TopicPartition)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                self._stop.wait(2.0)
            finally:
                consumer.close()

    def _consume(self, consumer: object, partition_type: type) -> None:
        from kafka import KafkaConsumer

        assert isinstance(consumer, KafkaConsumer)
        partitions = self._wait_for_partitions(consumer, partition_type)
        if partitions is None:
            return
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        self.error = None
        next_check = time.monotonic() + _PARTITION_CHECK_SECONDS
        while not self._stop.is_set():
            for batch in consumer.poll(timeout_ms=500, max_records=2000).values():
                for message in batch:
                    key = message.key
                    if self._tenant is not None:
                        if key is None:
                            continue
                        owner = parse_customer_key(key)
                        if owner.tenant_id != self._tenant:
                            continue
                        # One tenant's view names its customers by their own ids.
                        key = owner.customer_id.encode()
                    self._view.apply(message.topic, key, message.value, message.timestamp)
            if not self._view.caught_up and all(
                consumer.position(tp) >= end for tp, end in ends.items()
            ):
                self._view.caught_up = True
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + _PARTITION_CHECK_SECONDS
                partitions = self._follow_new_partitions(consumer, partitions, partition_type)

    def _follow_new_partitions(
        self, consumer: object, assigned: list[object], partition_type: type
    ) -> list[object]:
        """Partitions added to a topic since the assignment are read from their beginning too;
        the ones already assigned keep their positions (re-reading them would apply every
        record to the view twice)."""
        from kafka import KafkaConsumer

        assert isinstance(consumer, KafkaConsumer)
        current = self._partitions(consumer, partition_type)
        added = [tp for tp in current or [] if tp not in assigned]
        if not added:
            return assigned
        positions = {tp: consumer.position(tp) for tp in assigned}
        consumer.assign([*assigned, *added])
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        consumer.seek_to_beginning(*added)
        return [*assigned, *added]

    def _partitions(self, consumer: object, partition_type: type) -> list[object] | None:
        """Every partition of the view's topics, or None while any topic has none yet.

        One metadata snapshot per topic, used both to decide and to assign: checking again
        after building the list once assigned a list built while rapport.scores.latest was
        still unknown, and the console then never read the latest scores (issue 13).
        """
        from kafka import KafkaConsumer

        assert isinstance(consumer, KafkaConsumer)
        partitions: list[object] = []
        for topic in self._topics():
            known = consumer.partitions_for_topic(topic)
            if not known:
                return None
            partitions.extend(partition_type(topic, p) for p in sorted(known))
        return partitions

    def _wait_for_partitions(self, consumer: object, partition_type: type) -> list[object] | None:
        """The services create the topics on their first start; wait until they exist."""
        while not self._stop.is_set():
            partitions = self._partitions(consumer, partition_type)
            if partitions is not None:
                return partitions
            self.error = "waiting for the scoring service to create its topics"
            self._stop.wait(1.0)
        return None


def tenant_topics(settings: Settings, tenant: str | None) -> Topics:
    """The topics a view of ``tenant`` reads: its own under hard isolation
    (``RAPPORT_TENANCY__TOPICS_PER_TENANT``), else the shared ones (filtered by key).
    ``ValueError`` for a tenant a single-tenant deployment (keys without tenants) cannot
    show, or one without topics of its own."""
    tenancy = settings.tenancy
    if tenant is None:
        if tenancy.topics_per_tenant:
            raise ValueError(
                "each tenant has its own topics (RAPPORT_TENANCY__TOPICS_PER_TENANT): name one"
            )
        return settings.topics
    if not tenancy.multi_tenant:
        raise ValueError(
            "a tenant can only be shown in a multi-tenant deployment (RAPPORT_TENANCY__MODE=multi)"
        )
    if tenancy.topics_per_tenant:
        if tenant not in tenancy.tenants:
            raise ValueError(f"tenant {tenant!r} is not in RAPPORT_TENANCY__TENANTS")
        return settings.topics.for_tenant(tenant)
    return settings.topics


def load_view(
    bootstrap_servers: str, topics: Topics, timeout: float = 60.0, client_id: str = "rapport-view"
) -> ScoreView:
    """A view read once up to the current end of the topics (for one-shot commands)."""
    view = ScoreView(topics)
    subscription = Subscription(bootstrap_servers, view, client_id).start()
    try:
        if not subscription.wait_caught_up(timeout):
            raise TimeoutError(
                f"could not read the score topics within {timeout:.0f} s"
                + (f" ({subscription.error})" if subscription.error else "")
            )
    finally:
        subscription.stop()
    return view


def sorted_updates(updates: Iterable[ScoreUpdate]) -> list[ScoreUpdate]:
    return sorted(updates, key=lambda u: (u.as_of, u.event_count))
