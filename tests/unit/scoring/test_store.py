"""The scoring database on SQLite and PostgreSQL: migrations, exact round trips, bulk reads and
writes, erasure. No Kafka."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, create_engine, inspect, select, text

from services.runtime.exceptions import FatalError, StateConflictError
from services.runtime.records import OutRecord, TopicPartition
from services.scoring import store
from services.scoring.alerts import AlertTracker
from services.scoring.domain import CustomerRecord, RecentEvent
from services.scoring.model import CustomerState, ScoringConfig, Signal, apply_all, scores
from tests.unit.scoring.strategies import signal_lists

TP = TopicPartition("annotated", 0)


HEAD = "0007"
"""The newest migration."""


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = store.make_engine(database_url)
    store.migrate(engine)
    return engine


def test_migrations_build_exactly_the_schema_the_code_uses(engine: Engine) -> None:
    assert store.current_revision(engine) == HEAD
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, store.metadata) == []
    store.migrate(engine)  # idempotent
    assert store.current_revision(engine) == HEAD


def test_migrations_downgrade_and_upgrade_again(engine: Engine) -> None:
    store.downgrade(engine, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    store.migrate(engine)
    assert store.current_revision(engine) == HEAD


def test_instances_starting_at_once_migrate_once(database_url: str) -> None:
    errors: list[BaseException] = []
    engines = [store.make_engine(database_url) for _ in range(4)]

    def start(engine: Engine) -> None:
        try:
            store.migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert store.current_revision(engines[0]) == HEAD


def test_a_walking_skeleton_database_is_refused(database_url: str) -> None:
    raw = create_engine(database_url)
    with raw.begin() as conn:
        conn.execute(text("CREATE TABLE customer_scores (customer_id VARCHAR(128))"))
    with pytest.raises(FatalError, match="walking skeleton"):
        store.migrate(store.make_engine(database_url))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(signal_lists(min_size=1, max_size=15))
def test_a_state_survives_the_database_bit_for_bit(engine: Engine, signals: list[Signal]) -> None:
    config = ScoringConfig.load()
    state = apply_all(CustomerState.empty(signals[0].customer_id), signals, config)
    record = CustomerRecord(
        state,
        AlertTracker(trust_reference=71.25, open_cases={"k": 2}),
        (RecentEvent("e", "purchase", 1_700_000_000_000_001, -1.5, 0.1),),
        "tenant",
    )
    result = scores(state, config)
    with engine.begin() as conn:
        store.save_states(conn, [store.state_row("t", record, result, "e")])
        store.save_trackers(conn, {("t", state.customer_id): record.tracker})
    with engine.connect() as conn:
        loaded = store.load_records(
            conn, [("t", state.customer_id), ("t", "nobody"), ("u", state.customer_id)]
        )
    assert loaded[("t", state.customer_id)] == record  # exact: floats, microseconds, JSON
    assert loaded[("t", "nobody")] == CustomerRecord.empty("nobody")
    # Another tenant's customer of the same id is someone else.
    assert loaded[("u", state.customer_id)] == CustomerRecord.empty(state.customer_id)
    row = store.tenant_states(engine, "t")[state.customer_id]
    assert row["trust"] == result.trust
    assert row["as_of"] == state.as_of


def test_processed_ids_are_found_in_bulk(engine: Engine) -> None:
    keys = [(f"t{i % 2}", f"c{i % 7}", f"e{i}") for i in range(1200)]
    with engine.begin() as conn:
        store.insert_rows(
            conn,
            store.processed_events,
            [{"tenant": t, "customer_id": c, "event_id": e} for t, c, e in keys[::2]],
        )
    with engine.connect() as conn:
        found = store.processed_among(conn, set(keys) | {("t0", "c1", "e0"), ("t1", "c0", "e0")})
    assert found == set(keys[::2])


def test_outbox_rows_share_a_payload_between_topics(engine: Engine) -> None:
    outputs = [
        OutRecord("updates", b"k", b"v", [("h", b"\xff")]),
        OutRecord("latest", b"k", b"v", [("h", b"\xff")]),
        OutRecord("alerts", b"k", b"a"),
        OutRecord("latest", b"k", None),
        OutRecord("erasures", b"k", b"done"),
    ]
    rows = store.outbox_rows(TP, 7, outputs)
    assert [r["out_topics"] for r in rows] == [
        ["updates", "latest"],
        ["alerts"],
        ["latest"],
        ["erasures"],
    ]
    with engine.begin() as conn:
        store.add_outbox(conn, rows)
        store.add_outbox(conn, store.outbox_rows(TP, 9, outputs[2:3]))
    with engine.begin() as conn:
        assert store.outbox_records(conn, TP, 7, 7) == outputs
        store.prune_outbox(conn, TP, below=8)
        assert store.outbox_records(conn, TP, 0, 100) == outputs[2:3]


def test_applied_offsets_start_at_zero_and_move(engine: Engine) -> None:
    with engine.begin() as conn:
        assert store.lock_partition(conn, TP) == store.Applied(0, None)
        store.set_applied(conn, TP, 42, "id-1")
    with engine.begin() as conn:
        assert store.lock_partition(conn, TP) == store.Applied(42, "id-1")
        assert store.applied_offsets_of(conn, "annotated") == {0: 42}


def test_erasing_customers_deletes_their_rows_only(engine: Engine) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    config = ScoringConfig.load()
    with engine.begin() as conn:
        # The same customer id in another tenant is another customer: kept.
        for tenant, customer in (("t", "gone"), ("t", "kept"), ("u", "gone")):
            record = CustomerRecord.empty(customer)
            store.save_states(
                conn, [store.state_row(tenant, record, scores(record.state, config), "e")]
            )
            store.save_trackers(conn, {(tenant, customer): AlertTracker()})
            store.insert_rows(
                conn,
                store.processed_events,
                [{"tenant": tenant, "customer_id": customer, "event_id": "e"}],
            )
            store.insert_rows(
                conn,
                store.alerts,
                [
                    {
                        "tenant": tenant,
                        "alert_id": f"a-{customer}",  # the same in both tenants
                        "customer_id": customer,
                        "kind": "trust_drop",
                        "severity": "warning",
                        "state": "raised",
                        "raised_at": at,
                        "caused_by_event_id": "e",
                        "message": "m",
                    }
                ],
            )
        store.erase_customers(conn, [("t", "gone")])
    with engine.connect() as conn:
        for table in (
            store.customer_state,
            store.processed_events,
            store.alert_state,
            store.alerts,
        ):
            customers = {
                (r.tenant, r.customer_id)
                for r in conn.execute(select(table.c.tenant, table.c.customer_id))
            }
            assert customers == {("t", "kept"), ("u", "gone")}, table.name


def test_the_configuration_hash_is_recorded_and_checked(engine: Engine) -> None:
    store.check_config(engine, "a" * 64)  # empty database: recorded
    store.check_config(engine, "b" * 64)  # still no states: replaced
    config = ScoringConfig.load()
    record = CustomerRecord.empty("c")
    with engine.begin() as conn:
        store.save_states(conn, [store.state_row("t", record, scores(record.state, config), "e")])
    with pytest.raises(FatalError, match="rebuild"):
        store.check_config(engine, "c" * 64)
    store.check_config(engine, "b" * 64)


def test_a_file_database_is_durable_and_an_in_memory_one_is_not(tmp_path: Path) -> None:
    assert store.durability_problems(store.make_engine(f"sqlite:///{tmp_path / 'd.db'}")) == []
    assert store.durability_problems(store.make_engine("sqlite://")) == [
        "an in-memory SQLite database"
    ]


def test_offsets_of_a_recreated_topic_are_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        store.lock_partition(conn, TP)
        store.set_applied(conn, TP, 36, "old-id")
    with engine.begin() as conn:
        applied = store.lock_partition(conn, TP)
        store.verify_topic(applied, TP, "old-id")  # the same topic
        store.verify_topic(applied, TP, None)  # a broker that does not say
        with pytest.raises(StateConflictError, match="rebuild --apply"):
            store.verify_topic(applied, TP, "new-id")
        store.reset_topic(conn, TP.topic, {0: 0}, "new-id")
    with engine.begin() as conn:
        assert store.lock_partition(conn, TP) == store.Applied(0, "new-id")
