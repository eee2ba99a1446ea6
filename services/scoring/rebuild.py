"""Recompute every customer's state from the annotated topic and compare it with the database.

``rapport scores rebuild`` reads the annotated topic (read_committed) from the beginning of each
partition up to what the database reflects: the partition's applied offset, or the consumer
group's committed offset if that is further (a database that lost its state). It folds the
records through the scoring handler itself into a fresh temporary SQLite database (same
parsing, deduplication, erasures and alerts as the service), then reports, per customer, the
differences beyond a tolerance in trust and loyalty (points), segment and event count. With
``--apply`` it replaces the derived tables of the database (state, history, processed ids,
alerts, erasures) by the rebuilt ones in one transaction; run it with the scoring instances
stopped. The outbox and the applied offsets stay, so outputs not yet published still are.

Scoring's idle-partition ticks are followed as the service applied them: the ``applied``
records of ``rapport.scoring.ticks`` name the offset of each (``watermark.applied_ticks``), and
the fold applies each there (``fold_topic``), so time-driven updates and state match too.

A rebuild is exact (the fold is order independent and deterministic) as long as the topic still
holds every event: a partition whose log start offset is above 0 lost events to retention, and
the report says so.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy import Engine, delete, select

from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Tenancy, Topics
from services.runtime.topic_reader import log_start_offsets, read_to_end
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.service import ScoringHandler
from services.scoring.watermark import applied_ticks

REBUILD_BATCH: Final = 2_000
DEFAULT_TOLERANCE: Final = 1e-6
"""Points (0-100) of trust or loyalty below which two states count as equal."""


@dataclass(frozen=True, slots=True)
class Difference:
    tenant: str
    customer_id: str
    what: str
    """``missing in database``, ``missing in rebuild`` or the differing fields."""
    current: str
    rebuilt: str


@dataclass
class Report:
    customers_current: int = 0
    customers_rebuilt: int = 0
    records_read: int = 0
    differences: list[Difference] = field(default_factory=list)
    truncated_partitions: dict[int, int] = field(default_factory=dict)
    """Partition -> log start offset, for partitions that lost events to retention."""
    bounds: dict[int, int] = field(default_factory=dict)
    """Partition -> offset up to which the topic was read (exclusive)."""
    topic_recreated: bool = False
    """The database's offsets belonged to an earlier topic of the same name."""

    @property
    def equal(self) -> bool:
        return not self.differences


def _points(row: Mapping[str, Any], name: str) -> float:
    value = float(row[name])
    return 100.0 * value if name == "trust" else value


def compare_states(
    current: Mapping[store.Who, Mapping[str, Any]],
    rebuilt: Mapping[store.Who, Mapping[str, Any]],
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[Difference]:
    """Per (tenant, customer): trust and loyalty (points) beyond ``tolerance``, segment, event
    count."""
    differences = []
    for customer in sorted(set(current) | set(rebuilt)):
        now, new = current.get(customer), rebuilt.get(customer)
        if now is None or new is None:
            differences.append(
                Difference(
                    *customer,
                    "missing in database" if now is None else "missing in rebuild",
                    "-" if now is None else _describe(now),
                    "-" if new is None else _describe(new),
                )
            )
            continue
        fields = [
            name
            for name in ("trust", "loyalty")
            if not math.isclose(_points(now, name), _points(new, name), abs_tol=tolerance)
        ]
        fields += [name for name in ("segment", "event_count") if now[name] != new[name]]
        if fields:
            differences.append(
                Difference(*customer, ", ".join(fields), _describe(now), _describe(new))
            )
    return differences


def _describe(row: Mapping[str, Any]) -> str:
    return (
        f"trust {100.0 * float(row['trust']):.4f}, loyalty {float(row['loyalty']):.4f}, "
        f"{row['segment']}, {row['event_count']} events"
    )


@contextmanager
def scratch_database() -> Iterator[Engine]:
    """A migrated SQLite database in a temporary directory, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="rapport-rebuild-"))
    engine = store.make_engine(f"sqlite:///{directory / 'rebuild.db'}")
    try:
        store.migrate(engine)
        yield engine
    finally:
        engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)


class TopicSource(Protocol):
    """Where a rebuild reads the annotated topic from."""

    def start_offset(self, partition: int) -> int:
        """The partition's log start offset (above 0: older records expired)."""
        ...

    def chunks(self, partition: int, bound: int) -> Iterator[list[InRecord]]:
        """The partition's records from its start up to ``bound`` (exclusive), in offset
        order, a chunk at a time."""
        ...


def fold_topic(
    engine: Engine,
    source: TopicSource,
    bounds: Mapping[int, int],
    topics: Topics,
    config: ScoringConfig,
    *,
    ticks: Mapping[int, Sequence[tuple[int, int]]] | None = None,
    tenancy: Tenancy | None = None,
) -> int:
    """Feed each partition's records, in offset order and in chunks, through the scoring
    handler, each applied tick (``watermark.applied_ticks``: position, time) before the record
    at its position, as the service applied it; the number of records read."""
    # No topic ids: the source is the truth. The deployment's tenancy: the same identities.
    handler = ScoringHandler(engine, topics, config, tenancy=tenancy)
    store.check_config(engine, config.content_hash)
    read = 0
    for partition, bound in sorted(bounds.items()):
        tp = TopicPartition(topics.annotated, partition)
        pending = [t for t in (ticks or {}).get(partition, ()) if t[0] <= bound]
        for chunk in source.chunks(partition, bound):
            rest = chunk
            while rest:
                # Up to the next tick's position, then the tick.
                cut = len(rest)
                if pending:
                    cut = sum(1 for r in rest if r.offset < pending[0][0])
                if cut:
                    handler.handle_batch(PartitionBatch(tp, rest[:cut]))
                    read += cut
                rest = rest[cut:]
                if rest:
                    handler.replay_tick(tp, pending.pop(0)[1])
        for _, tick_us in pending:  # applied after the partition's last record
            handler.replay_tick(tp, tick_us)
    return read


def apply_rebuild(
    target: Engine,
    rebuilt: Engine,
    topic: str,
    bounds: Mapping[int, int],
    config_hash: str,
    *,
    topic_id: str | None = None,
    recreated: bool = False,
) -> None:
    """Replace the derived tables of ``target`` by those of ``rebuilt``, in one transaction.

    Applied offsets move up to ``bounds`` where they were lower (the state now reflects those
    records; their outputs were committed to Kafka with the group's offsets already). After a
    rebuild from a recreated topic the topic's bookkeeping starts afresh: its applied offsets
    are the bounds, under the new topic id, and its outbox rows (of the old topic) go.
    """
    with rebuilt.connect() as source, target.begin() as conn:
        for table in reversed(store.STATE_TABLES):
            conn.execute(delete(table))
        for table in store.STATE_TABLES:
            columns = [c for c in table.columns if c.name != "id"]  # history ids: new ones
            order = [table.c.id] if "id" in table.c else list(table.primary_key.columns)
            result = source.execute(select(*columns).order_by(*order))
            while rows := result.fetchmany(REBUILD_BATCH):
                store.insert_rows(conn, table, [dict(row._mapping) for row in rows])
        if recreated:
            store.reset_topic(conn, topic, dict(bounds), topic_id)
        else:
            applied = store.applied_offsets_of(conn, topic)
            for partition, bound in bounds.items():
                tp = TopicPartition(topic, partition)
                if applied.get(partition, 0) < bound:
                    store.lock_partition(conn, tp)
                    store.set_applied(conn, tp, bound, topic_id)
        store.set_config_hash(conn, config_hash)


def rebuild(
    target: Engine,
    topics: Topics,
    config: ScoringConfig,
    source: TopicSource,
    *,
    group_offsets: Mapping[int, int],
    partitions: Sequence[int],
    tolerance: float = DEFAULT_TOLERANCE,
    apply: bool = False,
    topic_id: str | None = None,
    ticks: Mapping[int, Sequence[tuple[int, int]]] | None = None,
    erasure_hash_key: bytes | None = None,
    tenancy: Tenancy | None = None,
) -> Report:
    """Rebuild from ``source`` up to what the database or the group reflects (see the module
    docstring). ``topic_id``: the annotated topic's id now; when the database's offsets belong
    to another topic of the same name (recreated, or a new cluster), they are ignored, and the
    rebuild reflects the topic as it is. ``ticks``: the applied ticks of the ticks topic
    (``watermark.applied_ticks``), so that the fold moves each watermark where the service did.
    ``erasure_hash_key``: ``RAPPORT_SCORING__ERASURE_HASH_KEY`` if the service has one."""
    with target.connect() as conn:
        applied = store.applied_offsets_of(conn, topics.annotated)
        stored_ids = store.topic_ids_of(conn, topics.annotated)
    recreated = bool(topic_id) and bool(stored_ids) and stored_ids != {topic_id}
    if recreated:
        applied = {}
    bounds = {p: max(applied.get(p, 0), group_offsets.get(p, 0)) for p in sorted(partitions)}
    report = Report(bounds=bounds, topic_recreated=recreated)
    for partition, bound in bounds.items():
        start = source.start_offset(partition) if bound > 0 else 0
        if start > 0:
            report.truncated_partitions[partition] = start
    with scratch_database() as scratch:
        # The same key for the erased customers' hashes as the database's (``store.erased``).
        with target.begin() as conn:
            key = store.erasure_hash_key(conn, erasure_hash_key)
        with scratch.begin() as conn:
            store.remember_erasure_hash_key(conn, key)
        report.records_read = fold_topic(
            scratch, source, bounds, topics, config, ticks=ticks, tenancy=tenancy
        )
        current, rebuilt = store.all_states(target), store.all_states(scratch)
        report.customers_current, report.customers_rebuilt = len(current), len(rebuilt)
        report.differences = compare_states(current, rebuilt, tolerance)
        if apply:
            apply_rebuild(
                target,
                scratch,
                topics.annotated,
                bounds,
                config.content_hash,
                topic_id=topic_id,
                recreated=recreated,
            )
    return report


# --- Kafka ---------------------------------------------------------------------------------------


class KafkaSource:
    """The annotated topic on a broker, read_committed, one partition at a time."""

    def __init__(
        self, bootstrap: str, topic: str, chunk: int = REBUILD_BATCH, **client_config: Any
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._chunk = chunk
        self._client_config = client_config

    def start_offset(self, partition: int) -> int:
        starts = log_start_offsets(
            self._bootstrap, self._topic, "rapport-scores-rebuild", **self._client_config
        )
        return starts.get(partition, 0)

    def chunks(self, partition: int, bound: int) -> Iterator[list[InRecord]]:
        if bound <= 0:
            return iter(())
        return read_to_end(
            self._bootstrap,
            self._topic,
            client_id="rapport-scores-rebuild",
            partitions=[partition],
            bounds={partition: bound},
            chunk_size=self._chunk,
            **self._client_config,
        )


def applied_ticks_on(
    bootstrap: str, ticks_topic: str, **client_config: Any
) -> dict[int, list[tuple[int, int]]]:
    """The ticks the service applied (``watermark.applied_ticks``), read from its ticks topic
    (none if the topic does not exist: a service from before the ticks)."""
    chunks = read_to_end(
        bootstrap, ticks_topic, client_id="rapport-scores-rebuild", **client_config
    )
    return applied_ticks(record for chunk in chunks for record in chunk)


def committed_offsets(
    bootstrap: str, group_id: str, topic: str, partitions: Sequence[int], **client_config: Any
) -> dict[int, int]:
    """The group's committed offsets (read without joining the group)."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KafkaTopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        client_id="rapport-scores-rebuild",
        **client_config,
    )
    try:
        found = {p: consumer.committed(KafkaTopicPartition(topic, p)) for p in partitions}
    finally:
        consumer.close()
    return {p: int(offset) for p, offset in found.items() if offset is not None and offset >= 0}


def topic_partitions(bootstrap: str, topic: str, **client_config: Any) -> list[int]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **client_config)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
    finally:
        consumer.close()
    return sorted(partitions)
