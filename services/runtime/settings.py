"""Every knob of every Rapport service, read once from the environment (prefix ``RAPPORT_``).

Keeping all settings in one model means one place documents them, one place validates them, and
services never read ``os.environ`` themselves.
"""

from __future__ import annotations

import socket
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Delivery(StrEnum):
    EXACTLY_ONCE = "exactly_once"
    AT_LEAST_ONCE = "at_least_once"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Topics(BaseModel):
    """Topic names; override one with e.g. ``RAPPORT_TOPICS__CANONICAL=my.canonical``."""

    raw_interactions: str = "rapport.raw.interactions"
    raw_feedback: str = "rapport.raw.feedback"
    canonical: str = "rapport.canonical"
    annotated: str = "rapport.annotated"
    score_updates: str = "rapport.score-updates"
    # Compacted: the latest score update per customer, so a new subscriber starts complete.
    scores_latest: str = "rapport.scores.latest"
    alerts: str = "rapport.alerts"
    erasure_completed: str = "rapport.erasure-completed"
    dead_letter: str = "rapport.dead-letter"
    # Compacted changelog of ingest's duplicate-suppression window, co-partitioned with the
    # raw topics.
    ingest_dedup: str = "rapport.ingest.dedup-changelog"

    def with_prefix(self, prefix: str) -> Topics:
        """Namespaced copy; tests and demos use it to share one broker without collisions."""
        return Topics(**{name: f"{prefix}{value}" for name, value in self.model_dump().items()})


class IngestSettings(BaseModel):
    """Ingest's knobs, e.g. ``RAPPORT_INGEST__REDACT_PII=false``."""

    # Upstream retries arrive within minutes; a week also covers replays after an outage.
    dedup_window_hours: float = Field(default=168.0, gt=0)
    # Hard memory bound per input partition (~150 bytes an id).
    dedup_max_ids_per_partition: int = Field(default=200_000, ge=1)
    redact_pii: bool = True
    # Any of: email, iban, card, ip, phone, address.
    pii_kinds: frozenset[str] = frozenset({"email", "iban", "card", "ip", "phone", "address"})
    # When set, customer ids leave ingest as a keyed hash (HMAC-SHA256) of themselves.
    pseudonymize_key: SecretStr | None = None
    max_record_bytes: int = Field(default=1_048_576, ge=1024)
    max_text_chars: int = Field(default=20_000, ge=1)
    max_future_skew_seconds: float = Field(default=300.0, ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAPPORT_", env_nested_delimiter="__", extra="ignore"
    )

    # The unprefixed name is the de-facto standard, honoured so one variable points every tool
    # (ours, kcat, the Java CLI) at the same cluster.
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAPPORT_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    topics: Topics = Topics()
    topic_partitions: int = Field(default=3, ge=1)
    group_prefix: str = "rapport"

    delivery: Delivery = Delivery.EXACTLY_ONCE
    # Stable across restarts of the same instance: a restarted producer with the same
    # transactional id fences its dead predecessor and aborts its open transaction at once,
    # instead of leaving read_committed consumers stuck until the transaction times out.
    instance_id: str = Field(default_factory=socket.gethostname)
    transaction_timeout_ms: int = Field(default=30_000, ge=1_000)

    # Static group membership (KIP-345) under the instance id: a restarted instance takes its
    # partitions back at once, without a rebalance and without waiting out the session timeout
    # of its dead predecessor.
    static_membership: bool = True
    # How long a silent member keeps its partitions before the group moves them.
    session_timeout_ms: int = Field(default=15_000, ge=6_000)

    max_poll_records: int = Field(default=500, ge=1)
    poll_timeout_ms: int = Field(default=500, ge=10)
    retry_initial_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=30.0, gt=0)
    shutdown_timeout_seconds: float = Field(default=30.0, gt=0)

    ingest: IngestSettings = IngestSettings()

    database_url: str = "sqlite:///rapport.db"
    # The trust and loyalty model's rules (RAPPORT_SCORING_CONFIG). None: the packaged
    # services/scoring/config/scoring.yaml. Every scoring instance of a deployment must use
    # the same file: the store refuses states written under another configuration's hash.
    scoring_config: Path | None = None

    http_host: str = "127.0.0.1"
    # None: each service's own default port (ingest 9101, sentiment 9102, scoring 9103).
    http_port: int | None = Field(default=None, ge=0, le=65535)
    # /healthz fails when the loop has not completed an iteration for this long.
    liveness_timeout_seconds: float = Field(default=60.0, gt=0)

    log_format: LogFormat = LogFormat.TEXT
    log_level: str = "INFO"

    kafka_cache_dir: Path = Path.home() / ".cache" / "rapport" / "kafka"
    # `rapport up`'s one directory of local state (broker data, SQLite database, logs), wiped
    # as a whole by `rapport up --reset` so that the broker and the database never disagree.
    state_dir: Path = Path.home() / ".local" / "state" / "rapport"
