"""Events flow through the real broker: raw topics -> ingest -> sentiment -> scoring -> updates."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest
from sqlalchemy import create_engine, select

from services.ingest.service import SPEC as INGEST
from services.scoring import store
from services.scoring.service import SPEC as SCORING
from services.sentiment.service import SPEC as SENTIMENT
from tests.support.deadletters import opened_letters
from tests.support.kafka import produce, read_committed, running, service_settings

pytestmark = pytest.mark.kafka


def feedback(event_id: str, customer: str, text: str) -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "customer_id": customer,
            "occurred_at": "2026-11-01T10:00:00+01:00",
            "source": "survey",
            "type": "survey_comment",
            "text": text,
        }
    ).encode()


def test_events_flow_from_raw_topics_to_score_updates(
    kafka_bootstrap: str, database_url: str
) -> None:
    settings = service_settings(kafka_bootstrap, database_url)
    topics = settings.topics
    with ExitStack() as stack:
        for spec in (INGEST, SENTIMENT, SCORING):
            stack.enter_context(running(spec, settings))
        produce(
            kafka_bootstrap,
            topics.raw_feedback,
            [
                (b"c1", feedback("e1", "c1", "I love it, great service!")),
                (b"c2", feedback("e2", "c2", "Terrible. I want a refund.")),
                (b"c1", feedback("e3", "c1", "Still happy.")),
            ],
        )
        produce(
            kafka_bootstrap,
            topics.raw_interactions,
            [
                (
                    b"c2",
                    json.dumps(
                        {
                            "event_id": "e4",
                            "customer_id": "c2",
                            "occurred_at": "2026-11-01T11:00:00Z",
                            "source": "shop",
                            "type": "purchase",
                        }
                    ).encode(),
                )
            ],
        )

        updates = read_committed(kafka_bootstrap, [topics.score_updates], expected=4)

    by_event = {json.loads(r.value)["caused_by_event_id"]: r for r in updates}
    assert sorted(by_event) == ["e1", "e2", "e3", "e4"]
    assert all(r.key == json.loads(r.value)["customer_id"].encode() for r in updates)
    # c2's comment and purchase come from two raw topics, so either may be scored first; the
    # loyalty change each one causes has a fixed sign whatever the order.
    update = {event: json.loads(record.value) for event, record in by_event.items()}
    assert update["e1"]["deltas"]["loyalty"] > 0 > update["e2"]["deltas"]["loyalty"]
    c1 = [json.loads(r.value) for r in updates if r.key == b"c1"]
    assert [u["event_count"] for u in c1] == [1, 2]  # in order per customer
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = [row.customer_id for row in conn.execute(select(store.customer_scores))]
    assert sorted(rows) == ["c1", "c2"]


def test_malformed_and_invalid_records_are_dead_lettered_and_good_ones_flow_on(
    kafka_bootstrap: str,
) -> None:
    settings = service_settings(kafka_bootstrap)
    topics = settings.topics
    with running(INGEST, settings):
        produce(
            kafka_bootstrap,
            topics.raw_feedback,
            [
                (b"c1", b'{"event_id": "x", "text": "no closing brace"'),
                (
                    b"c1",
                    json.dumps(
                        {
                            "event_id": "y",
                            "customer_id": "c1",
                            "source": "s",
                            "type": "review",
                            "occurred_at": "2026-11-01T10:00:00",
                        }
                    ).encode(),
                ),
                (b"c1", feedback("good-1", "c1", "fine")),
                (b"c1", feedback("good-2", "c1", "also fine")),
            ],
        )
        canonical = read_committed(kafka_bootstrap, [topics.canonical], expected=2)
        dead = read_committed(kafka_bootstrap, [topics.dead_letter], expected=2)

    assert [json.loads(r.value)["event_id"] for r in canonical] == ["good-1", "good-2"]
    headers = [{k: v.decode() for k, v in r.headers} for r in dead]
    assert [h["rapport.dlq.reason"] for h in headers] == ["invalid_json", "schema_violation"]
    letters = opened_letters(settings, dead)  # sealed (issue 12): opened with their keys
    assert "occurred_at" in letters[1].dlq_headers["rapport.dlq.message"]  # the field path
    assert letters[0].value == b'{"event_id": "x", "text": "no closing brace"'  # original bytes
    assert {h["rapport.dlq.origin.topic"] for h in headers} == {topics.raw_feedback}
    assert [h["rapport.dlq.origin.offset"] for h in headers] == ["0", "1"]
    assert all(h["rapport.dlq.service"] == "ingest" for h in headers)
