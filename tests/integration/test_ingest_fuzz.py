"""10,000 random and adversarial records through ingest on the real broker.

Every record must come out exactly once: forwarded to the canonical topic, dead-lettered with a
reason, or skipped as a duplicate of an event id forwarded before. The three are reconciled by
origin (topic, partition, offset), and good records after bad ones must get through.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

import pytest
from kafka import KafkaProducer

from schemas import EventKind
from services.ingest.service import SPEC as INGEST
from services.runtime.deadletter import ORIGIN_OFFSET, ORIGIN_PARTITION, ORIGIN_TOPIC, REASON
from services.runtime.handlers import ORIGIN_HEADER
from services.runtime.settings import IngestSettings, Settings
from tests.support.events import EXAMPLES, variant
from tests.support.kafka import (
    create_topics,
    read_to_end,
    running,
    service_settings,
    wait_until_consumed,
)

pytestmark = pytest.mark.kafka

N_RECORDS = 10_000
MAX_RECORD_BYTES = 64 * 1024


@dataclass
class Sent:
    category: str
    kind: EventKind
    key: bytes | None
    value: bytes | None
    expect: str  # "canonical", "dead_letter", "duplicate" or "either"


def adversarial(rng: random.Random, good: list[Sent], index: int) -> Sent:
    """One record of a randomly chosen category."""
    customer = f"cust-{rng.randrange(300)}"
    kind, value = variant(rng.randrange(len(EXAMPLES)), customer, f"fz-{index}")
    document = json.loads(value)
    roll = rng.random()
    if roll < 0.45:
        return Sent("valid", kind, customer.encode(), value, "canonical")
    if roll < 0.53 and good:
        original = rng.choice(good)
        return Sent("duplicate", original.kind, original.key, original.value, "duplicate")
    if roll < 0.58:
        cut = rng.randrange(1, len(value))
        return Sent("truncated_json", kind, customer.encode(), value[:cut], "dead_letter")
    if roll < 0.62:
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        return Sent("random_bytes", kind, customer.encode(), junk, "dead_letter")
    if roll < 0.66:
        return Sent(
            "invalid_utf8",
            kind,
            customer.encode(),
            value.replace(b"{", b"{\xff\xfe", 1),
            "dead_letter",
        )
    if roll < 0.70:
        field = rng.choice(["occurred_at", "customer_id", "event_id", "type", "source"])
        document[field] = rng.choice([123, [], {}, None, True, 1.5e308])
        return Sent(
            "wrong_type", kind, customer.encode(), json.dumps(document).encode(), "dead_letter"
        )
    if roll < 0.73:
        field = rng.choice(["text", "title", "note", "event_id"])
        document[field] = "x" * rng.choice([30_000, 50_000])
        # Over the id or text limits: rejected. A field the type does not have is an unknown
        # extra field, ignored by the contract's policy: forwarded.
        expect = "dead_letter" if field == "event_id" else "either"
        return Sent("huge_string", kind, customer.encode(), json.dumps(document).encode(), expect)
    if roll < 0.75:
        return Sent(
            "oversized",
            kind,
            customer.encode(),
            b" " * (MAX_RECORD_BYTES + 1) + value,
            "dead_letter",
        )
    if roll < 0.78:
        for name, item in list(document.items()):
            if isinstance(item, str) and name not in ("type", "occurred_at"):
                document[name] = item[:3] + "\u0000\u0007\u001b\u202e" + item[3:]
        return Sent(
            "control_chars", kind, customer.encode(), json.dumps(document).encode(), "either"
        )
    if roll < 0.81:
        depth = rng.choice([50, 2_000, 100_000])
        return Sent(
            "deep_nesting", kind, customer.encode(), b"[" * depth + b"]" * depth, "dead_letter"
        )
    if roll < 0.84:
        return Sent("missing_key", kind, None, value, "dead_letter")
    if roll < 0.87:
        document["type"] = rng.choice(["telepathy", "", "PURCHASE", "purchase ", None])
        return Sent(
            "unknown_type", kind, customer.encode(), json.dumps(document).encode(), "dead_letter"
        )
    if roll < 0.90:
        document["occurred_at"] = "2099-01-01T00:00:00+00:00"
        return Sent("future", kind, customer.encode(), json.dumps(document).encode(), "dead_letter")
    if roll < 0.92:
        return Sent("tombstone", kind, customer.encode(), None, "dead_letter")
    if roll < 0.95:
        document.pop(rng.choice([k for k in document if k not in ("type",)]))
        return Sent(
            "missing_field", kind, customer.encode(), json.dumps(document).encode(), "either"
        )
    document["unexpected"] = {"nested": [1, 2, {"deeper": "value"}]}
    return Sent("extra_field", kind, customer.encode(), json.dumps(document).encode(), "canonical")


def test_fuzz_every_record_is_forwarded_or_dead_lettered_exactly_once(
    kafka_bootstrap: str,
) -> None:
    settings: Settings = service_settings(
        kafka_bootstrap, ingest=IngestSettings(max_record_bytes=MAX_RECORD_BYTES)
    )
    topics = settings.topics
    create_topics(settings)
    rng = random.Random(20261122)
    records: list[Sent] = []
    good: list[Sent] = []
    for index in range(N_RECORDS):
        sent = adversarial(rng, good, index)
        records.append(sent)
        if sent.category == "valid":
            good.append(sent)

    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        enable_idempotence=True,
        acks="all",
        max_request_size=2 * 1024 * 1024,
    )
    futures = [
        producer.send(
            topics.raw_feedback if sent.kind is EventKind.FEEDBACK else topics.raw_interactions,
            key=sent.key,
            value=sent.value,
        )
        for sent in records
    ]
    producer.flush()
    origins = {}
    for sent, future in zip(records, futures, strict=True):
        metadata = future.get(timeout=30)
        origins[(metadata.topic, metadata.partition, metadata.offset)] = sent
    producer.close()

    with running(INGEST, settings) as runner:
        wait_until_consumed(
            kafka_bootstrap,
            f"{settings.group_prefix}-ingest",
            [topics.raw_interactions, topics.raw_feedback],
        )
        assert not runner.stopping  # it never crashed
    canonical = read_to_end(kafka_bootstrap, [topics.canonical])
    dead = read_to_end(kafka_bootstrap, [topics.dead_letter])

    def origin_of_output(headers: list[tuple[str, bytes]]) -> tuple[str, int, int]:
        topic, partition, offset = dict(headers)[ORIGIN_HEADER].decode().rsplit(":", 2)
        return topic, int(partition), int(offset)

    def origin_of_letter(headers: list[tuple[str, bytes]]) -> tuple[str, int, int]:
        h = {k: v.decode() for k, v in headers}
        return h[ORIGIN_TOPIC], int(h[ORIGIN_PARTITION]), int(h[ORIGIN_OFFSET])

    forwarded = Counter(origin_of_output(r.headers) for r in canonical)
    lettered = Counter(origin_of_letter(r.headers) for r in dead)
    assert all(n == 1 for n in forwarded.values()), "a record was forwarded twice"
    assert all(n == 1 for n in lettered.values()), "a record was dead-lettered twice"
    assert not set(forwarded) & set(lettered), "a record was both forwarded and dead-lettered"

    outcome = dict.fromkeys(forwarded, "canonical") | dict.fromkeys(lettered, "dead_letter")
    skipped = [o for o in origins if o not in outcome]
    for origin, sent in origins.items():
        got = outcome.get(origin, "duplicate")
        if sent.expect in ("canonical", "dead_letter", "duplicate"):
            assert got == sent.expect, (sent.category, origin, got)
        else:
            assert got in ("canonical", "dead_letter"), (sent.category, origin, got)
    # Reconciled exactly: every record is accounted for once.
    assert len(forwarded) + len(lettered) + len(skipped) == N_RECORDS
    assert all(origins[o].category == "duplicate" for o in skipped)
    assert all(dict(r.headers).get(REASON) for r in dead), "every dead letter has a reason"
    # Every forwarded event id is unique: duplicates never got through twice.
    ids = Counter(json.loads(r.value)["event_id"] for r in canonical)
    assert max(ids.values()) == 1
    categories = Counter(s.category for s in records)
    print(
        f"\nfuzz: {dict(categories)}; forwarded {len(forwarded)}, dead-lettered "
        f"{len(lettered)}, duplicates skipped {len(skipped)}"
    )
