"""Customer stories a CX professional would recognise, through the pure domain layer.

Each story feeds annotated events (``score_event``) and the passage of event time (``advance_to``,
what the service's watermark does for idle customers) and checks what a person would expect:
the direction and rough size of the scores, the words of the summary, and the alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertState,
    ScoreInterval,
    ScoreUpdate,
    UpdateReason,
)
from services.scoring.domain import CustomerRecord, advance_to, score_event
from services.scoring.model import ScoringConfig
from services.scoring.model.signal import to_us
from services.scoring.signals import to_input
from tests.unit.scoring.events import annotated

START = datetime(2022, 1, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Story:
    """One customer, fed events and clock ticks like the service does."""

    config: ScoringConfig
    customer: str = "c-1"
    record: CustomerRecord = field(init=False)
    updates: list[ScoreUpdate] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    n: int = 0

    def __post_init__(self) -> None:
        self.record = CustomerRecord.empty(self.customer)

    def event(self, event_type: str, at: datetime, **fields: Any) -> ScoreUpdate:
        self.n += 1
        event_id = fields.pop("event_id", f"e{self.n}")
        inp = to_input(annotated(event_type, self.customer, event_id, at, **fields), self.config)
        outcome = score_event(self.record, inp, self.config)
        self.record = outcome.record
        if outcome.time is not None and outcome.time.update is not None:
            self.updates.append(outcome.time.update)
        self.updates.append(outcome.update)
        self.alerts.extend(outcome.alerts)
        return outcome.update

    def tick(self, at: datetime) -> ScoreUpdate | None:
        """The watermark reaches ``at``: a time update if anything material changed."""
        outcome = advance_to(self.record, to_us(at), self.config)
        if outcome is None:
            return None
        self.record = outcome.record
        self.alerts.extend(outcome.alerts)
        if outcome.update is not None:
            self.updates.append(outcome.update)
        return outcome.update

    def ticks(self, start: datetime, days: int, every: int = 7) -> list[ScoreUpdate]:
        out = []
        for day in range(every, days + 1, every):
            update = self.tick(start + day * DAY)
            if update is not None:
                out.append(update)
        return out

    def raised(self, kind: AlertKind) -> list[Alert]:
        return [a for a in self.alerts if a.kind is kind and a.state is AlertState.RAISED]

    def resolved(self, kind: AlertKind) -> list[Alert]:
        return [a for a in self.alerts if a.kind is kind and a.state is AlertState.RESOLVED]


def monthly_buyer(story: Story, months: int = 24) -> datetime:
    """Two years of monthly purchases delivered on time; returns the last purchase's time."""
    at = START
    for month in range(months):
        at = START + month * 30 * DAY
        order = f"o{month}"
        story.event(
            "purchase",
            at,
            amount=Decimal(60),
            currency="EUR",
            order_id=order,
            promised_delivery_at=at + 3 * DAY,
        )
        story.event("delivery_on_time", at + 2 * DAY, order_id=order, promised_at=at + 3 * DAY)
    return at


# --- the lapsed customer ---------------------------------------------------------------------


def test_the_lapsed_customer_is_flagged_by_time_alone(config: ScoringConfig) -> None:
    story = Story(config)
    last = monthly_buyer(story)
    settled = story.updates[-1]
    assert settled.segment.value in {"loyal", "neutral"}
    assert settled.churn_risk < 0.1
    time_updates = story.ticks(last + 2 * DAY, days=540)
    assert time_updates, "silence must move the scores without an event"
    assert all(u.reason is UpdateReason.TIME for u in time_updates)
    assert all(u.caused_by_event_id.startswith("time:") for u in time_updates)
    # Lapsed within a few of the customer's own monthly gaps, not after 18 months.
    [lapsed] = story.raised(AlertKind.LAPSED)
    assert lapsed.raised_at - last < timedelta(days=150)
    assert "No activity for" in lapsed.message
    assert "usually every" in lapsed.message
    at_risk = next(u for u in time_updates if u.segment.value == "at_risk")
    assert at_risk.churn_risk >= 0.6
    assert "without activity" in at_risk.summary
    assert "Now at risk" in at_risk.summary
    assert time_updates[-1].churn_risk > 0.9
    # Decay is never a trust drop: no trust-drop alert, however far trust fades.
    assert story.raised(AlertKind.TRUST_DROP) == []
    # Few updates: only material changes are published (not one per tick).
    assert len(time_updates) < 20


# --- the win-back --------------------------------------------------------------------------------


def test_the_win_back_reads_as_a_purchase_not_a_drop(config: ScoringConfig) -> None:
    story = Story(config)
    last = monthly_buyer(story)
    story.ticks(last + 2 * DAY, days=540)
    before = story.updates[-1]
    back = story.event("purchase", last + 545 * DAY, amount=Decimal(60), currency="EUR")
    assert back.reason is UpdateReason.EVENT
    assert back.summary.startswith("Loyalty rose"), back.summary
    assert back.deltas.loyalty > 5
    assert back.deltas.trust > -1  # only the few days since the last tick
    assert back.loyalty > before.loyalty
    assert back.churn_risk < before.churn_risk
    assert "elapsed time" not in back.summary
    assert "fell" not in back.summary
    assert story.raised(AlertKind.TRUST_DROP) == []
    [resolved] = story.resolved(AlertKind.LAPSED)
    assert resolved.caused_by_event_id == back.caused_by_event_id
    assert "Active again" in resolved.message


def test_without_watermark_ticks_the_event_still_keeps_time_apart(config: ScoringConfig) -> None:
    story = Story(config)
    last = monthly_buyer(story)
    back = story.event("purchase", last + 545 * DAY, amount=Decimal(60), currency="EUR")
    # Time up to the purchase is published as such first (it lapsed the customer), then the
    # purchase's own effect; never a trust drop.
    lapse, event = story.updates[-2:]
    assert (lapse.reason, event.reason) == (UpdateReason.TIME, UpdateReason.EVENT)
    assert "without events" in lapse.summary
    assert "Now at risk" in lapse.summary
    assert back.summary.startswith("Loyalty rose"), back.summary
    assert story.raised(AlertKind.TRUST_DROP) == []
    assert [a.state for a in story.alerts if a.kind is AlertKind.LAPSED] == [
        AlertState.RAISED,
        AlertState.RESOLVED,
    ]


def test_routine_monthly_purchases_read_as_purchases(config: ScoringConfig) -> None:
    story = Story(config)
    monthly_buyer(story, months=8)
    purchases = [u for u in story.updates if u.drivers and u.drivers[0].event_type == "purchase"]
    for update in story.updates[4:]:
        assert "elapsed time" not in update.summary
        assert not update.summary.startswith("Trust fell"), update.summary
    assert purchases


# --- the overdue delivery ----------------------------------------------------------------------


def test_the_overdue_delivery_becomes_evidence_and_an_alert(config: ScoringConfig) -> None:
    story = Story(config)
    monthly_buyer(story, months=6)
    ordered = START + 200 * DAY
    promised = ordered + 3 * DAY
    story.event(
        "purchase",
        ordered,
        amount=Decimal(80),
        currency="EUR",
        order_id="o-late",
        promised_delivery_at=promised,
    )
    trust_before = story.updates[-1].trust
    assert story.tick(promised) is None or story.raised(AlertKind.PROMISE_OVERDUE) == []
    overdue = story.tick(promised + 2 * DAY)  # past the promised date and the day of grace
    assert overdue is not None
    assert overdue.reason is UpdateReason.TIME
    assert overdue.trust < trust_before - 5
    assert "overdue delivery" in overdue.summary
    [alert] = story.raised(AlertKind.PROMISE_OVERDUE)
    assert alert.raised_at == promised + config.promises.delivery_grace_hours * timedelta(hours=1)
    assert "o-late" in alert.message
    # A 1-star review while the order is overdue: about the promise, so its stars reach trust,
    # and a bad review raises an alert by itself.
    review = story.event(
        "review", promised + 3 * DAY, stars=1, text="Never received it", event_id="r1"
    )
    assert review.deltas.trust < -3
    [bad_review] = story.raised(AlertKind.NEGATIVE_FEEDBACK)
    assert bad_review.severity is AlertSeverity.CRITICAL
    # The parcel arrives late: the overdue alert resolves, trust recovers a little.
    arrived = story.event(
        "delivery_late", promised + 4 * DAY, order_id="o-late", promised_at=promised
    )
    assert arrived.deltas.trust > 0
    [resolved] = story.resolved(AlertKind.PROMISE_OVERDUE)
    assert resolved.alert_id == alert.alert_id
    assert "Fulfilled late" in resolved.message
    # The review's alert is resolved only by a response to that review.
    assert story.resolved(AlertKind.NEGATIVE_FEEDBACK) == []
    story.event(
        "feedback_response",
        promises_day(promised, 5),
        responds_to_event_id="r1",
        public=True,
    )
    [answered] = story.resolved(AlertKind.NEGATIVE_FEEDBACK)
    assert answered.alert_id == bad_review.alert_id


def promises_day(promised: datetime, days: int) -> datetime:
    return promised + days * DAY


def test_a_delivery_on_time_settles_its_promise_without_any_alert(config: ScoringConfig) -> None:
    story = Story(config)
    monthly_buyer(story, months=3)
    story.ticks(START + 100 * DAY, days=60)
    assert story.raised(AlertKind.PROMISE_OVERDUE) == []
    assert story.record.tracker.book.timers == {}


def test_an_unanswered_complaint_and_a_case_past_its_sla(config: ScoringConfig) -> None:
    story = Story(config)
    monthly_buyer(story, months=3)
    at = START + 95 * DAY
    story.event("survey_nps", at, score=2, event_id="nps-2")
    story.event("support_case_opened", at + DAY, case_id="k1")
    story.tick(at + 6 * DAY)
    overdue, escalated = story.raised(AlertKind.PROMISE_OVERDUE)
    assert overdue.severity is AlertSeverity.WARNING
    assert "a response to feedback nps-2" in overdue.message
    # Two overdue at once: the warning is superseded by a critical alert (a new id).
    assert escalated.severity is AlertSeverity.CRITICAL
    assert escalated.message.startswith("Escalated: 2 promises overdue")
    assert "support case k1" in escalated.message
    assert escalated.alert_id != overdue.alert_id
    # Answering the feedback and resolving the case settle both: the alert resolves.
    story.event("feedback_response", at + 7 * DAY, responds_to_event_id="nps-2")
    assert story.resolved(AlertKind.PROMISE_OVERDUE)[-1].alert_id == overdue.alert_id
    story.event("support_case_resolved", at + 8 * DAY, case_id="k1", resolution_seconds=7 * 86400)
    [*_, done] = story.resolved(AlertKind.PROMISE_OVERDUE)
    assert done.alert_id == escalated.alert_id
    assert story.record.tracker.book.overdue == []


# --- the bad week of a loyal customer ----------------------------------------------------------


def test_the_bad_week_of_a_loyal_customer(config: ScoringConfig) -> None:
    story = Story(config)
    last = monthly_buyer(story)
    loyal = story.updates[-1]
    week = last + 10 * DAY
    story.event("delivery_failed", week, order_id="o23")
    story.event("billing_error", week + 2 * DAY, amount=Decimal(30), currency="EUR")
    story.event("promise_broken", week + 4 * DAY, promise_id="p1", due_at=week + 3 * DAY)
    hurt = story.updates[-1]
    assert hurt.trust < loyal.trust - 15
    drops = story.raised(AlertKind.TRUST_DROP)
    assert drops, "a pattern of incidents is not hidden"
    assert "billing error" in " ".join(u.summary for u in story.updates[-3:])


# --- the shuffled backfill and late events -------------------------------------------------------


def test_a_year_old_delivery_arriving_late_raises_and_resolves_nothing(
    config: ScoringConfig,
) -> None:
    story = Story(config)
    last = monthly_buyer(story, months=14)
    story.event("billing_error", last + DAY, amount=Decimal(30), currency="EUR")
    story.event("promise_broken", last + 2 * DAY, promise_id="p1", due_at=last + DAY)
    story.event("delivery_failed", last + 3 * DAY, order_id="o13")
    open_before = dict(story.record.tracker.open)
    assert AlertKind.TRUST_DROP in open_before
    count = len(story.alerts)
    old = story.event("delivery_on_time", START + 5 * DAY, order_id="o-old")
    assert len(story.alerts) == count
    assert story.record.tracker.open.keys() == open_before.keys()
    assert old.as_of == story.updates[-2].as_of  # a late event does not move the clock back


# --- the stranger ----------------------------------------------------------------------------


def test_a_stranger_is_new_and_says_so(config: ScoringConfig) -> None:
    story = Story(config)
    first = story.event("free_comment", START, text="ok", sentiment=0.0)
    assert first.low_confidence
    assert "(low confidence)" in first.summary
    assert first.segment.value == "new"
    assert first.trust_interval is not None
    assert first.trust_interval.high - first.trust_interval.low > 50


def test_three_purchases_in_a_minute_are_not_a_loyal_customer(config: ScoringConfig) -> None:
    story = Story(config)
    for second in (0, 20, 34):
        update = story.event(
            "purchase",
            START + timedelta(seconds=second),
            amount=Decimal(500),
            currency="EUR",
        )
    assert update.segment.value not in {"loyal", "champion"}


# --- intervals ---------------------------------------------------------------------------------


def width(interval: ScoreInterval) -> float:
    return interval.high - interval.low


def test_uncertainty_shrinks_with_evidence_for_both_scores(config: ScoringConfig) -> None:
    story = Story(config)
    story.event("survey_nps", START, score=8)
    early = story.updates[-1]
    monthly_buyer(story)
    for i in range(6):
        story.event("survey_csat", START + (700 + i) * DAY, score=4)
        story.event("survey_nps", START + (700 + i) * DAY, score=9)
    late = story.updates[-1]
    assert early.trust_interval is not None
    assert late.trust_interval is not None
    assert early.loyalty_interval is not None
    assert late.loyalty_interval is not None
    assert width(late.trust_interval) < width(early.trust_interval)
    assert width(late.loyalty_interval) < width(early.loyalty_interval)
    assert late.loyalty_uncertainty < early.loyalty_uncertainty
    assert not late.low_confidence


def test_a_price_rise_costs_with_its_size(config: ScoringConfig) -> None:
    def cost(new: Decimal) -> float:
        story = Story(config)
        monthly_buyer(story, months=3)
        update = story.event(
            "price_change",
            START + 70 * DAY,
            old_amount=Decimal(10),
            new_amount=new,
            currency="EUR",
            effective_at=START + 70 * DAY,
        )
        return update.deltas.trust

    small, large = cost(Decimal("10.1")), cost(Decimal(15))
    assert large < small <= 0
    assert abs(large) > 10 * abs(small)
