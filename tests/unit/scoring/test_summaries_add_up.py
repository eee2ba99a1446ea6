"""A published summary says the change a subscriber sees: "Trust rose 20 points" sits next to
``deltas.trust`` in every update, so the two must agree.

Simulated customers (``rapport simulate``'s traffic: purchases, deliveries on time and late,
promises kept and broken, support cases, feedback and responses) go through the contract and
the scoring domain exactly as in the services. Before an event that settles an overdue promise
named the penalty it lifts, 237 of the 6,838 event updates of this traffic had deltas other
than their explanation's change ("Trust rose 20 points: a kept promise" next to +43).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Final

import pytest

from evaluation.scoring.pipeline import ContractPath
from schemas import ScoreUpdate
from services.product.simulate import build_traffic
from services.scoring.domain import CustomerRecord, Outcome, score_event
from services.scoring.model import ScoringConfig

NOW: Final = datetime(2026, 12, 1, tzinfo=UTC)
_STATED: Final = re.compile(r"(Trust|Loyalty) (rose|fell) (\d+) points?")
_TIME_NOTE: Final = re.compile(r" \([^()]* since the last update: ([^()]*)\)")
_TIME_MOVE: Final = re.compile(r"(trust|loyalty) ([+-]\d+)")


def _stated(summary: str) -> dict[str, int]:
    """The moves a summary states, the event's and the time's before it added up:
    ``{"trust": 20, "loyalty": -3}``."""
    head = summary.split(". Now ", maxsplit=1)[0]
    moves: dict[str, int] = {}
    for note in _TIME_NOTE.findall(head):
        for score, points in _TIME_MOVE.findall(note):
            moves[score] = moves.get(score, 0) + int(points)
    head = _TIME_NOTE.sub("", head)
    for score, direction, points in _STATED.findall(head.replace("and loyalty", "Loyalty")):
        key = score.lower()
        moves[key] = moves.get(key, 0) + int(points) * (1 if direction == "rose" else -1)
    return moves


def _shown(points: float) -> int:
    """How a summary writes a move (``explain._points``): at least 1, half up."""
    n = max(1, math.floor(abs(points) + 0.5))
    return n if points > 0 else -n


def test_the_parser_reads_both_forms() -> None:
    assert _stated("Trust rose 20 points and loyalty fell 3 points: a kept promise") == {
        "trust": 20,
        "loyalty": -3,
    }
    assert _stated("Trust fell 1 point (a) and loyalty rose 2 points (b). Now at risk: x") == {
        "trust": -1,
        "loyalty": 2,
    }
    assert _stated("Trust and loyalty steady after a purchase") == {}
    with_time = "Loyalty rose 5 points: a purchase (3 weeks since the last update: trust -4)"
    assert _stated(with_time) == {"loyalty": 5, "trust": -4}
    both = "Trust rose 3 points: x (2 weeks since the last update: trust -4, loyalty -5)"
    assert _stated(both) == {"trust": -1, "loyalty": -5}


@pytest.fixture(scope="module")
def outcomes(config: ScoringConfig) -> list[tuple[Outcome, tuple[str, ...]]]:
    """Every event's outcome, with the promise keys the event settled."""
    traffic = build_traffic(40, 365, seed=7, bad_share=0, duplicate_share=0, now=NOW)
    path = ContractPath(config)
    records: dict[str, CustomerRecord] = {}
    out = []
    for record in traffic.records:
        assert record.customer_id is not None
        scoring_input = path.input(record.value, record.kind, NOW)
        known = records.get(record.customer_id) or CustomerRecord.empty(record.customer_id)
        outcome = score_event(known, scoring_input, config)
        records[record.customer_id] = outcome.record
        out.append((outcome, scoring_input.settles))
    return out


@pytest.fixture(scope="module")
def published(
    outcomes: list[tuple[Outcome, tuple[str, ...]]],
) -> list[tuple[ScoreUpdate, tuple[str, ...]]]:
    """Every event update the service would publish, with the keys its event settled."""
    return [(outcome.update, settles) for outcome, settles in outcomes if outcome.publish]


def test_every_event_update_moves_by_its_explanation(
    outcomes: list[tuple[Outcome, tuple[str, ...]]], config: ScoringConfig
) -> None:
    """Every event publishes here (``material_only`` is off), so the deltas since the previous
    update are exactly the change the explanation splits into drivers."""
    assert not config.publishing.material_only
    wrong = [
        (outcome.update.deltas, outcome.update.summary)
        for outcome, _ in outcomes
        if abs(outcome.update.deltas.trust - outcome.explanation.trust_points) > 0.01
        or abs(outcome.update.deltas.loyalty - outcome.explanation.loyalty_points) > 0.01
    ]
    assert wrong == [], f"{len(wrong)} of {len(outcomes)}: {wrong[:5]}"


def test_a_time_update_before_an_event_states_its_deltas(
    outcomes: list[tuple[Outcome, tuple[str, ...]]],
) -> None:
    """Deadlines passed before an event are published as time first: "An overdue promise
    (promise p-7 due 21 Jun): trust -12; over 2 days without events: loyalty -1". An overdue
    penalty the event lifts is still in it (the promise was overdue until the event)."""
    checked, wrong = 0, []
    for outcome, _ in outcomes:
        update = None if outcome.time is None else outcome.time.update
        if update is None:
            continue
        checked += 1
        stated = {"trust": 0, "loyalty": 0}
        for score, points in _TIME_MOVE.findall(update.summary):
            stated[score] += int(points)
        for score, delta in (("trust", update.deltas.trust), ("loyalty", update.deltas.loyalty)):
            # Each part of a time summary is rounded, and a part below min_points is left out.
            if abs(stated[score] - delta) > 2.0:
                wrong.append((score, round(delta, 1), update.summary))
    assert checked > 20
    assert wrong == [], f"{len(wrong)} of {checked}: {wrong[:5]}"


def test_every_event_summary_states_its_deltas(
    published: list[tuple[ScoreUpdate, tuple[str, ...]]], config: ScoringConfig
) -> None:
    # A summary states the event's own effect and names the time before it once that moved a
    # score by a time update's threshold; below it, routine decay is in the deltas alone.
    routine = config.publishing.time_update_points + 1.0
    settling = [u for u, settles in published if settles]
    assert len(settling) > 100, "the traffic must settle promises, some of them overdue"
    assert any("overdue promise settled" in u.summary for u in settling)
    wrong = []
    for update, _ in published:
        stated = _stated(update.summary)
        for score, delta in (("trust", update.deltas.trust), ("loyalty", update.deltas.loyalty)):
            if score in stated:
                if abs(stated[score] - _shown(delta)) > routine:
                    wrong.append((score, round(delta, 1), update.summary))
            elif abs(delta) > routine:
                wrong.append((score, round(delta, 1), update.summary))
    assert wrong == [], f"{len(wrong)} of {len(published)}: {wrong[:5]}"
