"""The console's subscription on the real broker: it reads every topic of the view, whenever the
services create them (issue 13: the console listed no customers while alerts flowed)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from kafka import KafkaProducer

from schemas.topics import Topics
from services.console.view import Subscription
from services.runtime.kafka_io import ensure_topics
from tests.support.kafka import unique_prefix

pytestmark = pytest.mark.kafka


class _CountingSink:
    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.caught_up = False
        self.records: Counter[str] = Counter()

    def apply(
        self, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int = 0
    ) -> None:
        self.records[topic] += 1


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.2])
def test_topics_created_one_by_one_after_the_console_started_are_all_read(
    kafka_bootstrap: str, delay: float
) -> None:
    """Before the fix the subscription assigned a partition list built while the last topic was
    still unknown to its metadata and then never read that topic (6 of 15 rounds of this
    shape failed; with the fix 0 of 15)."""
    topics = Topics().with_prefix(unique_prefix())
    names = [topics.alerts, topics.score_updates, topics.scores_latest]
    sink = _CountingSink(topics)
    subscription = Subscription(
        kafka_bootstrap, sink, "console-subscription-test", security_protocol="PLAINTEXT"
    ).start()
    try:
        for name in names:  # the order the services happen to create them in
            time.sleep(delay)
            ensure_topics(kafka_bootstrap, [name], 3)
        producer = KafkaProducer(
            bootstrap_servers=kafka_bootstrap,
            transactional_id=f"{topics.alerts}-tx",
            enable_idempotence=True,
        )
        producer.init_transactions()
        producer.begin_transaction()
        for i in range(60):
            for name in names:
                producer.send(name, key=f"c{i}".encode(), value=b"{}")
        producer.commit_transaction()
        producer.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(sink.records[n] < 60 for n in names):
            time.sleep(0.2)
        assert {n: sink.records[n] for n in names} == dict.fromkeys(names, 60), subscription.error
    finally:
        subscription.stop()
