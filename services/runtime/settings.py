"""Every knob of every Rapport service, read once from the environment (prefix ``RAPPORT_``).

Keeping all settings in one model means one place documents them, one place validates them, and
services never read ``os.environ`` themselves.
"""

from __future__ import annotations

import socket
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.identity import Tenancy, TenancyMode
from schemas.topics import Topics

__all__ = [
    "Delivery",
    "IngestSettings",
    "LogFormat",
    "ScoringLimits",
    "Settings",
    "Tenancy",
    "TenancyMode",
    "Topics",
]


class Delivery(StrEnum):
    EXACTLY_ONCE = "exactly_once"
    AT_LEAST_ONCE = "at_least_once"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


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
    # When set, the duplicate window's changelog stores event identities as keyed hashes
    # (HMAC-SHA256), not as the ids upstream sent (which some systems build from e-mail
    # addresses); entries written before it was set are hashed as they are restored.
    dedup_key: SecretStr | None = None
    # Personal data in an identifier (customer_id, order_id…), which is copied to every topic
    # and table: reject (dead letter personal_data_in_identifier), pseudonymise (keyed hash;
    # needs pseudonymize_key) or allow.
    identifier_personal_data: Literal["reject", "pseudonymise", "allow"] = "reject"
    max_record_bytes: int = Field(default=1_048_576, ge=1024)
    max_text_chars: int = Field(default=20_000, ge=1)
    max_future_skew_seconds: float = Field(default=300.0, ge=0)

    @model_validator(mode="after")
    def _pseudonymising_needs_a_key(self) -> IngestSettings:
        if self.identifier_personal_data == "pseudonymise" and self.pseudonymize_key is None:
            raise ValueError(
                "identifier_personal_data=pseudonymise needs RAPPORT_INGEST__PSEUDONYMIZE_KEY"
            )
        return self


class ScoringLimits(BaseModel):
    """Input ranges scoring accepts, e.g. ``RAPPORT_SCORING__MAX_AMOUNT=1e9``. An annotated event
    outside them is a dead letter, not state: one absurd date would pin a customer's clock, one
    absurd amount their spend, for good."""

    # occurred_at may lie this far after the record's Kafka timestamp (clock skew upstream).
    # The record timestamp, not the wall clock, so a replay or a rebuild decides the same way.
    max_future_skew_seconds: float = Field(default=86_400.0, ge=0)
    # ... and this far before it (backfills of old history are fine, the year 1900 is not).
    max_event_age_days: float = Field(default=3_650.0, gt=0)
    # Largest absolute amount (order value, refund, price) in the event's currency.
    max_amount: float = Field(default=1e9, gt=0)
    # Wall-clock seconds after which an idle input partition gets a recorded tick (a record
    # written to it that moves its event-time watermark to the wall clock); 0: never.
    idle_tick_seconds: float = Field(default=300.0, ge=0)
    # Key of the keyed hashes scoring keeps of erased customers (erasure is final); unset: a
    # key generated once and kept in the scoring database (set one to keep it elsewhere).
    erasure_hash_key: SecretStr | None = None


# --- Topic retention (issue 12) -----------------------------------------------------------------


class TopicRetention(BaseModel):
    """How long Kafka keeps what Rapport writes: the bounds of docs/privacy.md's table.

    Set on the topics Rapport creates (services/runtime/topic_configs.py); an existing topic
    whose configs differ gets a warning with the command that aligns it."""

    # Raw, canonical and annotated topics: the replay window (`rapport scores rebuild` needs
    # every annotated event it should fold in).
    pipeline_days: float = Field(default=7.0, gt=0)
    # Dead letters, kept with the original bytes and headers of the rejected record.
    dead_letter_days: float = Field(default=7.0, gt=0)
    # Score updates, alerts and erasure confirmations, for downstream subscribers.
    published_days: float = Field(default=7.0, gt=0)
    # A segment rolls at least this often, so a record leaves at most this long after its
    # retention ends (Kafka deletes whole segments, when their newest record has expired).
    segment_hours: float = Field(default=24.0, gt=0)
    # Compacted topics: a superseded record, or an erased customer's latest score, becomes
    # eligible for compaction within this time.
    compaction_lag_hours: float = Field(default=24.0, gt=0)
    # Compacted topics: how long a tombstone stays readable after compaction, so a subscriber
    # that is behind still sees the erasure.
    tombstone_hours: float = Field(default=24.0, gt=0)


# --- Sentiment (issue 15) ------------------------------------------------------------------------


class SentimentSettings(BaseModel):
    """What the sentiment service reads, e.g. ``RAPPORT_SENTIMENT__FOREIGN_LANGUAGES='["fr"]'``."""

    # Languages besides English scored with their own lexicon (sentiment only, no emotions or
    # aspects; docs/sentiment.md "Language"). Text in any other language is published with
    # annotated=false, reason unsupported_language. []: English only.
    foreign_languages: frozenset[Literal["fr", "pt"]] = frozenset()


# --- Crypto-shredding of dead letters (issue 12) ------------------------------------------------


class PrivacySettings(BaseModel):
    """Keys that seal dead letters (services/runtime/shredding.py, docs/privacy.md), e.g.
    ``RAPPORT_PRIVACY__MASTER_KEY``."""

    # Wraps every data key in the key topic (AES-GCM) and keys the customer references there
    # (HMAC). At least 32 bytes; every instance of a deployment needs the same one. Unset: data
    # keys are stored unwrapped (erasure still destroys them; reading both topics decrypts).
    master_key: SecretStr | None = None
    # The other master keys still in use, newest first (a JSON list in the environment): the
    # one being introduced, or those rotated out until their data keys expire. Data keys they
    # wrapped open, and an erasure finds the customer's keys they named (docs/privacy.md,
    # "Rotating the master key"). New keys always use master_key.
    previous_master_keys: tuple[SecretStr, ...] = ()
    # A data key (per customer, or per bucket for records of no known customer) seals the dead
    # letters of one period; it is destroyed when that period's dead letters have expired.
    key_period_hours: float = Field(default=24.0, gt=0)
    # The key topic's max.compaction.lag.ms and segment.ms: an erased customer's key is
    # physically gone within about twice this (docs/privacy.md).
    key_compaction_lag_hours: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _long_enough(self) -> PrivacySettings:
        if self.master_key is not None and len(self.master_key.get_secret_value()) < 32:
            raise ValueError("RAPPORT_PRIVACY__MASTER_KEY needs at least 32 characters")
        if any(len(key.get_secret_value()) < 32 for key in self.previous_master_keys):
            raise ValueError(
                "each key of RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS needs at least 32 characters"
            )
        if self.previous_master_keys and self.master_key is None:
            raise ValueError(
                "RAPPORT_PRIVACY__PREVIOUS_MASTER_KEYS needs RAPPORT_PRIVACY__MASTER_KEY: "
                "rotating means a new master key"
            )
        return self


# --- end of crypto-shredding ----------------------------------------------------------------


# --- Kafka security (issue 14) ------------------------------------------------------------


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class KafkaSecurity(BaseModel):
    """How every Kafka client of Rapport authenticates and encrypts, e.g.
    ``RAPPORT_KAFKA_SECURITY__PROTOCOL=SASL_SSL``. Secrets can come from files (Kubernetes
    secrets mounted as volumes) instead of variables: ``…_FILE`` settings."""

    protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: FilePath | None = None
    # None: the system's trust store.
    ssl_cafile: FilePath | None = None
    # A client certificate (mutual TLS): PEM certificate, and its key unless in the same file.
    ssl_certfile: FilePath | None = None
    ssl_keyfile: FilePath | None = None
    ssl_key_password: SecretStr | None = None
    ssl_key_password_file: FilePath | None = None
    # Off only for a broker whose certificate names neither its host nor its address.
    ssl_check_hostname: bool = True

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)

    @property
    def uses_tls(self) -> bool:
        return self.protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        if self.sasl_password is not None and self.sasl_password_file is not None:
            raise ValueError("set sasl_password or sasl_password_file, not both")
        if self.ssl_key_password is not None and self.ssl_key_password_file is not None:
            raise ValueError("set ssl_key_password or ssl_key_password_file, not both")
        if self.uses_sasl and (
            not self.sasl_username
            or (self.sasl_password is None and self.sasl_password_file is None)
        ):
            raise ValueError(
                f"protocol {self.protocol} needs sasl_username and sasl_password "
                "(or sasl_password_file)"
            )
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError("ssl_keyfile without ssl_certfile: set the client certificate too")
        return self


# --- end of Kafka security ----------------------------------------------------------------


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value may be a secret (a master key too short, or given
    # as a string instead of a list), and a settings error ends up in the service's log.
    model_config = SettingsConfigDict(
        env_prefix="RAPPORT_", env_nested_delimiter="__", extra="ignore", hide_input_in_errors=True
    )

    # The unprefixed name is the de-facto standard, honoured so one variable points every tool
    # (ours, kcat, the Java CLI) at the same cluster.
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAPPORT_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    # Issue 14: TLS and SASL for every client (services, admin, CLI tools).
    kafka_security: KafkaSecurity = KafkaSecurity()
    topics: Topics = Topics()
    # Issue 16: single-tenant (one implicit tenant, keys are customer ids) or multi-tenant
    # (RAPPORT_TENANCY__MODE=multi: keys are tenant|customer, tenant_id required at ingest).
    tenancy: Tenancy = Tenancy()
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

    # The producer's max_request_size: no record larger than this (nor than an output topic's
    # max.message.bytes, read from the broker at start) is sent; such outputs are dead-lettered
    # as record_too_large instead of failing the transaction over and over.
    max_request_bytes: int = Field(default=1_048_576, ge=16_384)

    max_poll_records: int = Field(default=500, ge=1)
    poll_timeout_ms: int = Field(default=500, ge=10)
    retry_initial_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=30.0, gt=0)
    shutdown_timeout_seconds: float = Field(default=30.0, gt=0)
    # /readyz fails while a partition has been retrying a transient failure for this long.
    stuck_partition_seconds: float = Field(default=120.0, gt=0)

    ingest: IngestSettings = IngestSettings()
    sentiment: SentimentSettings = SentimentSettings()
    # Issue 12: retention and compaction of the topics Rapport creates (docs/privacy.md).
    retention: TopicRetention = TopicRetention()
    # Issue 12: the keys that seal dead letters (crypto-shredding on erasure).
    privacy: PrivacySettings = PrivacySettings()

    database_url: str = "sqlite:///rapport.db"
    # The trust and loyalty model's rules (RAPPORT_SCORING_CONFIG). None: the packaged
    # services/scoring/config/scoring.yaml. Every scoring instance of a deployment must use
    # the same file: the store refuses states written under another configuration's hash.
    scoring_config: Path | None = None
    scoring: ScoringLimits = ScoringLimits()
    # Exactly-once through the database needs commits that survive a database crash. Set to
    # accept a database that does not promise that (synchronous_commit=off, fsync=off, SQLite
    # without a durable journal); scoring then warns and exports rapport_database_durable 0.
    accept_non_durable_database: bool = False

    http_host: str = "127.0.0.1"
    # None: each service's own default port (ingest 9101, sentiment 9102, scoring 9103).
    http_port: int | None = Field(default=None, ge=0, le=65535)
    # /healthz fails when the loop has not completed an iteration for this long.
    liveness_timeout_seconds: float = Field(default=60.0, gt=0)

    log_format: LogFormat = LogFormat.TEXT
    log_level: str = "INFO"

    kafka_cache_dir: Path = Path.home() / ".cache" / "rapport" / "kafka"
    # The console's "pipeline health": each pipeline service's base URL (its /readyz is asked),
    # e.g. RAPPORT_CONSOLE_SERVICE_URLS='{"scoring": "http://scoring:9103"}'. Empty: the
    # services' default ports on 127.0.0.1; `rapport up` passes the ports it chose.
    console_service_urls: dict[str, str] = {}
    # The console shows one tenant's customers (multi-tenant deployments; its own topics under
    # RAPPORT_TENANCY__TOPICS_PER_TENANT, where it is required), like `rapport watch --tenant`.
    console_tenant: str | None = None
    # `rapport up`'s one directory of local state (broker data, SQLite database, logs), wiped
    # as a whole by `rapport up --reset` so that the broker and the database never disagree.
    state_dir: Path = Path.home() / ".local" / "state" / "rapport"
