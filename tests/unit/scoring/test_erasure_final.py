"""Erasure is final in the service (issue 17): an event dated before a customer's erasure,
re-sent or late, is dropped; only a keyed hash of (tenant, customer id) and the erasure time are
kept; alert ids are never reused, not even by a customer who comes back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from schemas import AlertKind, AlertState
from schemas.identity import DEFAULT_TENANT
from services.runtime.records import InRecord
from services.scoring import rebuild, store
from services.scoring.alerts import alert_id
from services.scoring.domain import erasure_mark
from services.scoring.model.signal import to_us
from tests.unit.scoring.events import T0, annotated
from tests.unit.scoring.harness import Scoring
from tests.unit.scoring.reference import assert_state_rows_match, reference_fold

DAY = timedelta(days=1)


def test_events_dated_before_the_erasure_never_bring_the_customer_back(
    database_url: str,
) -> None:
    scoring = Scoring(database_url, partitions=1)
    scoring.send(
        [
            annotated("survey_nps", "c1", "n1", T0, score=1, sentiment=-0.8),
            annotated("purchase", "c2", "p1", T0),
        ]
    )
    scoring.run()
    erased_at = T0 + 10 * DAY
    scoring.send([annotated("erasure_request", "c1", "x1", erased_at, request_id="ER-1")])
    scoring.run()
    before = len(scoring.updates())
    alerts_before = len(scoring.alerts())
    # Later batches: the old NPS re-delivered, a late purchase dated before the erasure, one
    # dated exactly at it.
    scoring.send(
        [
            annotated("survey_nps", "c1", "n1", T0, score=1, sentiment=-0.8),
            annotated("purchase", "c1", "late", erased_at - DAY),
            annotated("purchase", "c1", "same-instant", erased_at),
        ]
    )
    scoring.run()
    assert len(scoring.updates()) == before
    assert len(scoring.alerts()) == alerts_before
    assert "c1" not in store.tenant_states(scoring.engine)
    assert not [r for r in scoring.table("processed_events") if r["customer_id"] == "c1"]
    # What is kept of c1: a keyed hash (not the id) under the tenant, and the erasure time.
    [mark] = scoring.table("erased_customers")
    assert mark["tenant"] == DEFAULT_TENANT  # a single-tenant deployment's one tenant
    assert mark["erased_at_us"] == to_us(erased_at)
    assert mark["customer_hash"] != erasure_mark("c1", b"")  # keyed
    assert "c1" not in mark.values()
    # An event after the erasure starts a fresh customer.
    scoring.send([annotated("purchase", "c1", "after", erased_at + DAY)])
    scoring.run()
    [fresh] = scoring.updates()[before:]
    assert (fresh.customer_id, fresh.event_count) == ("c1", 1)
    ref = reference_fold(scoring.partition_logs(), scoring.config)
    assert_state_rows_match(store.tenant_states(scoring.engine), ref)


def test_a_customer_back_after_an_erasure_never_gets_an_old_alert_id(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    scoring.send([annotated("survey_nps", "c1", "n1", T0, score=1, sentiment=-0.8)])
    scoring.run()
    first = {a.alert_id for a in scoring.alerts()}
    assert first
    erased_at = T0 + DAY
    scoring.send([annotated("erasure_request", "c1", "x1", erased_at)])
    scoring.run()
    # Upstream reuses the event id after the erasure (dated after it: a new event). The same
    # rule fires on the same cause; the id differs, because the customer is a new one.
    scoring.send([annotated("survey_nps", "c1", "n1", erased_at + DAY, score=1, sentiment=-0.8)])
    scoring.run()
    raised = [a for a in scoring.alerts() if a.state is AlertState.RAISED]
    second = {a.alert_id for a in raised} - first
    assert {a.kind for a in raised if a.alert_id in second} >= {AlertKind.DETRACTOR_NPS}
    assert len({a.alert_id for a in raised}) == len(raised)  # no id raised twice
    assert alert_id("c1", AlertKind.DETRACTOR_NPS, "n1") in first
    assert alert_id("c1", AlertKind.DETRACTOR_NPS, "n1", to_us(erased_at)) in second


def test_a_rebuild_keeps_the_erasures_final(database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    erased_at = T0 + 3 * DAY
    scoring.send(
        [
            annotated("purchase", "c1", "p1", T0),
            annotated("erasure_request", "c1", "x1", erased_at),
            annotated("purchase", "c1", "late", erased_at - DAY),
            annotated("purchase", "c1", "p2", erased_at + DAY),
        ]
    )
    scoring.run()
    marks = scoring.table("erased_customers")

    class Source:
        def start_offset(self, partition: int) -> int:
            return 0

        def chunks(self, partition: int, bound: int) -> Iterator[list[InRecord]]:
            yield scoring.in_records(partition)[:bound]

    report = rebuild.rebuild(
        scoring.engine,
        scoring.topics,
        scoring.config,
        Source(),
        group_offsets={},
        partitions=[0],
        apply=True,
    )
    assert report.equal, report.differences
    assert scoring.table("erased_customers") == marks  # the same key, the same hashes
    assert store.tenant_states(scoring.engine)["c1"]["event_count"] == 1
