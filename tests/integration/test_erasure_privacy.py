"""Erasure that reaches every copy (issue 12), on the real broker with the three services.

A customer's events carry personal data in free text, headers, identifiers and unknown fields;
some are dead-lettered. After the customer's erasure no plaintext of those values is readable
anywhere Rapport wrote (every topic read back, the database dumped, the service logs), the
customer's dead letters cannot be decrypted, and another customer's dead letters still replay.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import MetaData, create_engine, select

from schemas.downstream import ErasureCompleted, ErasureReceipt
from services.ingest.service import SPEC as INGEST
from services.runtime import shredding
from services.runtime.deadletter import REASON, dead_letter
from services.runtime.dlq_tools import read_dead_letters, replay
from services.runtime.erasure import status
from services.runtime.records import InRecord
from services.runtime.settings import PrivacySettings, Settings
from services.runtime.shredding import SEALED_KEY, KeyStatus
from services.scoring.service import SPEC as SCORING
from services.sentiment.service import SPEC as SENTIMENT
from tests.support.cli import cli_env, rapport
from tests.support.kafka import (
    create_topics,
    produce,
    read_to_end,
    running,
    service_settings,
    wait_until_consumed,
)

pytestmark = pytest.mark.kafka

ERASED = "cust-erase-1"
KEPT = "cust-keep-1"
EMAIL = "jane.secret.doe@example.com"
CARD = "4111111111111111"
CARD_SPACED = "4111 1111 1111 1111"
PHONE = "+49 30 901820 77"
MASTER_KEY = "k" * 40
SECRETS = (EMAIL, CARD, CARD_SPACED, PHONE, "jane.secret")


def event(customer: str, event_id: str, **fields: object) -> dict[str, object]:
    return {
        "type": "free_comment",
        "event_id": event_id,
        "customer_id": customer,
        "occurred_at": "2026-11-01T10:00:00Z",
        "source": "mobile-app",
        "text": "fine",
        **fields,
    }


def encoded(document: dict[str, object]) -> bytes:
    return json.dumps(document).encode()


def raw_records(customer: str) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """(key, value, headers): two accepted events and three dead letters of ``customer``."""
    header = [("x-user-email", EMAIL.encode()), ("x-phone", PHONE.encode())]
    key = customer.encode()
    return [
        # Accepted: personal data in free text (redacted) and in unknown fields (name and value).
        (
            key,
            encoded(
                event(
                    customer,
                    f"{customer}-1",
                    text=f"Call me on {PHONE} or write to {EMAIL}, card {CARD_SPACED}. Great app",
                    favourite_contact=EMAIL,
                    **{EMAIL: "yes"},
                )
            ),
            header,
        ),
        (key, encoded(event(customer, f"{customer}-2", text="Terrible, I am leaving")), header),
        # Dead letters: truncated JSON with a card number, a contract violation quoting the
        # e-mail address, a card number in an identifier (review_id).
        (key, f'{{"customer_id": "{customer}", "text": "card {CARD}'.encode(), header),
        (key, encoded(event(customer, f"{customer}-3", occurred_at=EMAIL, text=EMAIL)), header),
        (
            key,
            encoded(
                {
                    **event(customer, f"{customer}-4", text=f"write to {EMAIL}"),
                    "type": "review",
                    "stars": 1,
                    "review_id": f"rv-{CARD}",
                }
            ),
            header,
        ),
    ]


def leaks(data: bytes | None) -> list[str]:
    text = (data or b"").decode("utf-8", "replace")
    return [secret for secret in SECRETS if secret in text]


def test_erasure_leaves_no_readable_copy_of_the_customer(
    kafka_bootstrap: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The services log at INFO; kafka-python's DEBUG logs would show record bytes (docs/privacy.md).
    caplog.set_level(logging.INFO)
    settings = service_settings(
        kafka_bootstrap,
        database_url=database_url,
        accept_non_durable_database=True,
        privacy=PrivacySettings(master_key=MASTER_KEY),
    )
    # The customer id itself an e-mail address: refused, sealed under the bucket key.
    refused = encoded(event(EMAIL, "refused-1", text=f"I am {EMAIL}"))
    _run_and_erase(settings, refused)
    topics = settings.topics

    # 1. Every topic Rapport writes, read back: no plaintext of the values.
    written = [name for field, name in topics.model_dump().items() if not field.startswith("raw_")]
    found: Counter[str] = Counter()
    for record in read_to_end(kafka_bootstrap, written):
        for part in (record.key, record.value, *(v for _, v in record.headers)):
            for secret in leaks(part):
                found[f"{record.topic}: {secret}"] += 1
    assert not found, found

    # 2. The database, dumped: nothing of the values, no row of the erased customer.
    dump = _dump(database_url)
    assert not leaks(dump.encode())
    # Only the outbox names the customer: the erasure's own outputs (the tombstone, the
    # receipt), pruned at the partition's next batch (docs/privacy.md).
    named = [line for line in dump.splitlines() if ERASED in line]
    assert all(line.startswith("outbox: ") for line in named), named
    assert all(
        topics.scores_latest in line or topics.erasure_completed in line for line in named
    ), named
    assert KEPT in dump  # the dump is real: the other customer is there
    if database_url.startswith("sqlite:///"):
        # Even the file's bytes, free pages included, never held the values (ingest redacts).
        assert not leaks(Path(database_url.removeprefix("sqlite:///")).read_bytes())

    # 3. The service logs (the services ran in this process).
    assert caplog.messages
    assert not leaks("\n".join(caplog.messages).encode())

    # 4. The receipt, and the erasure status from the running system.
    fresh = shredding.connect(settings, kafka_bootstrap)  # a restarted instance's view
    receipt = _check_receipt(settings, fresh)

    # 5. The erased customer's dead letters cannot be decrypted; the others' can.
    letters = list(read_dead_letters(kafka_bootstrap, topics.dead_letter, shredder=fresh))
    assert all(letter.sealed_with for letter in letters)
    unreadable = [letter for letter in letters if letter.unreadable is not None]
    assert [letter.unreadable for letter in unreadable] == [KeyStatus.ERASED] * 3
    opened = {letter.value for letter in letters if letter.unreadable is None}
    assert len(opened) == 4
    assert refused in opened  # the bucket key's: readable until the bucket expires
    kept = {value for _, value, _ in raw_records(KEPT)[2:]}
    assert kept <= opened
    assert all(
        ("x-user-email", EMAIL.encode()) in letter.original_headers
        for letter in letters
        if letter.value in kept
    )

    # The commands a person runs: `rapport erasure status`, `rapport dlq show`.
    status_json = json.loads(_rapport(settings, "erasure", "status", ERASED, "--json"))
    assert status_json["erased"] is True
    assert status_json["live_dead_letter_keys"] == 0
    assert status_json["receipts"][0]["receipt"]["dead_letter_keys_destroyed"] == 1
    status_text = _rapport(settings, "erasure", "status", ERASED)
    assert "dead-letter keys destroyed: 1" in status_text
    print(f"\n$ rapport erasure status {ERASED}\n{status_text}")
    shown = json.loads(_rapport(settings, "dlq", "show", "--json"))
    assert Counter(item["unreadable_because"] for item in shown) == {None: 4, "erased": 3}
    assert not any(leaks(json.dumps(item).encode()) for item in shown if not item["readable"])

    # 6. Replay: the erased customer's records are reported and skipped, the others re-sent.
    report = replay(kafka_bootstrap, topics.dead_letter, shredder=fresh)
    assert report.skipped_unreadable == Counter({KeyStatus.ERASED: 3})
    assert sum(report.replayed.values()) == 4
    replayed = [
        r
        for r in read_to_end(kafka_bootstrap, [topics.raw_feedback])
        if any(k == "rapport.replayed.from" for k, _ in r.headers)
    ]
    assert {r.value for r in replayed} == opened
    assert not any(r.key == ERASED.encode() for r in replayed)
    print(
        f"\nerasure receipt: {receipt.model_dump_json()}\n"
        f"dead letters: {len(letters)}, unreadable after erasure: {len(unreadable)} "
        f"({Counter(str(x.unreadable) for x in unreadable)}), replayed: {dict(report.replayed)}"
    )


def _run_and_erase(settings: Settings, refused: bytes) -> None:
    """The customers' events through the three services, then the erasure request."""
    bootstrap, topics = settings.kafka_bootstrap_servers or "", settings.topics
    create_topics(settings)
    _produce_with_headers(bootstrap, topics.raw_feedback, raw_records(ERASED) + raw_records(KEPT))
    _produce_with_headers(bootstrap, topics.raw_feedback, [(EMAIL.encode(), refused, [])])
    group = settings.group_prefix

    def drained(raw_topic: str) -> None:
        wait_until_consumed(bootstrap, f"{group}-ingest", [raw_topic], 180)
        wait_until_consumed(bootstrap, f"{group}-sentiment", [topics.canonical], 180)
        wait_until_consumed(bootstrap, f"{group}-scoring", [topics.annotated], 180)

    with ExitStack() as stack:
        for spec in (INGEST, SENTIMENT, SCORING):
            stack.enter_context(running(spec, settings))
        drained(topics.raw_feedback)
        letters = read_to_end(bootstrap, [topics.dead_letter])
        assert len(letters) == 7, [dict(r.headers)[REASON] for r in letters]
        assert all(SEALED_KEY in dict(r.headers) for r in letters)
        erasure: dict[str, object] = {
            "type": "erasure_request",
            "event_id": "erase-1",
            "customer_id": ERASED,
            "occurred_at": "2026-11-02T10:00:00Z",
            "source": "privacy-desk",
            "request_id": "ER-1",
        }
        produce(bootstrap, topics.raw_interactions, [(ERASED.encode(), encoded(erasure))])
        drained(topics.raw_interactions)


def _check_receipt(settings: Settings, fresh: shredding.Shredder) -> ErasureReceipt:
    bootstrap, topics = settings.kafka_bootstrap_servers or "", settings.topics
    completions = [(r.key, r.value) for r in read_to_end(bootstrap, [topics.erasure_completed])]
    receipts = [ErasureCompleted.model_validate_json(value or b"") for _, value in completions]
    assert [r.customer_id for r in receipts] == [ERASED]
    receipt = receipts[0].receipt
    assert receipt is not None
    assert receipt.dead_letter_keys_destroyed == 1  # one period, so one key of the customer
    assert receipt.tombstones == (topics.scores_latest,)
    assert "customer_state" in receipt.database_tables
    assert {c.topic for c in receipt.remaining} >= {topics.dead_letter, topics.canonical}
    latest = [(r.key, r.value) for r in read_to_end(bootstrap, [topics.scores_latest])]
    now = status(
        settings, ERASED, None, erasure_records=completions, latest_records=latest, shredder=fresh
    )
    assert (len(now.receipts), now.live_dead_letter_keys, now.latest_score_present) == (1, 0, False)
    return receipt


def _dump(database_url: str) -> str:
    """Every row of every table, as text (the same on SQLite and PostgreSQL)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            return "\n".join(
                f"{table.name}: {tuple(row)}"
                for table in metadata.sorted_tables
                for row in connection.execute(select(table))
            )
    finally:
        engine.dispose()


def _rapport(settings: Settings, *args: str) -> str:
    """The ``rapport`` command against this test's topics; its standard output."""
    return rapport(cli_env(settings, RAPPORT_PRIVACY__MASTER_KEY=MASTER_KEY), *args)


def _produce_with_headers(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    for key, value, headers in records:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    producer.close()


def test_an_erased_customers_key_is_compacted_out_of_the_key_topic(kafka_bootstrap: str) -> None:
    """The receipt's ``keys_removed_by``, shrunk to seconds: after the tombstone (and a later
    write that rolls the segment) the cleaner removes the wrapped key itself, so not even a
    reader of the raw log who holds the master key can open the dead letters any more."""
    settings = service_settings(
        kafka_bootstrap,
        privacy=PrivacySettings(master_key=MASTER_KEY, key_compaction_lag_hours=1 / 3600),
    )
    create_topics(settings)
    topic = settings.topics.privacy_keys
    keys = shredding.connect(settings, kafka_bootstrap)
    key, value, headers = raw_records(ERASED)[2]
    record = InRecord(settings.topics.raw_feedback, 0, 0, key, value, headers)
    letter = dead_letter(
        record,
        topic=settings.topics.dead_letter,
        service="ingest",
        reason="invalid_json",
        message="truncated",
        error_class="PermanentError",
    )
    key_id = dict(keys.seal(record, letter).headers)[SEALED_KEY]
    assert keys.erase_customer(None, ERASED) == 1
    keys.close()
    written = [r for r in read_to_end(kafka_bootstrap, [topic]) if r.key == key_id]
    # Destroyed for every Rapport reader (tombstone), still in the log until compaction.
    assert [r.value is None for r in written] == [False, True]
    [partition] = {r.partition for r in written}
    erased_at = time.monotonic()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    wrapped: list[bytes | None] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            # Kafka rolls a compacted topic's segment only on a write; a busy key topic gets
            # one with every new key. Here: a tombstone of a key that never existed.
            time.sleep(2)
            producer.send(topic, key=b"filler", value=None, partition=partition).get(30)
            in_log = [r.value for r in read_to_end(kafka_bootstrap, [topic]) if r.key == key_id]
            wrapped = [v for v in in_log if v is not None]
            if not wrapped:
                break
    finally:
        producer.close()
    assert not wrapped, "the destroyed key is still in the key topic"
    print(
        f"\nthe wrapped key left the key topic {time.monotonic() - erased_at:.0f} s after erasure"
    )
