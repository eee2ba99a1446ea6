"""Ingest: raw interaction and feedback topics -> canonical topic, keyed by customer
(``schemas.identity``: the customer id, or tenant|customer in multi-tenant deployments).

Besides validation and normalisation (``domain``), ingest suppresses duplicate events (by
tenant and event id) within a window (``services.runtime.dedup``), keeping the window in a
compacted changelog topic written in the same transaction as the canonical events.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import timedelta
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge

from schemas import EventKind, ValidationPolicy
from schemas.identity import Tenancy
from services.ingest.domain import (
    IngestPolicy,
    canonical_key,
    check_record,
    event_identity,
    parse_raw,
)
from services.ingest.identifiers import IdentifierPolicy
from services.ingest.pii import PiiKind, event_pseudonym, is_event_pseudonym
from services.runtime.dedup import PartitionedDedup, RestoreFunction
from services.runtime.handlers import RecordHandler
from services.runtime.kafka_io import read_changelog
from services.runtime.kafka_security import client_security
from services.runtime.policy import ErrorPolicy
from services.runtime.records import InRecord, OutRecord, PartitionBatch, TopicPartition
from services.runtime.service import ServiceSpec
from services.runtime.settings import Settings

NAME = "ingest"


def ingest_policy(settings: Settings) -> IngestPolicy:
    config = settings.ingest
    key = config.pseudonymize_key
    return IngestPolicy(
        max_record_bytes=config.max_record_bytes,
        redact_pii=config.redact_pii,
        pii_kinds=frozenset(PiiKind(kind) for kind in config.pii_kinds),
        pseudonymize_key=key.get_secret_value().encode() if key is not None else None,
        validation=ValidationPolicy(
            max_text_chars=config.max_text_chars,
            max_future_skew=timedelta(seconds=config.max_future_skew_seconds),
        ),
        tenancy=settings.tenancy,
        identifier_personal_data=IdentifierPolicy(config.identifier_personal_data),
    )


class IngestHandler:
    def __init__(self, settings: Settings, dedup: PartitionedDedup, policy: ErrorPolicy) -> None:
        self._topics = settings.topics
        self._policy = ingest_policy(settings)
        self._dedup = dedup
        self._kinds = {
            settings.topics.raw_interactions: EventKind.INTERACTION,
            settings.topics.raw_feedback: EventKind.FEEDBACK,
        }
        self._errors = policy
        self._changelog_identity = changelog_identity(settings)
        self._records = RecordHandler(policy, self.process)
        self._registry: CollectorRegistry | None = None
        self.duplicates = Counter(
            "rapport_ingest_duplicates", "Duplicate event ids skipped", ["topic"], registry=None
        )
        self.pii = Counter(
            "rapport_ingest_pii_redactions", "Personal data items redacted", ["kind"], registry=None
        )
        self.dedup_ids = Gauge(
            "rapport_ingest_dedup_ids", "Event ids in the dedup windows", registry=None
        )
        self.dedup_evictions = Counter(
            "rapport_ingest_dedup_evictions",
            "Event ids dropped from a dedup window by its size cap before the window ended "
            "(their duplicates would pass)",
            registry=None,
        )

    def register_metrics(self, registry: CollectorRegistry) -> None:
        for metric in (self.duplicates, self.pii, self.dedup_ids, self.dedup_evictions):
            registry.register(metric)

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]:
        evicted_before = self._dedup.evicted_by_size()
        outputs = self._records.handle_batch(batch)
        self.dedup_ids.set(self._dedup.size())
        self.dedup_evictions.inc(self._dedup.evicted_by_size() - evicted_before)
        return outputs

    def reset_partitions(self, partitions: Collection[TopicPartition]) -> None:
        self._dedup.reset(partitions)

    def process(self, record: InRecord) -> list[OutRecord]:
        check_record(record.key, record.value, self._policy)
        event = parse_raw(record.value, self._kinds[record.topic], policy=self._policy)
        tenancy = self._policy.tenancy
        # Keyed by customer: all of a customer's events share a partition and stay in order.
        canonical = OutRecord(
            self._topics.canonical,
            canonical_key(event, tenancy),
            event.model_dump_json(exclude_none=True).encode(),
        )
        # Before the duplicate check, which remembers the id: a record refused as too large
        # must not make its corrected re-send look like a duplicate.
        self._errors.check_sizes([canonical])
        identity = self._changelog_identity(event_identity(event, tenancy))
        if self._dedup.is_duplicate(record.tp, identity, record.timestamp_ms):
            self.duplicates.labels(record.topic).inc()
            return []
        for kind, count in event.pii_redactions.items():
            self.pii.labels(kind).inc(count)
        return [
            canonical,
            self._dedup.changelog_record(record.tp, identity, record.timestamp_ms),
        ]


def build_handler(settings: Settings, policy: ErrorPolicy) -> IngestHandler:
    assert settings.kafka_bootstrap_servers
    dedup = PartitionedDedup(
        changelog_topic=settings.topics.ingest_dedup,
        changelog_partitions=settings.topic_partitions,
        window_ms=int(settings.ingest.dedup_window_hours * 3_600_000),
        max_entries_per_partition=settings.ingest.dedup_max_ids_per_partition,
        restore=keyed_restore(
            changelog_identity(settings),
            tenant_aware_restore(
                settings.tenancy,
                partial(
                    read_changelog,
                    settings.kafka_bootstrap_servers,
                    settings.topics.ingest_dedup,
                    **client_security(settings),
                ),
            ),
        ),
    )
    return IngestHandler(settings, dedup, policy)


def changelog_identity(settings: Settings) -> Callable[[str], str]:
    """How the duplicate window and its changelog name an event: its identity as it is, or,
    with ``RAPPORT_INGEST__DEDUP_KEY``, a keyed hash of it (the changelog keeps ids for the
    whole window, and some upstream systems build them from e-mail addresses)."""
    secret = settings.ingest.dedup_key
    if secret is None:
        return _unchanged
    key = secret.get_secret_value().encode()
    return lambda identity: event_pseudonym(identity, key)


def _unchanged(identity: str) -> str:
    return identity


def keyed_restore(identity_of: Callable[[str], str], restore: RestoreFunction) -> RestoreFunction:
    """The changelog in the form the window uses now: entries stored before the key was set
    (plain identities) are hashed as they are read, so turning the key on loses no window."""
    if identity_of is _unchanged:
        return restore

    def restored(partition: int) -> Iterable[tuple[str, int]]:
        for stored, timestamp_ms in restore(partition):
            yield (stored if is_event_pseudonym(stored) else identity_of(stored)), timestamp_ms

    return restored


def tenant_aware_restore(tenancy: Tenancy, restore: RestoreFunction) -> RestoreFunction:
    """The changelog as this deployment keys events now: entries written before it became
    multi-tenant (keyed by the event id alone) belong to the default tenant."""

    def restored(partition: int) -> Iterable[tuple[str, int]]:
        for stored, timestamp_ms in restore(partition):
            yield tenancy.normalize_event_identity(stored), timestamp_ms

    return restored


SPEC = ServiceSpec(
    name=NAME,
    default_port=9101,
    input_topics=lambda s: [s.topics.raw_interactions, s.topics.raw_feedback],
    output_topics=lambda s: [s.topics.canonical, s.topics.ingest_dedup],
    build_handler=build_handler,
    # The changelog's compaction and window retention: services/runtime/topic_configs.py.
)
