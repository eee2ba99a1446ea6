"""Every Rapport topic's retention and compaction, declared once.

The services create their topics with these configs (``build_runner``), ``ensure_topics``
reports an existing topic that differs, and docs/privacy.md's table of copies computes each
topic's bound from the same declarations (``python -m services.runtime.privacydocs``), so the
promise and the configuration cannot drift apart.

How Kafka removes a record, and so how the bounds are computed:

* ``delete`` (time retention): a whole segment goes once its *newest* record is older than
  ``retention.ms``. A segment rolls at the latest ``segment.ms`` after its first record (Kafka
  also rolls an expired active segment to delete it). Timestamps are the producers' and may lie
  at most ``message.timestamp.after.max.ms`` in the future: twice that skew counts, once for the
  first record (the roll waits for it) and once for the newest (retention waits for it). So a
  record is gone from the log within retention + segment + 2 x skew + the broker's retention
  check interval, and from the disk ``file.delete.delay.ms`` later.
* ``compact`` (erasure by tombstone): the records before a tombstone become eligible for
  compaction once the tombstone's segment has rolled (at the latest
  ``min(segment.ms, max.compaction.lag.ms)`` after its first record) and ``max.compaction.lag.ms``
  has passed; the cleaner looks every ``log.cleaner.backoff.ms``. Kafka rolls a compacted
  topic's active segment only when a record is appended, so the bound holds on a partition that
  keeps receiving writes (``rapport.scores.latest`` gets every score update of a third of the
  customers). The tombstone itself, which holds only the key, stays ``delete.retention.ms``
  longer and goes at the next cleaning after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from services.runtime.settings import Settings, TopicRetention

HOUR_MS: Final = 3_600_000
DAY_MS: Final = 24 * HOUR_MS

# Broker settings the bounds rely on (Kafka 4.1 defaults; the local broker keeps them). They
# are not topic configs, so Rapport cannot set them; a cluster that raises them widens the bounds.
RETENTION_CHECK_INTERVAL_MS: Final = 300_000  # log.retention.check.interval.ms
CLEANER_BACKOFF_MS: Final = 15_000  # log.cleaner.backoff.ms

# Topic configs set on every topic, so the bounds do not depend on the broker's defaults.
FILE_DELETE_DELAY_MS: Final = 60_000  # Kafka's default
# Kafka 4's default: a producer's timestamp may not be more than an hour ahead, so a skewed
# clock cannot keep a segment (and the personal data in it) beyond its retention.
TIMESTAMP_AFTER_MAX_MS: Final = HOUR_MS

DELETE: Final = "delete"
COMPACT: Final = "compact"
COMPACT_DELETE: Final = "compact,delete"


@dataclass(frozen=True)
class TopicDeclaration:
    """One topic of ``schemas.topics.Topics``: its cleanup and what it holds."""

    field: str  # the attribute of Topics, e.g. "dead_letter"
    cleanup_policy: str
    holds: str
    erased: str  # how an erasure reaches it, or that it does not


TOPICS: Final = (
    TopicDeclaration(
        "raw_interactions",
        DELETE,
        "events as upstream sent them: ids, unredacted texts, headers; erasure requests",
        "not erased: expires",
    ),
    TopicDeclaration(
        "raw_feedback",
        DELETE,
        "feedback as upstream sent it: ids, unredacted texts, headers",
        "not erased: expires",
    ),
    TopicDeclaration(
        "canonical",
        DELETE,
        "validated events: ids (customer id pseudonymised with RAPPORT_INGEST__PSEUDONYMIZE_KEY), "
        "redacted texts, unknown field names",
        "not erased: expires",
    ),
    TopicDeclaration(
        "annotated",
        DELETE,
        "canonical events with their sentiment annotations",
        "not erased: expires",
    ),
    TopicDeclaration(
        "dead_letter",
        DELETE,
        "the rejected record's key, bytes, headers and message, sealed (AES-GCM) under its "
        "customer's data key, or a bucket key when the customer is unknown; in clear: the "
        "reason, origin, service, times and the key's id (a keyed hash, no customer id)",
        "crypto-shredded: erasure destroys the customer's keys (unreadable at once), bucket keys "
        "expire with the bucket; the ciphertext expires",
    ),
    TopicDeclaration(
        "ingest_dedup",
        COMPACT_DELETE,
        "event identities per partition: keyed hashes with RAPPORT_INGEST__DEDUP_KEY, else the "
        "ids as sent",
        "not erased: expires with the duplicate window (RAPPORT_INGEST__DEDUP_WINDOW_HOURS)",
    ),
    TopicDeclaration(
        "privacy_keys",
        COMPACT_DELETE,
        "the data keys sealing dead letters, wrapped with RAPPORT_PRIVACY__MASTER_KEY, keyed by "
        "a keyed hash of the customer (no customer id) and the key's period",
        "tombstoned on erasure, removed by compaction; a key expires with the dead letters it "
        "seals",
    ),
    TopicDeclaration(
        "scoring_ticks",
        DELETE,
        "scoring's wall-clock ticks of idle annotated partitions and where they were applied: "
        "partition numbers, offsets, times; no customer data",
        "nothing to erase: expires",
    ),
    TopicDeclaration(
        "score_updates",
        DELETE,
        "customer id, scores, drivers, the generated one-line summary, the causing event id",
        "not erased: expires",
    ),
    TopicDeclaration(
        "scores_latest",
        COMPACT,
        "the latest score update per customer (as on score-updates), keyed by customer id",
        "tombstone on erasure, removed by compaction; the tombstone (key only) stays longer",
    ),
    TopicDeclaration(
        "alerts",
        DELETE,
        "customer id, alert kind, message, causing event ids",
        "not erased: expires (no resolution is published for an erased customer)",
    ),
    TopicDeclaration(
        "erasure_completed",
        DELETE,
        "the erasure receipt: customer id, request id, what was erased",
        "kept on purpose as the receipt: expires",
    ),
)


def _ms(days: float = 0.0, hours: float = 0.0) -> int:
    return round(days * DAY_MS + hours * HOUR_MS)


def retention_ms(declaration: TopicDeclaration, settings: Settings) -> int | None:
    """The topic's ``retention.ms``; None for a compact-only topic (kept until compacted)."""
    retention = settings.retention
    if declaration.cleanup_policy == COMPACT:
        return None
    if declaration.field == "ingest_dedup":
        # The duplicate window: older ids are of no use to ingest.
        return _ms(hours=settings.ingest.dedup_window_hours)
    if declaration.field == "dead_letter":
        return _ms(days=retention.dead_letter_days)
    if declaration.field == "privacy_keys":
        return key_lifetime_ms(settings)
    if declaration.field in ("score_updates", "alerts", "erasure_completed"):
        return _ms(days=retention.published_days)
    return _ms(days=retention.pipeline_days)


def declared_configs(declaration: TopicDeclaration, settings: Settings) -> dict[str, str]:
    retention: TopicRetention = settings.retention
    configs = {
        "cleanup.policy": declaration.cleanup_policy,
        "segment.ms": str(_ms(hours=retention.segment_hours)),
        "message.timestamp.after.max.ms": str(TIMESTAMP_AFTER_MAX_MS),
        "file.delete.delay.ms": str(FILE_DELETE_DELAY_MS),
    }
    kept = retention_ms(declaration, settings)
    if kept is not None:
        configs["retention.ms"] = str(kept)
    if COMPACT in declaration.cleanup_policy.split(","):
        configs["max.compaction.lag.ms"] = str(_ms(hours=retention.compaction_lag_hours))
        configs["delete.retention.ms"] = str(_ms(hours=retention.tombstone_hours))
    if declaration.field == "privacy_keys":
        # An erased customer's key must go soon, not after a day: short segments and lag.
        lag = str(_ms(hours=settings.privacy.key_compaction_lag_hours))
        configs["segment.ms"] = configs["max.compaction.lag.ms"] = lag
    return configs


def dead_letter_bound_ms(settings: Settings) -> int:
    """How long a dead letter stays readable after it was written (docs/privacy.md)."""
    dead_letter = next(d for d in TOPICS if d.field == "dead_letter")
    return bounds(declared_configs(dead_letter, settings)).readable_ms


def key_lifetime_ms(settings: Settings) -> int:
    """How long a dead-letter data key is kept after its period starts: the period (the key
    seals dead letters written during it) plus the dead-letter topic's bound (the last of them
    is readable that long), so no key goes before its ciphertext."""
    return _ms(hours=settings.privacy.key_period_hours) + dead_letter_bound_ms(settings)


def compaction_bound_ms(configs: dict[str, str]) -> int:
    """A compacted topic's bound for a tombstoned key's earlier values, also for
    ``compact,delete`` (whose ``bounds`` is its retention)."""
    return bounds({k: v for k, v in configs.items() if k != "retention.ms"}).readable_ms


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic name -> the configs Rapport creates it with, for every topic of the contract."""
    names = settings.topics.model_dump()
    return {names[d.field]: declared_configs(d, settings) for d in TOPICS}


@dataclass(frozen=True)
class Bounds:
    """How long after it was written (or after the erasure, for a tombstoned key) a record can
    still be read from the log, and when it is gone from the disk too."""

    readable_ms: int
    on_disk_ms: int
    key_readable_ms: int | None = None  # compacted topics: the tombstone's key


def bounds(configs: dict[str, str]) -> Bounds:
    """The bound a topic's configs give (see the module docstring for the reasoning)."""
    segment = int(configs["segment.ms"])
    delay = int(configs["file.delete.delay.ms"])
    if "retention.ms" in configs:
        readable = (
            int(configs["retention.ms"])
            + segment
            + 2 * int(configs["message.timestamp.after.max.ms"])
            + RETENTION_CHECK_INTERVAL_MS
        )
        return Bounds(readable, readable + delay)
    lag = int(configs["max.compaction.lag.ms"])
    compacted = min(segment, lag) + lag + CLEANER_BACKOFF_MS
    # The tombstone: delete.retention.ms after that cleaning, then the next cleaning.
    key = compacted + int(configs["delete.retention.ms"]) + min(segment, lag) + lag
    return Bounds(compacted, compacted + delay, key + CLEANER_BACKOFF_MS)


def merged_configs(
    settings: Settings, extra: dict[str, dict[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """The declared configs, with a service's own (``ServiceSpec.topic_configs``) on top."""
    configs = topic_configs(settings)
    for name, more in (extra or {}).items():
        configs[name] = {**configs.get(name, {}), **more}
    return configs
