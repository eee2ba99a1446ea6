"""``rapport simulate``'s traffic: the scoring model's simulated customers as valid upstream
events, deterministic per seed, with the requested share of broken records and duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.validation import ContractError, parse_raw_event
from services.product.simulate import PERSONAS, build_traffic, rank, write_text

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_every_scored_record_is_a_valid_event_and_broken_ones_are_not() -> None:
    traffic = build_traffic(30, 60, seed=3, bad_share=0.05, duplicate_share=0.05, now=NOW)
    assert traffic.broken
    assert traffic.duplicates > 0
    valid = invalid = 0
    for record in traffic.records:
        try:
            parsed = parse_raw_event(record.value)
        except ContractError:
            invalid += 1
            assert not record.scored
            continue
        valid += 1
        assert record.key == parsed.event.customer_id.encode()
        assert parsed.event.occurred_at <= NOW
    assert (
        invalid
        == sum(traffic.broken.values())
        - traffic.broken["missing_field"]
        + (traffic.broken["missing_field"])
    )
    assert sum(traffic.expected_events.values()) == sum(r.scored for r in traffic.records)
    assert set(traffic.personas.values()) <= set(PERSONAS)


def test_a_kept_or_broken_promise_settles_the_oldest_open_one() -> None:
    traffic = build_traffic(40, 120, seed=5, now=NOW)
    open_promises: dict[str, list[str]] = {}
    seen: set[str] = set()
    settled = 0
    for record in traffic.records:
        try:
            event = parse_raw_event(record.value).event
        except ContractError:
            continue
        if event.event_id in seen:
            continue  # a re-sent duplicate
        seen.add(event.event_id)
        waiting = open_promises.setdefault(event.customer_id, [])
        if event.type == "promise_made":
            waiting.append(event.promise_id)
        elif event.type in ("promise_kept", "promise_broken") and waiting:
            assert event.promise_id == waiting.pop(0)
            settled += 1
    assert settled > 10


def test_the_same_seed_gives_the_same_traffic() -> None:
    first = build_traffic(10, 30, seed=9, now=NOW)
    second = build_traffic(10, 30, seed=9, now=NOW)
    assert [r.value for r in first.records] == [r.value for r in second.records]


def test_texts_follow_the_tone() -> None:
    import random

    rng = random.Random(1)
    assert write_text(0.9, rng, "support") != write_text(-0.9, rng, "support")


def test_perfect_scores_rank_perfectly() -> None:
    traffic = build_traffic(20, 30, seed=5, now=NOW)
    published = {
        c.customer_id: (100 * c.hidden_trust, 100 * c.hidden_loyalty, "neutral")
        for c in traffic.customers
    }
    ranking = rank(traffic, published)
    assert round(ranking.trust_spearman, 6) == 1.0
    assert round(ranking.loyalty_spearman, 6) == 1.0
