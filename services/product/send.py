"""``rapport send``: upstream events from files to their raw topics, as a well-behaved producer.

Each event is validated with the very code ingest runs (``schemas.validation``), routed to the
raw topic of its type, keyed by its customer (``schemas.identity``: the customer id, or
tenant|customer in a multi-tenant deployment, so a customer's events stay in order on one
partition) and sent with an idempotent producer (acks=all: a retry after a lost
acknowledgement never writes a record twice). ``validate=False`` sends everything as it is, to
watch ingest reject it with a dead letter.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.base import EventKind, ValidationPolicy
from schemas.identity import Tenancy
from schemas.upstream import kind_of_type
from schemas.validation import ContractError, parse_raw_event
from services.contract_cli import SourceRecord, read_records
from services.ingest.identifiers import IdentifierPolicy, apply_identifier_policy
from services.ingest.pii import ALL, PiiKind
from services.runtime.exceptions import PermanentError
from services.runtime.settings import Topics

if TYPE_CHECKING:
    from kafka import KafkaProducer

EVENT_FILE_SUFFIXES = (".json", ".ndjson", ".jsonl")


@dataclass
class Rejection:
    location: str
    reason: str
    message: str


@dataclass
class SendSummary:
    sent: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def rejected_by_reason(self) -> Counter[str]:
        return Counter(r.reason for r in self.rejected)

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "by_topic": dict(self.by_topic),
            "rejected": len(self.rejected),
            "rejected_by_reason": dict(self.rejected_by_reason),
            "rejections": [vars(r) for r in self.rejected],
        }


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes


def expand_paths(paths: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every file: ``-`` is standard input, a folder gives its event files
    (.json, .ndjson, .jsonl) in name order, recursively."""
    import sys

    for name in paths:
        if name == "-":
            yield "<stdin>", sys.stdin.buffer.read()
            continue
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix in EVENT_FILE_SUFFIXES:
                    yield str(child), child.read_bytes()
        else:
            yield str(path), path.read_bytes()


def plan(
    files: Iterable[tuple[str, bytes]],
    topics: Topics,
    validate: bool = True,
    policy: ValidationPolicy | None = None,
    *,
    tenancy: Tenancy | None = None,
    tenant: str | None = None,
    identifiers: IdentifierPolicy = IdentifierPolicy.REJECT,
    identifier_kinds: frozenset[PiiKind] = ALL,
) -> tuple[list[Outgoing], list[Rejection]]:
    """What to send where, and what was rejected (with ingest's reason codes).

    ``tenant`` sends every event as that tenant's (its ``tenant_id`` set, replacing any other):
    the same files can then be sent for several tenants of a multi-tenant deployment.
    """
    outgoing: list[Outgoing] = []
    rejected: list[Rejection] = []
    tenancy = tenancy or Tenancy()
    # As ingest validates in this deployment: an event without tenant is missing_tenant.
    policy = replace(policy or ValidationPolicy(), require_tenant=tenancy.multi_tenant)
    for name, data in files:
        for read in read_records(data):
            location = f"{name}:{read.location}"
            record = (
                read
                if tenant is None
                else SourceRecord(read.location, _with_tenant(read.value, tenant))
            )
            routed = _route(
                record,
                topics,
                validate,
                policy,
                tenancy,
                identifiers=identifiers,
                identifier_kinds=identifier_kinds,
            )
            if isinstance(routed, Rejection):
                routed.location = location
                rejected.append(routed)
            else:
                outgoing.append(routed)
    return outgoing, rejected


def _with_tenant(value: bytes, tenant: str) -> bytes:
    try:
        document = json.loads(value)
    except ValueError:
        return value  # not an event: validation (or ingest) says so
    if not isinstance(document, dict):
        return value
    return json.dumps({**document, "tenant_id": tenant}).encode()


def _route(
    record: SourceRecord,
    topics: Topics,
    validate: bool,
    policy: ValidationPolicy | None,
    tenancy: Tenancy,
    *,
    identifiers: IdentifierPolicy = IdentifierPolicy.REJECT,
    identifier_kinds: frozenset[PiiKind] = ALL,
) -> Outgoing | Rejection:
    topic_of = {
        EventKind.INTERACTION: topics.raw_interactions,
        EventKind.FEEDBACK: topics.raw_feedback,
    }
    if validate:
        try:
            parsed = parse_raw_event(record.value, None, policy)
        except ContractError as exc:
            message = "; ".join(str(p) for p in exc.problems)
            return Rejection("", str(exc.problems[0].reason) if exc.problems else "?", message)
        event = parsed.event
        if identifiers is IdentifierPolicy.REJECT:  # as ingest would, with its message
            try:
                apply_identifier_policy(event, identifiers, identifier_kinds)
            except PermanentError as exc:
                return Rejection("", exc.reason, exc.message)
        key = tenancy.customer_key(event.tenant_id, event.customer_id)
        return Outgoing(topic_of[parsed.kind], key, record.value)
    # Unvalidated: route by the type if there is one; anything else goes to the feedback topic,
    # where ingest dead-letters it with its reason.
    try:
        document = json.loads(record.value)
    except ValueError:
        document = None
    fields = document if isinstance(document, dict) else {}
    kind = kind_of_type(str(fields.get("type", ""))) or EventKind.FEEDBACK
    customer, tenant = fields.get("customer_id"), fields.get("tenant_id")
    if not isinstance(customer, str | int):
        return Outgoing(topic_of[kind], None, record.value)
    tenant_id = tenant if isinstance(tenant, str) else None
    return Outgoing(topic_of[kind], tenancy.customer_key(tenant_id, str(customer)), record.value)


def idempotent_producer(bootstrap_servers: str, client_id: str) -> KafkaProducer:
    """What upstream should use: acks=all and idempotence, so a retry after a lost
    acknowledgement never writes a record twice."""
    from kafka import KafkaProducer

    from services.runtime.kafka_security import client_security
    from services.runtime.settings import Settings

    return KafkaProducer(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=10,
        client_id=client_id,
        **client_security(Settings()),
    )


def send(
    bootstrap_servers: str,
    outgoing: list[Outgoing],
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Send and wait for every acknowledgement; returns counts by topic."""
    producer = idempotent_producer(bootstrap_servers, "rapport-send")
    by_topic: Counter[str] = Counter()
    try:
        futures = []
        for index, item in enumerate(outgoing, start=1):
            futures.append(producer.send(item.topic, key=item.key, value=item.value))
            if progress is not None and index % 100 == 0:
                progress(100)
        producer.flush()
        for item, future in zip(outgoing, futures, strict=True):
            future.get(timeout=30)  # raises if the broker refused it
            by_topic[item.topic] += 1
        if progress is not None:
            progress(len(outgoing) % 100)
    finally:
        producer.close()
    return by_topic
