"""Every text event gets an annotated event, in order per customer, on the real broker."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest

from services.ingest.service import SPEC as INGEST
from services.runtime.loop import ServiceRunner
from services.sentiment.service import SPEC as SENTIMENT
from tests.support.events import variant
from tests.support.kafka import (
    create_topics,
    produce,
    read_to_end,
    running,
    service_settings,
    wait_until_consumed,
)

pytestmark = pytest.mark.kafka


def _lags_once_settled(
    runner: ServiceRunner, topic: str, timeout: float = 30.0
) -> dict[str, float]:
    """The runner's consumer-lag gauge per partition of ``topic``, once all are 0 or at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        lags = {
            sample.labels["partition"]: sample.value
            for metric in runner.metrics.registry.collect()
            if metric.name == "rapport_consumer_lag_records"
            for sample in metric.samples
            if sample.labels["topic"] == topic
        }
        if (lags and set(lags.values()) == {0}) or time.monotonic() > deadline:
            return lags
        time.sleep(0.2)


def test_every_event_is_annotated_in_order_per_customer(kafka_bootstrap: str) -> None:
    settings = service_settings(kafka_bootstrap)
    topics = settings.topics
    create_topics(settings)
    sent: dict[str, list[str]] = defaultdict(list)
    batches: dict[str, list[tuple[bytes | None, bytes | None]]] = defaultdict(list)
    for i in range(600):
        customer = f"cust-{i % 25}"
        kind, value = variant(i, customer, f"ev-{i}")
        sent[customer].append(f"ev-{i}")
        batches[kind].append((customer.encode(), value))
    # One topic at a time keeps each customer's order well defined within a raw topic.
    for raw_kind, records in batches.items():
        topic = topics.raw_feedback if raw_kind == "feedback" else topics.raw_interactions
        produce(kafka_bootstrap, topic, records)

    with running(INGEST, settings), running(SENTIMENT, settings) as sentiment:
        for service, inputs in (
            ("ingest", [topics.raw_interactions, topics.raw_feedback]),
            ("sentiment", [topics.canonical]),
        ):
            wait_until_consumed(
                kafka_bootstrap, f"{settings.group_prefix}-{service}", inputs, timeout=60
            )
        # Ingest writes canonical in transactions, so every partition ends with a commit
        # marker the sentiment service never sees as a record: caught up must still read 0.
        lags = _lags_once_settled(sentiment, topics.canonical)
    assert lags, "no lag reported for the canonical topic"
    assert set(lags.values()) == {0}, lags
    canonical = read_to_end(kafka_bootstrap, [topics.canonical])
    annotated = read_to_end(kafka_bootstrap, [topics.annotated])

    assert len(annotated) == len(canonical) == 600
    order_in: dict[bytes, list[str]] = defaultdict(list)
    for record in canonical:
        order_in[record.key].append(json.loads(record.value)["event_id"])
    order_out: dict[bytes, list[str]] = defaultdict(list)
    texts = 0
    for record in annotated:
        document = json.loads(record.value)
        order_out[record.key].append(document["event"]["event_id"])
        has_text = bool(document["event"].get("text"))
        english = document.get("language") == "en"
        # Text in another language (the samples hold German reviews) is marked, not scored.
        assert document["annotated"] == (has_text and english)
        if has_text and not english:
            assert document["not_annotated_reason"] == "unsupported_language"
            assert document["language"]
        texts += document["annotated"]
    assert order_out == order_in  # same order per customer (key) as ingest wrote them
    # The example types that carry English text, cycled: 96 of 600 with 35 example types.
    assert texts > 80
