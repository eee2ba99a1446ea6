from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from services.runtime.handlers import RecordFunction, RecordHandler
from services.runtime.loop import ServiceRunner
from services.runtime.policy import ErrorPolicy
from services.runtime.records import BatchHandler
from services.runtime.settings import Delivery, Settings
from services.runtime.testing import FakeConsumer, FakeProducer, InMemoryBroker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    broker: InMemoryBroker
    consumer: FakeConsumer
    producer: FakeProducer
    runner: ServiceRunner
    clock: FakeClock
    settings: Settings

    def send(self, value: bytes, key: bytes = b"k", topic: str = "in") -> None:
        self.broker.produce(topic, value, key)

    def outputs(self, topic: str = "out") -> list[bytes | None]:
        return [r.value for r in self.broker.records(topic)]

    def dead_letters(self) -> list[dict[str, str]]:
        return [
            {k: v.decode() for k, v in r.headers} | {"value": (r.value or b"").decode("latin-1")}
            for r in self.broker.records(self.settings.topics.dead_letter)
        ]


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness() -> MakeHarness:
    def make(
        process: RecordFunction | None = None,
        handler: BatchHandler | None = None,
        delivery: Delivery = Delivery.EXACTLY_ONCE,
        partitions: int = 1,
    ) -> Harness:
        settings = Settings(
            kafka_bootstrap_servers="unused:9092",
            delivery=delivery,
            retry_initial_seconds=1.0,
            retry_max_seconds=8.0,
            max_poll_records=100,
        )
        broker = InMemoryBroker(default_partitions=partitions)
        broker.create_topic("in")
        consumer = FakeConsumer(broker, "group")
        producer = FakeProducer(broker, transactional=delivery is Delivery.EXACTLY_ONCE)
        clock = FakeClock()
        if handler is None:
            assert process is not None
            handler = RecordHandler(ErrorPolicy("svc", settings.topics.dead_letter), process)
        runner = ServiceRunner(
            "svc",
            handler,
            consumer=consumer,
            producer=producer,
            settings=settings,
            input_topics=["in"],
            clock=clock,
            rng=random.Random(7),
        )
        runner.start()
        return Harness(broker, consumer, producer, runner, clock, settings)

    return make
