"""Scoring state in a relational database (SQLite by default, PostgreSQL in production).

The tables (created and changed only by the Alembic migrations in ``migrations/``; ``migrate``
runs them, at every service start and from ``rapport scores migrate``):

Every table holding customers or events is keyed by the tenant first (``tenant``): a customer is
(tenant, customer id), an event (tenant, event id); single-tenant deployments keep every row
under their default tenant (docs/decisions/0001-tenant-keys.md).

* ``customer_state``: one row per customer: the model's ``CustomerState.to_row()`` (the
  decayed evidence sums, event times, count, configuration hash), the scores derived from it,
  the latest events behind the published drivers, the tenant;
* ``score_history``: append-only, one row per scored event (the scores after it, the change,
  the summary line);
* ``processed_events``: (customer, event id) of every event applied: a duplicate never counts;
* ``alert_state``: what the alert rules remember per customer (open alerts, cooldowns...);
* ``alerts``: every alert raised, with its resolution;
* ``erasures``: completed erasure requests (no customer id: only what detects a re-sent one);
* ``applied_offsets`` and ``outbox``: the exactly-once protocol between Kafka and the
  database (``service.py`` and ``docs/scoring.md`` explain it);
* ``scoring_meta``: the configuration hash the stored states were built with.

Reads and writes are in bulk, per partition batch: one query per table to load the batch's
customers, one executemany per table to write them back.
"""

from __future__ import annotations

from services.scoring.store.customers import (
    ERASED_TABLES,
    EventOf,
    RecordVersion,
    Who,
    all_processed,
    all_states,
    customer_view,
    erase_customers,
    erasures_among,
    load_records,
    processed_among,
    prune_history,
    prune_processed,
    record_from_rows,
    record_versions,
    save_states,
    save_trackers,
    state_row,
    tenant_processed,
    tenant_states,
    upsert_alerts,
)
from services.scoring.store.database import (
    MIGRATIONS_DIR,
    alembic_config,
    check_config,
    current_revision,
    downgrade,
    durability_problems,
    insert_rows,
    make_engine,
    migrate,
    ping,
    set_config_hash,
    stored_config_hash,
)
from services.scoring.store.erased import (
    erased_at_of,
    erasure_hash_key,
    remember_erasure_hash_key,
    save_erased,
)
from services.scoring.store.progress import (
    Applied,
    add_outbox,
    applied_offsets_of,
    lock_partition,
    outbox_records,
    outbox_rows,
    prune_outbox,
    records_of,
    reset_topic,
    set_applied,
    topic_ids_of,
    verify_topic,
)
from services.scoring.store.schedule import (
    PartitionClock,
    partition_clock_of,
    reviews_of,
    reviews_until,
    save_schedule,
    set_partition_clock,
)
from services.scoring.store.tables import (
    ACCUMULATOR_COLUMNS,
    SCORE_COLUMNS,
    STATE_TABLES,
    UtcDateTime,
    alert_state,
    alerts,
    applied_offsets,
    customer_scores,
    customer_state,
    erased_customers,
    erasures,
    metadata,
    outbox,
    partition_clock,
    processed_events,
    review_schedule,
    score_history,
    scoring_meta,
)

__all__ = [
    "ACCUMULATOR_COLUMNS",
    "ERASED_TABLES",
    "MIGRATIONS_DIR",
    "SCORE_COLUMNS",
    "STATE_TABLES",
    "Applied",
    "EventOf",
    "PartitionClock",
    "RecordVersion",
    "UtcDateTime",
    "Who",
    "add_outbox",
    "alembic_config",
    "alert_state",
    "alerts",
    "all_processed",
    "all_states",
    "applied_offsets",
    "applied_offsets_of",
    "check_config",
    "current_revision",
    "customer_scores",
    "customer_state",
    "customer_view",
    "downgrade",
    "durability_problems",
    "erase_customers",
    "erased_at_of",
    "erased_customers",
    "erasure_hash_key",
    "erasures",
    "erasures_among",
    "insert_rows",
    "load_records",
    "lock_partition",
    "make_engine",
    "metadata",
    "migrate",
    "outbox",
    "outbox_records",
    "outbox_rows",
    "partition_clock",
    "partition_clock_of",
    "ping",
    "processed_among",
    "processed_events",
    "prune_history",
    "prune_outbox",
    "prune_processed",
    "record_from_rows",
    "record_versions",
    "records_of",
    "remember_erasure_hash_key",
    "reset_topic",
    "review_schedule",
    "reviews_of",
    "reviews_until",
    "save_erased",
    "save_schedule",
    "save_states",
    "save_trackers",
    "score_history",
    "scoring_meta",
    "set_applied",
    "set_config_hash",
    "set_partition_clock",
    "state_row",
    "stored_config_hash",
    "tenant_processed",
    "tenant_states",
    "topic_ids_of",
    "upsert_alerts",
    "verify_topic",
]
