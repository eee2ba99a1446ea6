"""Time as an input in the service: the per-partition watermark, recorded ticks, the review
schedule; replay and rebuild reproduce the time-driven updates (issue 17)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select

from schemas import AlertKind, AlertState, ScoreUpdate, UpdateReason
from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.scoring import rebuild, store
from services.scoring.domain import CustomerRecord, score_event
from services.scoring.model import ScoringConfig
from services.scoring.model.signal import to_us
from services.scoring.signals import to_input
from services.scoring.watermark import (
    APPLIED,
    TICK,
    TICK_HEADER,
    IdleTicker,
    TickRecord,
    applied_record,
    applied_ticks,
    next_review_us,
    read_tick,
    tick_record,
    watermark_after,
)
from tests.unit.scoring.events import annotated
from tests.unit.scoring.harness import Scoring
from tests.unit.scoring.reference import assert_state_rows_match, reference_fold

DAY = timedelta(days=1)
T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)  # well in the past: ingest refuses future events
US_PER_DAY = 86_400_000_000


def _monthly_buyer(scoring: Scoring, customer: str, months: int) -> datetime:
    at = T0
    for month in range(months):
        at = T0 + month * 30 * DAY
        scoring.send(
            [
                annotated(
                    "purchase",
                    customer,
                    f"{customer}-p{month}",
                    at,
                    amount=Decimal(60),
                    currency="EUR",
                )
            ]
        )
    return at


# --- the pure parts ---------------------------------------------------------------------------


def test_next_review_is_the_review_interval_after_the_clock_or_an_earlier_deadline(
    config: ScoringConfig,
) -> None:
    empty = CustomerRecord.empty("c1")
    assert next_review_us(empty, config) is None
    inp = to_input(annotated("purchase", "c1", "p1", T0, amount=Decimal(10)), config)
    record = score_event(empty, inp, config).record
    interval = round(config.publishing.time_review_days * US_PER_DAY)
    assert next_review_us(record, config) == to_us(T0) + interval
    # After a watermark looked at the customer, the next look is an interval after it.
    checked = to_us(T0 + 30 * DAY)
    assert next_review_us(record, config, checked_us=checked) == checked + interval
    # A promise deadline sooner than that is the next review.
    promised = T0 + 2 * DAY
    inp = to_input(
        annotated(
            "purchase",
            "c1",
            "p2",
            T0,
            amount=Decimal(10),
            order_id="o1",
            promised_delivery_at=promised,
        ),
        config,
    )
    with_order = score_event(record, inp, config).record
    due = next_review_us(with_order, config)
    assert due is not None
    assert to_us(promised) <= due < to_us(T0) + interval


def test_the_watermark_trails_the_latest_event_time_and_never_goes_back(
    config: ScoringConfig,
) -> None:
    publishing = config.publishing
    lateness = round(publishing.watermark_lateness_minutes * 60_000_000)
    step = round(publishing.watermark_step_minutes * 60_000_000)
    seen = to_us(T0) + 17 * 60_000_000
    first = watermark_after(None, seen, config)
    assert first == (seen - lateness) // step * step
    assert first % step == 0
    assert seen - lateness - step < first <= seen - lateness
    assert watermark_after(first, 10, config) == first  # an old event: no step back
    assert watermark_after(first, seen + 10 * step, config) == first + 10 * step


def test_tick_records_carry_their_partition_and_time_and_malformed_ones_are_ignored() -> None:
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    out = tick_record("rapport.scoring.ticks", 2, at)
    assert out.topic == "rapport.scoring.ticks"
    assert out.key == b"2"  # every record of annotated partition 2 in one ticks partition
    record = InRecord(out.topic, 0, 0, out.key, out.value, list(out.headers))
    assert read_tick(record) == TickRecord(TICK, 2, to_us(at))
    applied = applied_record(out.topic, 2, 41, to_us(at))
    back = InRecord(out.topic, 0, 1, applied.key, applied.value, list(applied.headers))
    assert read_tick(back) == TickRecord(APPLIED, 2, to_us(at), 41)
    assert applied_ticks([record, back]) == {2: [(41, to_us(at))]}
    assert read_tick(InRecord(out.topic, 0, 0, None, out.value)) is None  # no header
    bad = InRecord("t", 0, 0, None, json.dumps({"tick_at": 5}).encode(), [(TICK_HEADER, TICK)])
    assert read_tick(bad) is None


def test_the_ticker_ticks_only_partitions_idle_for_the_interval() -> None:
    ticker = IdleTicker(300)
    busy, idle = TopicPartition("t", 0), TopicPartition("t", 1)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    assert ticker.due([busy, idle], start, "ticks") == []  # first seen now
    ticker.saw(busy, start + timedelta(seconds=250))
    [tick] = ticker.due([busy, idle], start + timedelta(seconds=301), "ticks")
    assert tick.topic == "ticks"
    assert tick.key == b"1"
    assert ticker.due([busy, idle], start + timedelta(seconds=400), "ticks") == []
    assert IdleTicker(0).due([busy], start + timedelta(days=1), "ticks") == []


# --- the service ------------------------------------------------------------------------------


def test_an_idle_customer_lapses_by_recorded_ticks_alone(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    last = _monthly_buyer(scoring, "c1", months=12)
    scoring.run()
    by_event = scoring.updates()
    assert by_event[-1].churn_risk < 0.2
    # Nothing arrives for six months; the ticker records a tick on the idle partition weekly.
    for week in range(1, 27):
        scoring.tick(0, last + week * 7 * DAY)
    scoring.run()
    published = scoring.updates()[len(by_event) :]
    assert published, "silence must move the scores without an event"
    assert all(u.reason is UpdateReason.TIME for u in published)
    assert all(u.caused_by_event_id.startswith("time:") for u in published)
    assert published[-1].churn_risk > by_event[-1].churn_risk + 0.3
    assert any(u.segment.value == "at_risk" for u in published)
    raised = [a for a in scoring.alerts() if a.state is AlertState.RAISED]
    assert [a.kind for a in raised if a.kind is AlertKind.LAPSED] == [AlertKind.LAPSED]
    assert not [a for a in raised if a.kind is AlertKind.TRUST_DROP]
    # Exactly what the reference fold (the rule restated, no database) publishes.
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert [u.model_dump_json() for u in scoring.updates()] == [
        u.model_dump_json() for u in ref.updates
    ]
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)


def test_other_customers_events_move_the_watermark_of_their_partition(
    database_url: str,
) -> None:
    scoring = Scoring(database_url, partitions=1)
    last = _monthly_buyer(scoring, "idle", months=12)
    # Another customer of the same partition keeps buying for six more months.
    scoring.send(
        [
            annotated("purchase", "busy", f"b{n}", last + n * 5 * DAY, amount=Decimal(20))
            for n in range(1, 37)
        ]
    )
    scoring.run()
    idle = [u for u in scoring.updates() if u.customer_id == "idle"]
    timed = [u for u in idle if u.reason is UpdateReason.TIME]
    assert timed
    assert idle[-1].reason is UpdateReason.TIME
    assert idle[-1].churn_risk > 0.5
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert len(scoring.updates()) == len(ref.updates)
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)


def _time_story(scoring: Scoring) -> None:
    last = _monthly_buyer(scoring, "c1", months=8)
    for customer in ("c2", "c3"):
        _monthly_buyer(scoring, customer, months=3)
    scoring.run()
    for week in range(1, 30):
        scoring.tick(0, last + week * 7 * DAY)
        if week == 20:
            scoring.send([annotated("purchase", "c2", "back", last + week * 7 * DAY)])
        scoring.run()


def test_any_batching_and_a_rebuild_reproduce_the_time_updates(
    database_url: str, tmp_path: object
) -> None:
    scoring = Scoring(database_url, partitions=1, max_poll_records=13)
    _time_story(scoring)
    published = [r.value for r in scoring.out(scoring.topics.score_updates)]
    assert any(
        ScoreUpdate.model_validate_json(v or b"").reason is UpdateReason.TIME for v in published
    )
    ticks = scoring.applied_ticks()
    assert ticks[0], "the ticks were applied and the applied records written"

    class Source:
        def __init__(self, size: int) -> None:
            self.size = size

        def start_offset(self, partition: int) -> int:
            return 0

        def chunks(self, partition: int, bound: int) -> Iterator[list[InRecord]]:
            found = scoring.in_records(partition)[:bound]
            for start in range(0, len(found), self.size):
                yield found[start : start + self.size]

    # The same log folded in other chunks by a fresh handler: the same state as the service.
    for size in (1, 5, 7):
        with rebuild.scratch_database() as fresh:
            read = rebuild.fold_topic(
                fresh,
                Source(size),
                {0: len(scoring.in_records(0))},
                scoring.topics,
                scoring.config,
                ticks=ticks,
            )
            assert read == len(scoring.in_records(0))
            assert (
                rebuild.compare_states(
                    store.all_states(scoring.engine), store.all_states(fresh), 1e-9
                )
                == []
            )
            assert scoring.table("partition_clock")[0]["watermark_us"] == _clock_of(fresh)
    report = rebuild.rebuild(
        scoring.engine,
        scoring.topics,
        scoring.config,
        Source(7),
        group_offsets={},
        partitions=[0],
        ticks=ticks,
    )
    assert report.equal, report.differences
    # Without the applied ticks a rebuild would not know where the watermark moved.
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert [u.model_dump_json() for u in scoring.updates()] == [
        u.model_dump_json() for u in ref.updates
    ]


def _clock_of(engine: Engine) -> int | None:
    with engine.connect() as conn:
        row = conn.execute(select(store.partition_clock.c.watermark_us)).first()
    return None if row is None else int(row.watermark_us)


def test_a_crash_after_applying_publishes_each_time_update_once(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1, max_poll_records=9)
    last = _monthly_buyer(scoring, "c1", months=8)
    scoring.run()
    for week in range(1, 30):
        scoring.tick(0, last + week * 7 * DAY)
    ticks_topic = scoring.topics.scoring_ticks
    [tp] = [
        TopicPartition(ticks_topic, p)
        for p in range(scoring.broker.partitions[ticks_topic])
        if scoring.in_records(p, ticks_topic)
    ]
    # An attempt applies every tick to the database, then dies before its Kafka commit.
    lost = scoring.handler.handle_batch(
        PartitionBatch(tp, scoring.in_records(tp.partition, ticks_topic))
    )
    assert any(b"time:" in (r.value or b"") for r in lost)
    scoring.start()
    scoring.run()
    updates = scoring.updates()
    keys = [(u.customer_id, u.caused_by_event_id) for u in updates]
    assert len(keys) == len(set(keys))
    assert any(u.reason is UpdateReason.TIME for u in updates)
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert [u.model_dump_json() for u in updates] == [u.model_dump_json() for u in ref.updates]
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)


def test_the_service_writes_ticks_to_idle_partitions_and_reads_them_back(
    database_url: str,
) -> None:
    scoring = Scoring(database_url, partitions=1)
    scoring.wall = datetime(2024, 2, 1, tzinfo=UTC)
    _monthly_buyer(scoring, "c1", months=1)
    scoring.run()
    before = len(scoring.updates())
    # The service's own wall clock moves on with no input: it records a tick, reads it back.
    scoring.wall += timedelta(days=120)
    scoring.runner.run_once()
    ticks = scoring.topics.scoring_ticks
    written = [
        r for p in range(scoring.broker.partitions[ticks]) for r in scoring.in_records(p, ticks)
    ]
    assert any(r.header(TICK_HEADER) == b"tick" for r in written)
    assert not any(r.header(TICK_HEADER) for r in scoring.in_records(0))  # not for subscribers
    scoring.run()
    later = scoring.updates()[before:]
    assert later
    assert all(u.reason is UpdateReason.TIME for u in later)
    assert all(u.customer_id == "c1" for u in later)
