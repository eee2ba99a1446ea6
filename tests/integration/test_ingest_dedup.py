"""Ingest's duplicate suppression survives a restart: the window comes back from the changelog."""

from __future__ import annotations

import json

import pytest

from services.ingest.service import SPEC as INGEST
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


def test_a_retried_event_after_a_restart_is_not_forwarded_again(kafka_bootstrap: str) -> None:
    settings = service_settings(kafka_bootstrap)
    topics = settings.topics
    create_topics(settings)
    group = f"{settings.group_prefix}-ingest"
    inputs = [topics.raw_interactions]
    _, first = variant(0, "cust-1", "ev-1")
    _, second = variant(0, "cust-1", "ev-2")

    produce(kafka_bootstrap, topics.raw_interactions, [(b"cust-1", first)])
    with running(INGEST, settings):
        wait_until_consumed(kafka_bootstrap, group, inputs, timeout=60)

    # A new instance: nothing in memory. Upstream retries ev-1 and sends ev-2.
    produce(kafka_bootstrap, topics.raw_interactions, [(b"cust-1", first), (b"cust-1", second)])
    with running(INGEST, settings) as runner:
        wait_until_consumed(kafka_bootstrap, group, inputs, timeout=60)
        duplicates = runner.metrics.registry.get_sample_value(
            "rapport_ingest_duplicates_total", {"topic": topics.raw_interactions}
        )

    ids = [
        json.loads(r.value)["event_id"] for r in read_to_end(kafka_bootstrap, [topics.canonical])
    ]
    assert ids == ["ev-1", "ev-2"]
    assert duplicates == 1
    changelog = read_to_end(kafka_bootstrap, [topics.ingest_dedup])
    assert sorted(r.key for r in changelog) == [b"ev-1", b"ev-2"]
