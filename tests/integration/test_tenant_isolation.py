"""Hard isolation of tenants (issue 16): with ``RAPPORT_TENANCY__TOPICS_PER_TENANT`` each tenant's
score updates, latest scores and alerts go to its own topics, and Kafka ACLs (the ones
docs/operations.md tells operators to set) let a tenant's consumers read their own topics and
nothing else. On the local jar broker with SASL_SSL and KRaft's StandardAuthorizer: the scoring
handler's outputs for two tenants with the same customer and event ids are published, tenant
a's consumer reads exactly its own, and is denied tenant b's topic."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    NewTopic,
    ResourcePattern,
    ResourceType,
)
from kafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

from schemas import ScoreUpdate
from schemas.identity import Tenancy, TenancyMode, parse_customer_key
from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Settings
from services.scoring.model import ScoringConfig
from services.scoring.service import ScoringHandler, open_store, output_topics
from tests.support.kafka import unique_prefix
from tests.support.secure_kafka import SecureBroker, start_secure_broker
from tests.unit.scoring.events import T0, annotated, encode
from tests.unit.scoring.test_tenants import as_tenant

pytestmark = pytest.mark.kafka

USERS = {"admin": "admin-secret", "tenant-a": "a-secret", "tenant-b": "b-secret"}
TENANTS = ("a", "b")


@pytest.fixture(scope="module")
def broker() -> Iterator[SecureBroker]:
    broker = start_secure_broker(USERS, authorizer=True)
    try:
        yield broker
    finally:
        broker.stop()


def client(broker: SecureBroker, user: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": broker.bootstrap_servers,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": USERS[user],
        "ssl_cafile": str(broker.ca_file),
    }


def tenant_acls(settings: Settings, tenant: str, principal: str) -> list[ACL]:
    """What docs/operations.md prescribes for a tenant's consumers: read (and describe) its
    three topics, and consumer groups named after it (prefixed)."""
    topics = settings.topics.for_tenant(tenant)
    patterns = [
        ResourcePattern(ResourceType.TOPIC, name, ACLResourcePatternType.LITERAL)
        for name in (topics.score_updates, topics.scores_latest, topics.alerts)
    ]
    patterns.append(
        ResourcePattern(ResourceType.GROUP, f"{principal}.", ACLResourcePatternType.PREFIXED)
    )
    return [
        ACL(f"User:{principal}", "*", operation, ACLPermissionType.ALLOW, pattern)
        for pattern in patterns
        for operation in (ACLOperation.READ, ACLOperation.DESCRIBE)
    ]


def test_a_tenants_consumer_reads_its_own_topics_and_is_denied_the_others(
    broker: SecureBroker,
) -> None:
    tenancy = Tenancy(mode=TenancyMode.MULTI, topics_per_tenant=True, tenants=TENANTS)
    settings = Settings(tenancy=tenancy, database_url="sqlite://")
    settings = settings.model_copy(update={"topics": settings.topics.with_prefix(unique_prefix())})
    admin = KafkaAdminClient(**client(broker, "admin"))
    try:
        admin.create_topics(
            [NewTopic(name, 1, 1) for name in output_topics(settings)], timeout_ms=30_000
        )
        for tenant in TENANTS:
            admin.create_acls(tenant_acls(settings, tenant, f"tenant-{tenant}"))
    finally:
        admin.close()

    # Scoring's outputs for two tenants with the same customer and event ids.
    config = ScoringConfig.load()
    with tempfile.TemporaryDirectory() as directory:
        engine = open_store(f"sqlite:///{Path(directory) / 'scores.db'}", config)
        handler = ScoringHandler(engine, settings.topics, config, tenancy=tenancy)
        tp = TopicPartition(settings.topics.annotated, 0)
        events = [
            as_tenant(annotated(kind, "c1", f"e{i}", T0 + timedelta(hours=i)), tenant)
            for i, kind in enumerate(("purchase", "billing_error", "delivery_on_time"))
            for tenant in TENANTS
        ]
        records = [
            InRecord(tp.topic, 0, offset, tenancy.customer_key(e.event.tenant_id, "c1"), encode(e))
            for offset, e in enumerate(events)
        ]
        outputs = handler.handle_batch(PartitionBatch(tp, records))
        engine.dispose()
    producer = KafkaProducer(**client(broker, "admin"))
    for out in outputs:
        producer.send(out.topic, key=out.key, value=out.value, headers=list(out.headers))
    producer.flush(30)
    producer.close()

    mine = settings.topics.for_tenant("a")
    sent_to_a = [o for o in outputs if o.topic == mine.score_updates]
    assert len(sent_to_a) == 3
    consumer = KafkaConsumer(
        group_id="tenant-a.dashboard",
        auto_offset_reset="earliest",
        consumer_timeout_ms=1_000,
        **client(broker, "tenant-a"),
    )
    try:
        consumer.subscribe([mine.score_updates])
        read: list[Any] = []
        deadline = time.monotonic() + 60
        while len(read) < len(sent_to_a) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=1_000).values():
                read.extend(batch)
        assert [parse_customer_key(r.key).tenant_id for r in read] == ["a"] * 3
        assert {ScoreUpdate.model_validate_json(r.value).tenant_id for r in read} == {"a"}
    finally:
        consumer.close()

    theirs = settings.topics.for_tenant("b")
    for topic in (theirs.score_updates, theirs.scores_latest, theirs.alerts):
        with pytest.raises(TopicAuthorizationFailedError):
            offsets_as(broker, "tenant-a", topic)
    assert offsets_as(broker, "tenant-b", theirs.score_updates) == 3  # theirs to read
    # Nor may it use a consumer group named after the other tenant.
    with pytest.raises(GroupAuthorizationFailedError):
        committed_as(broker, "tenant-a", "tenant-b.dashboard", mine.score_updates)


def offsets_as(broker: SecureBroker, user: str, topic: str) -> int:
    """How many records ``user`` may see in partition 0 of ``topic`` (ListOffsets)."""
    consumer = KafkaConsumer(**client(broker, user))
    try:
        tp = KafkaTopicPartition(topic, 0)
        return int(consumer.end_offsets([tp])[tp]) - int(consumer.beginning_offsets([tp])[tp])
    finally:
        consumer.close()


def committed_as(broker: SecureBroker, user: str, group: str, topic: str) -> object:
    consumer = KafkaConsumer(group_id=group, **client(broker, user))
    try:
        return consumer.committed(KafkaTopicPartition(topic, 0))
    finally:
        consumer.close()
