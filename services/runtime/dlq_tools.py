"""Reading, summarising and replaying the dead-letter topic.

A replay re-sends a dead letter's original key, value and headers to the topic it came from,
once the cause is fixed. It reads a snapshot (up to the end offsets at the start), so records
that fail again and land in the dead-letter topic during the replay are not replayed in a loop.
Replaying the same record twice is harmless: ingest drops the second copy by its event id.
A sealed dead letter (services/runtime/shredding.py) is opened with its key; one whose key was
destroyed by an erasure (or expired) is reported as such and never replayed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer

from services.runtime import deadletter
from services.runtime.kafka_io import translate_kafka_errors
from services.runtime.records import Headers, InRecord
from services.runtime.shredding import SEALED_KEY, KeyStatus, Shredder
from services.runtime.topic_reader import read_to_end

REPLAYED_FROM = "rapport.replayed.from"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    original_headers: Headers
    dlq_headers: dict[str, str]
    # Why a sealed dead letter could not be opened (its key erased, expired or unknown); then
    # key, value and original headers are the ciphertext's, never to be replayed.
    unreadable: KeyStatus | None = None

    @property
    def reason(self) -> str:
        return self.dlq_headers.get(deadletter.REASON, "unknown")

    @property
    def origin_topic(self) -> str | None:
        return self.dlq_headers.get(deadletter.ORIGIN_TOPIC)

    @property
    def service(self) -> str:
        return self.dlq_headers.get(deadletter.SERVICE, "unknown")

    @property
    def sealed_with(self) -> str | None:
        return self.dlq_headers.get(SEALED_KEY)

    @property
    def failed_at(self) -> datetime:
        millis = int(self.dlq_headers.get(deadletter.TIMESTAMP, self.timestamp_ms))
        return datetime.fromtimestamp(millis / 1000, UTC)


def read_dead_letters(
    bootstrap_servers: str,
    topic: str,
    since: datetime | None = None,
    until: datetime | None = None,
    shredder: Shredder | None = None,
    **client_config: Any,
) -> Generator[DeadLetter, None, None]:
    """Dead letters committed so far, oldest first per partition, within [since, until); sealed
    ones opened with ``shredder``'s keys where they still live (else marked ``unreadable``).
    A generator: a caller that stops early closes it (``contextlib.closing``) so that the
    reader is done before ``shredder`` is."""
    chunks = read_to_end(
        bootstrap_servers,
        topic,
        client_id="rapport-dlq-tool",
        since_ms=int(since.timestamp() * 1000) if since is not None else None,
        **client_config,
    )
    for chunk in chunks:
        for record in chunk:
            letter = dead_letter_view(record)
            if until is None or letter.failed_at < until:
                yield opened(letter, shredder)


def opened(letter: DeadLetter, shredder: Shredder | None) -> DeadLetter:
    """The dead letter as it was before it was sealed, or marked unreadable."""
    if letter.sealed_with is None:
        return letter
    result = (
        shredder.open(letter.sealed_with, letter.value or b"")
        if shredder is not None
        else KeyStatus.UNKNOWN
    )
    if isinstance(result, KeyStatus):
        return replace(letter, unreadable=result)
    return replace(
        letter,
        key=result.key,
        value=result.value,
        original_headers=result.headers,
        dlq_headers={**letter.dlq_headers, deadletter.MESSAGE: result.message},
    )


def dead_letter_view(record: InRecord) -> DeadLetter:
    headers = record.headers
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp_ms,
        key=record.key,
        value=record.value,
        original_headers=[(k, v) for k, v in headers if not k.startswith(deadletter.HEADER_PREFIX)],
        dlq_headers={
            k: v.decode("utf-8", "replace")
            for k, v in headers
            if k.startswith(deadletter.HEADER_PREFIX)
        },
    )


@dataclass
class DeadLetterStats:
    total: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_service: Counter[str] = field(default_factory=Counter)
    by_origin: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    example_message: dict[str, str] = field(default_factory=dict)
    unreadable: Counter[str] = field(default_factory=Counter)  # by key status (erased…)


def summarize(letters: Iterator[DeadLetter]) -> DeadLetterStats:
    stats = DeadLetterStats()
    for letter in letters:
        stats.total += 1
        stats.by_reason[letter.reason] += 1
        stats.by_service[letter.service] += 1
        stats.by_origin[letter.origin_topic or "unknown"] += 1
        if letter.unreadable is not None:
            stats.unreadable[letter.unreadable] += 1
        else:
            stats.example_message.setdefault(
                letter.reason, letter.dlq_headers.get(deadletter.MESSAGE, "")
            )
        failed = letter.failed_at
        stats.first = failed if stats.first is None else min(stats.first, failed)
        stats.last = failed if stats.last is None else max(stats.last, failed)
    return stats


@dataclass
class ReplayReport:
    replayed: Counter[str] = field(default_factory=Counter)
    skipped_no_origin: int = 0
    # Sealed dead letters that cannot be opened, by why: "erased" (the customer was erased),
    # "expired", "unknown". Never replayed: their bytes are ciphertext.
    skipped_unreadable: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False


def replay(
    bootstrap_servers: str,
    topic: str,
    *,
    reasons: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    shredder: Shredder | None = None,
    **client_config: Any,
) -> ReplayReport:
    report = ReplayReport(dry_run=dry_run)
    producer = (
        None
        if dry_run
        else KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            client_id="rapport-dlq-replay",
            **client_config,
        )
    )
    try:
        letters = read_dead_letters(
            bootstrap_servers, topic, since, until, shredder, **client_config
        )
        for letter in letters:
            if reasons and letter.reason not in reasons:
                continue
            if limit is not None and sum(report.replayed.values()) >= limit:
                break
            if not letter.origin_topic:
                report.skipped_no_origin += 1
                continue
            if letter.unreadable is not None:
                report.skipped_unreadable[letter.unreadable] += 1
                continue
            if producer is not None:
                # The marker lets the origin service and a person tell a replay from a retry.
                headers = [
                    *letter.original_headers,
                    (REPLAYED_FROM, f"{topic}:{letter.partition}:{letter.offset}".encode()),
                ]
                with translate_kafka_errors(f"replay to {letter.origin_topic}"):
                    producer.send(
                        letter.origin_topic, key=letter.key, value=letter.value, headers=headers
                    )
            report.replayed[letter.reason] += 1
        if producer is not None:
            with translate_kafka_errors("flush replayed records"):
                producer.flush()
    finally:
        if producer is not None:
            producer.close()
    return report
