"""The scoring service on the in-memory broker with a real database (SQLite and PostgreSQL):
exactly-once effect, outputs, erasure, dead letters. No Kafka."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from schemas import AlertState, ErasureCompleted, ScoreUpdate, UpdateReason
from services.runtime.exceptions import FatalError
from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.scoring import store
from services.scoring.domain import ERASED
from services.scoring.model import ScoringConfig
from services.scoring.model.signal import to_us
from services.scoring.service import CONFIG_HASH_HEADER, open_store
from tests.unit.scoring.events import T0, annotated, mixed_stream
from tests.unit.scoring.harness import COMPLETED_AT, Scoring
from tests.unit.scoring.reference import assert_state_rows_match, reference_fold


def updates(scoring: Scoring, topic: str | None = None) -> list[ScoreUpdate]:
    records = scoring.out(topic or scoring.topics.score_updates)
    return [ScoreUpdate.model_validate_json(r.value or b"") for r in records]


def test_every_event_is_scored_once_and_the_state_equals_a_single_fold(
    database_url: str,
) -> None:
    scoring = Scoring(database_url)
    events = mixed_stream(customers=25, events=400, duplicates=20)
    scoring.send(events)
    scoring.run()

    ref = reference_fold(scoring.partition_logs(), scoring.config)
    published = updates(scoring)
    by_event = [u for u in published if u.reason is UpdateReason.EVENT]
    assert len(by_event) == len({e.event.event_id for e in events})
    assert len(published) == len(ref.updates)
    # Deadlines passed before an event are published as time, before the event's update.
    assert any(u.reason is UpdateReason.TIME for u in published)
    assert Counter(u.caused_by_event_id for u in by_event).most_common(1)[0][1] == 1
    assert sorted(u.model_dump_json() for u in published) == sorted(
        u.model_dump_json() for u in ref.updates
    )
    # The latest-scores topic gets the same records (compaction keeps the last per customer).
    latest = scoring.out(scoring.topics.scores_latest)
    assert [r.value for r in latest] == [r.value for r in scoring.out(scoring.topics.score_updates)]
    assert all(
        (CONFIG_HASH_HEADER, scoring.config.content_hash.encode()) in r.headers for r in latest
    )
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)
    assert store.tenant_processed(scoring.engine) == ref.processed
    trackers = {r["customer_id"]: r["tracker"] for r in scoring.table("alert_state")}
    assert trackers == {c: rec.tracker.to_json() for c, rec in ref.records.items()}
    history = scoring.table("score_history")
    assert len(history) == len(by_event)


def test_alerts_are_published_once_and_recorded(database_url: str) -> None:
    scoring = Scoring(database_url)
    scoring.send(mixed_stream(customers=10, events=300, duplicates=10))
    scoring.run()
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    alerts = [json.loads(r.value or b"") for r in scoring.out(scoring.topics.alerts)]
    assert alerts, "the stream is meant to raise alerts"
    keys = [(a["alert_id"], a["state"]) for a in alerts]
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted((a.alert_id, a.state.value) for a in ref.alerts)
    rows = {r["alert_id"]: r for r in scoring.table("alerts")}
    assert set(rows) == {a["alert_id"] for a in alerts}
    for alert in alerts:
        if alert["state"] == "resolved":
            row = rows[alert["alert_id"]]
            assert row["state"] == "resolved"
            assert row["resolved_by_event_id"] == alert["caused_by_event_id"]
    assert {r.key for r in scoring.out(scoring.topics.alerts)} <= {
        a["customer_id"].encode() for a in alerts
    }


def test_a_crash_after_the_database_commit_republishes_from_the_outbox(
    database_url: str,
) -> None:
    scoring = Scoring(database_url, partitions=1, max_poll_records=30)
    events = mixed_stream(customers=8, events=100, duplicates=5, seed=3)
    scoring.send(events)
    # The first attempt applies offsets 0-29 to the database and dies before its Kafka commit.
    tp = TopicPartition(scoring.topics.annotated, 0)
    lost = scoring.handler.handle_batch(PartitionBatch(tp, scoring.in_records(0)[:30]))
    assert lost
    assert not scoring.out(scoring.topics.score_updates)
    scoring.start()  # the restarted instance re-reads from the committed offset (0)
    scoring.run()

    ref = reference_fold(scoring.partition_logs(), scoring.config)
    published = [r.value for r in scoring.out(scoring.topics.score_updates)]
    assert len(published) == len(ref.updates)
    # The outputs of the lost attempt are published byte for byte (from the outbox).
    lost_updates = [r.value for r in lost if r.topic == scoring.topics.score_updates]
    assert published[: len(lost_updates)] == lost_updates
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)


def test_a_failed_kafka_commit_is_retried_without_applying_twice(database_url: str) -> None:
    scoring = Scoring(database_url, max_poll_records=40)
    scoring.send(mixed_stream(customers=8, events=120, seed=4))
    scoring.producer.fail_commits = 3
    scoring.run()
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert scoring.producer.aborted_transactions == 3
    # A watermark's time updates share its id ("time:<us>"), one per customer.
    ids = [(u.customer_id, u.caused_by_event_id) for u in updates(scoring)]
    assert len(ids) == len(set(ids)) == len(ref.updates)
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)


def test_a_partially_overlapping_retry_and_the_outbox_prune(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1, max_poll_records=10)
    scoring.send(mixed_stream(customers=4, events=60, seed=5))
    tp = TopicPartition(scoring.topics.annotated, 0)
    records = scoring.in_records(0)
    # A zombie applied 0-24 but never committed; the new owner reads in batches of 10.
    scoring.handler.handle_batch(PartitionBatch(tp, records[:25]))
    scoring.start()
    scoring.run()
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert len(updates(scoring)) == len(ref.updates)
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)
    outbox = scoring.table("outbox")
    assert {r["source_offset"] for r in outbox} <= set(range(50, 60))  # older rows pruned


def test_erasure_deletes_everything_and_later_events_start_afresh(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    t = T0
    first = [
        annotated("purchase", "c1", "p1", t),
        annotated("survey_nps", "c1", "n1", t + timedelta(hours=1), score=2, sentiment=-0.8),
        annotated("delivery_late", "c2", "d1", t),
    ]
    scoring.send(first)
    scoring.run()
    assert {r["customer_id"] for r in scoring.table("alerts")} == {"c1", "c2"}
    erase = annotated("erasure_request", "c1", "x1", t + timedelta(days=1), request_id="ER-1")
    later = annotated("purchase", "c1", "p2", t + timedelta(days=2))
    again = annotated("purchase", "c1", "p1", t)  # the same id as before the erasure
    scoring.send([erase, erase, later, again])
    scoring.run()

    tombstones = [r for r in scoring.out(scoring.topics.scores_latest) if r.value is None]
    assert [r.key for r in tombstones] == [b"c1"]
    [done] = [
        ErasureCompleted.model_validate_json(r.value or b"")
        for r in scoring.out(scoring.topics.erasure_completed)
    ]
    assert (done.request_id, done.customer_id, done.caused_by_event_id) == ("ER-1", "c1", "x1")
    assert done.completed_at == COMPLETED_AT
    assert done.erased == ERASED
    # Issue 12: the receipt (this harness seals no dead letters, so no key is destroyed).
    assert done.receipt is not None
    assert done.receipt.tombstones == (scoring.topics.scores_latest,)
    assert done.receipt.dead_letter_keys_destroyed == 0
    assert all(copy.removed_by > COMPLETED_AT for copy in done.receipt.remaining)
    # c1 starts afresh with the event after the erasure; the re-sent one dated before it is
    # dropped (erasure is final), and nothing but a keyed hash and the time is kept of c1.
    c1 = [u for u in updates(scoring) if u.customer_id == "c1"]
    assert [u.event_count for u in c1] == [1, 2, 1]
    states = store.tenant_states(scoring.engine)
    assert states["c1"]["event_count"] == 1
    assert states["c2"]["event_count"] == 1
    assert {r["event_id"] for r in scoring.table("score_history") if r["customer_id"] == "c1"} == {
        "p2"
    }
    [mark] = scoring.table("erased_customers")
    assert set(mark) == {"tenant", "customer_hash", "erased_at_us"}
    assert "c1" not in mark.values()
    assert len(str(mark["customer_hash"])) == 64  # a SHA-256 digest, hex
    assert mark["erased_at_us"] == to_us(t + timedelta(days=1))
    assert {r["customer_id"] for r in scoring.table("alerts")} == {"c2"}  # c1's are gone
    assert [r["request_id"] for r in scoring.table("erasures")] == ["ER-1"]
    assert "customer_id" not in scoring.table("erasures")[0]
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert_state_rows_match(states, ref)
    assert store.tenant_processed(scoring.engine) == ref.processed


def test_erasure_in_the_middle_of_a_batch(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1, max_poll_records=100)
    scoring.send(
        [
            annotated("purchase", "c1", "a", T0),
            annotated("survey_nps", "c1", "b", T0, score=1),
            annotated("erasure_request", "c1", "x", T0 + timedelta(hours=1)),
            annotated("purchase", "c1", "b", T0 + timedelta(hours=2)),
            annotated("purchase", "c1", "b", T0 + timedelta(hours=3)),  # duplicate after
        ]
    )
    scoring.run()
    states = store.tenant_states(scoring.engine)
    assert states["c1"]["event_count"] == 1
    assert store.tenant_processed(scoring.engine) == {("c1", "b")}
    assert [r["event_id"] for r in scoring.table("score_history")] == ["b"]
    assert scoring.table("alerts") == []
    assert_state_rows_match(states, reference_fold(scoring.partition_logs(), scoring.config))


def test_bad_records_are_dead_lettered_and_the_rest_flows_on(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    unknown = annotated("purchase", "c1", "u1").model_dump(mode="json")
    unknown["event"]["type"] = "hologram_call"
    unknown["event"]["upstream"] = None
    scoring.send([b"{not json", json.dumps(unknown).encode()], key=b"c1")
    scoring.send([annotated("purchase", "c1", "ok")])
    scoring.run()
    reasons = [
        dict(r.headers)["rapport.dlq.reason"].decode()
        for r in scoring.out(scoring.topics.dead_letter)
    ]
    assert reasons == ["schema_violation", "unsupported_event_type"]
    assert [u.caused_by_event_id for u in updates(scoring)] == ["ok"]


def test_states_of_another_configuration_must_be_rebuilt(database_url: str) -> None:
    scoring = Scoring(database_url)
    scoring.send([annotated("purchase", "c1", "a")])
    scoring.run()
    data = ScoringConfig.load().model_dump(mode="json", exclude={"content_hash"})
    data["events"]["purchase"]["activity"] = 2.0
    with pytest.raises(FatalError, match="rebuild"):
        open_store(database_url, ScoringConfig.from_mapping(data))
    # Alert rules are not part of the state: tuning them needs no rebuild.
    data = ScoringConfig.load().model_dump(mode="json", exclude={"content_hash"})
    data["alerts"]["trust_drop"]["drop_points"] = 20
    open_store(database_url, ScoringConfig.from_mapping(data))


def test_rebuild_finds_and_repairs_differences(database_url: str) -> None:
    from services.scoring import rebuild

    scoring = Scoring(database_url)
    scoring.send(mixed_stream(customers=12, events=200, duplicates=5, seed=9))
    scoring.send([annotated("erasure_request", "cust-0003", "x-1", T0 + timedelta(days=40))])
    scoring.run()
    partitions = range(scoring.broker.partitions[scoring.topics.annotated])

    class Source:
        def start_offset(self, partition: int) -> int:
            return 0

        def chunks(self, partition: int, bound: int) -> Iterator[list[InRecord]]:
            records = scoring.in_records(partition)[:bound]
            for start in range(0, len(records), 7):
                yield records[start : start + 7]

    def run(apply: bool = False) -> rebuild.Report:
        return rebuild.rebuild(
            scoring.engine,
            scoring.topics,
            scoring.config,
            Source(),
            group_offsets={},
            partitions=list(partitions),
            apply=apply,
        )

    clean = run()
    assert clean.equal, clean.differences
    assert clean.customers_current == clean.customers_rebuilt == 11
    with scoring.engine.begin() as conn:
        conn.execute(
            update(store.customer_state)
            .where(store.customer_state.c.customer_id == "cust-0001")
            .values(trust=0.99, segment="champion")
        )
        conn.execute(
            delete(store.customer_state).where(store.customer_state.c.customer_id == "cust-0002")
        )
    dirty = run()
    assert [(d.customer_id, d.what) for d in dirty.differences] == [
        ("cust-0001", "trust, segment"),
        ("cust-0002", "missing in database"),
    ]
    history = len(scoring.table("score_history"))
    run(apply=True)
    assert run().equal
    assert len(scoring.table("score_history")) == history
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)
    # The service carries on from the rebuilt state.
    scoring.send([annotated("purchase", "cust-0001", "after-rebuild", T0 + timedelta(days=50))])
    scoring.run()
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)


def test_the_raised_alerts_are_resolved_in_the_database(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    scoring.send(
        [
            annotated("survey_nps", "c1", "n1", T0, score=2),
            annotated(
                "feedback_response",
                "c1",
                "r1",
                T0 + timedelta(hours=2),
                responds_to_event_id="n1",
            ),
        ]
    )
    scoring.run()
    alerts = [json.loads(r.value or b"") for r in scoring.out(scoring.topics.alerts)]
    detractor = [a for a in alerts if a["kind"] == "detractor_nps"]
    assert [a["state"] for a in detractor] == ["raised", "resolved"]
    assert detractor[1]["caused_by_event_id"] == "r1"
    [row] = [r for r in scoring.table("alerts") if r["kind"] == "detractor_nps"]
    assert row["state"] == AlertState.RESOLVED.value
    assert row["caused_by_event_id"] == "n1"
    assert row["resolved_by_event_id"] == "r1"


def test_the_service_reads_the_configuration_file_the_settings_name(tmp_path: Path) -> None:
    from services.runtime.settings import Settings
    from services.scoring.model.config import DEFAULT_PATH
    from services.scoring.service import build_handler

    custom = tmp_path / "scoring.yaml"
    custom.write_text(
        DEFAULT_PATH.read_text(encoding="utf-8").replace("recency: 45", "recency: 30"),
        encoding="utf-8",
    )
    settings = Settings(scoring_config=custom, database_url=f"sqlite:///{tmp_path / 'scores.db'}")
    handler = build_handler(settings)
    expected = ScoringConfig.load(custom).content_hash
    assert expected != ScoringConfig.load().content_hash
    assert handler._config.content_hash == expected
