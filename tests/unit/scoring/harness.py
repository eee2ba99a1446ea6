"""The scoring service on the in-memory broker, with a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from schemas import Alert, AnnotatedEvent, ScoreUpdate
from services.runtime.loop import ServiceRunner
from services.runtime.records import InRecord, TopicPartition
from services.runtime.settings import Settings
from services.runtime.testing import FakeConsumer, FakeProducer, InMemoryBroker
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.service import ScoringHandler, open_store
from services.scoring.watermark import applied_ticks, tick_record
from tests.unit.scoring.events import encode
from tests.unit.scoring.reference import Tick

COMPLETED_AT = datetime(2030, 1, 1, tzinfo=UTC)


class Scoring:
    """One scoring instance; ``crash()`` drops it without committing, ``start()`` starts anew."""

    def __init__(
        self,
        database_url: str,
        partitions: int = 3,
        max_poll_records: int = 50,
        config: ScoringConfig | None = None,
    ) -> None:
        self.settings = Settings(
            kafka_bootstrap_servers="unused:9092",
            database_url=database_url,
            max_poll_records=max_poll_records,
        )
        self.topics = self.settings.topics
        self.config = config or ScoringConfig.load()
        self.broker = InMemoryBroker(default_partitions=partitions)
        self.broker.create_topic(self.topics.annotated)
        self.broker.create_topic(self.topics.scoring_ticks)
        self.engine: Engine = open_store(database_url, self.config)
        self.now = 0.0  # the runner's monotonic clock: retries back off in it
        self.wall = COMPLETED_AT  # the handler's wall clock (erasure times, idle ticks)
        self.start()

    def start(self) -> None:
        self.handler = ScoringHandler(
            self.engine, self.topics, self.config, clock=lambda: self.wall
        )
        self.consumer = FakeConsumer(self.broker, "rapport-scoring")
        self.producer = FakeProducer(self.broker)
        self.runner = ServiceRunner(
            "scoring",
            self.handler,
            consumer=self.consumer,
            producer=self.producer,
            settings=self.settings,
            input_topics=[self.topics.annotated, self.topics.scoring_ticks],
            clock=lambda: self.now,
            rng=random.Random(1),
        )
        self.runner.start()

    def send(self, events: Iterable[AnnotatedEvent | bytes], key: bytes | None = None) -> None:
        for event in events:
            if isinstance(event, bytes):
                self.broker.produce(self.topics.annotated, event, key or b"c")
            else:
                self.broker.produce(
                    self.topics.annotated, encode(event), event.event.customer_id.encode()
                )

    def run(self, max_iterations: int = 1000) -> None:
        """Poll until every input record is committed."""
        for _ in range(max_iterations):
            self.runner.run_once()
            self.now += 1.0
            if self.lag() == 0:
                return
        raise AssertionError("the scoring runner did not catch up")

    def lag(self) -> int:
        total = 0
        for topic in (self.topics.annotated, self.topics.scoring_ticks):
            for partition in range(self.broker.partitions[topic]):
                tp = TopicPartition(topic, partition)
                committed = self.broker.committed("rapport-scoring", tp) or 0
                total += len(self.broker.logs[tp]) - committed
        return total

    def partition_logs(self) -> list[list[bytes | Tick]]:
        """The annotated topic's values per partition in offset order, with each applied tick
        (from the ticks topic) before the record at the offset it was applied at."""
        ticks = self.applied_ticks()
        logs: list[list[bytes | Tick]] = []
        for p in range(self.broker.partitions[self.topics.annotated]):
            log: list[bytes | Tick] = []
            pending = list(ticks.get(p, []))
            for r in self.in_records(p):
                while pending and pending[0][0] <= r.offset:
                    log.append(Tick(pending.pop(0)[1]))
                log.append(r.value or b"")
            log += [Tick(at) for _, at in pending]
            logs.append(log)
        return logs

    def applied_ticks(self) -> dict[int, list[tuple[int, int]]]:
        topic = self.topics.scoring_ticks
        return applied_ticks(
            r for p in range(self.broker.partitions[topic]) for r in self.in_records(p, topic)
        )

    def tick(self, partition: int, at: datetime) -> None:
        """Record a wall-clock tick of an idle partition, as the service's ticker does."""
        record = tick_record(self.topics.scoring_ticks, partition, at)
        self.broker.append(self.topics.scoring_ticks, record)

    def in_records(self, partition: int, topic: str | None = None) -> list[InRecord]:
        topic = topic or self.topics.annotated
        return [
            InRecord(topic, partition, offset, r.key, r.value, list(r.headers))
            for offset, r in enumerate(self.broker.logs[TopicPartition(topic, partition)])
        ]

    def out(self, topic: str) -> list[InRecord]:
        return self.broker.records(topic)

    def updates(self) -> list[ScoreUpdate]:
        """The published score updates, parsed."""
        records = self.out(self.topics.score_updates)
        return [ScoreUpdate.model_validate_json(r.value or b"") for r in records]

    def alerts(self) -> list[Alert]:
        """The published alerts, parsed."""
        return [Alert.model_validate_json(r.value or b"") for r in self.out(self.topics.alerts)]

    def table(self, name: str) -> list[dict[str, object]]:
        table = store.metadata.tables[name]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table))]
