"""Alert rules: thresholds, hysteresis, cooldown, closing the loop, never a duplicate."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Alert, AlertKind, AlertSeverity, AlertState
from services.scoring.alerts import AlertContext, AlertTracker, alert_id, evaluate
from services.scoring.model import CustomerState, Scores, ScoringConfig, Segment, SignalKind
from services.scoring.model import scores as scores_of
from services.scoring.model.config import Alerts

RULES = Alerts()
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_BASE = scores_of(CustomerState.empty("c"), ScoringConfig.load())


def at(trust_points: float, segment: Segment = Segment.PASSIVE) -> Scores:
    return replace(_BASE, trust=trust_points / 100.0, segment=segment)


@dataclass
class Customer:
    """Feeds events to the rules and keeps the tracker, like the service does."""

    tracker: AlertTracker = field(default_factory=AlertTracker)
    trust: float = 50.0
    segment: Segment = Segment.NEW
    n: int = 0

    def event(
        self,
        *,
        trust: float | None = None,
        segment: Segment | None = None,
        day: float = 0.0,
        kind: SignalKind = SignalKind.PURCHASE,
        nps: int | None = None,
        case_id: str | None = None,
        responds_to: str | None = None,
        event_id: str | None = None,
        rules: Alerts = RULES,
    ) -> list[Alert]:
        self.n += 1
        before = at(self.trust, self.segment)
        self.trust = self.trust if trust is None else trust
        self.segment = self.segment if segment is None else segment
        ctx = AlertContext(
            customer_id="c",
            tenant_id=None,
            event_id=event_id or f"e{self.n}",
            kind=kind,
            occurred_at=T0 + timedelta(days=day),
            before=before,
            after=at(self.trust, self.segment),
            summary="why",
            nps=nps,
            case_id=case_id,
            responds_to_event_id=responds_to,
        )
        self.tracker, alerts = evaluate(self.tracker, ctx, rules)
        # The tracker survives the database as JSON.
        self.tracker = AlertTracker.from_json(self.tracker.to_json())
        return alerts


def kinds(alerts: list[Alert]) -> list[tuple[AlertKind, AlertState]]:
    return [(a.kind, a.state) for a in alerts]


RAISED_DROP = [(AlertKind.TRUST_DROP, AlertState.RAISED)]
RESOLVED_DROP = [(AlertKind.TRUST_DROP, AlertState.RESOLVED)]


# --- trust drop -----------------------------------------------------------------------------------


def test_a_trust_drop_is_measured_from_the_highest_trust_since_the_last_alert() -> None:
    c = Customer()
    assert c.event(trust=80) == []
    assert c.event(trust=70) == []  # 10 below the peak of 80
    assert c.event(trust=66) == []  # 14 below
    alerts = c.event(trust=65)  # 15 below: raise
    assert kinds(alerts) == RAISED_DROP
    assert alerts[0].severity is AlertSeverity.WARNING
    assert alerts[0].raised_at == T0
    assert "15 points below 80" in alerts[0].message


def test_a_drop_needs_an_event_that_lowers_trust() -> None:
    c = Customer()
    c.event(trust=80)
    # Trust rose with this event, though it sits far below the reference (e.g. after decay).
    c.trust = 40
    assert c.event(trust=45) == []


def test_a_large_drop_is_critical() -> None:
    c = Customer()
    c.event(trust=80)
    [alert] = c.event(trust=50)
    assert alert.severity is AlertSeverity.CRITICAL


def test_trust_drop_hysteresis_and_no_duplicate_while_open() -> None:
    c = Customer()
    c.event(trust=80)
    [warning] = c.event(trust=64)
    assert (warning.kind, warning.severity) == (AlertKind.TRUST_DROP, AlertSeverity.WARNING)
    assert c.event(trust=60) == []  # further down, still a warning: the one open alert
    # Deeper than the critical threshold: the warning is superseded by a critical alert.
    superseded, critical = c.event(trust=40)
    assert (superseded.state, superseded.alert_id) == (AlertState.RESOLVED, warning.alert_id)
    assert (critical.state, critical.severity) == (AlertState.RAISED, AlertSeverity.CRITICAL)
    assert critical.alert_id != warning.alert_id
    assert "Escalated" in critical.message
    # Shown as "escalated", not "resolved": the drop is worse, not gone.
    assert (superseded.shown_state, critical.shown_state) == ("escalated", "raised")
    assert c.event(trust=39) == []  # already critical
    assert c.event(trust=74) == []  # 6 below 80: inside the band, stays open
    resolved = c.event(trust=75, day=1)  # within 5 points of 80: resolved
    assert kinds(resolved) == RESOLVED_DROP
    assert resolved[0].shown_state == "resolved"
    assert resolved[0].resolved_at == T0 + timedelta(days=1)
    assert resolved[0].alert_id == critical.alert_id
    # The reference restarts at the trust of the resolution (75).
    assert c.event(trust=61, day=30) == []
    assert kinds(c.event(trust=60, day=30)) == RAISED_DROP


def test_trust_drop_cooldown_in_event_time() -> None:
    c = Customer()
    c.event(trust=80)
    c.event(trust=60, day=0)  # raised
    c.event(trust=80, day=1)  # resolved
    assert c.event(trust=60, day=6.9) == []  # within 7 days of the raise
    c.event(trust=80, day=7)
    assert kinds(c.event(trust=60, day=7.1)) == RAISED_DROP


def test_a_cooldown_never_hides_a_materially_worse_drop() -> None:
    c = Customer()
    c.event(trust=80)
    c.event(trust=60, day=0)  # raised: 20 points
    c.event(trust=80, day=1)  # resolved
    [worse] = c.event(trust=45, day=2)  # within the cooldown, but 35 points: critical
    assert (worse.state, worse.severity) == (AlertState.RAISED, AlertSeverity.CRITICAL)


def test_decay_moves_the_reference_so_time_never_counts_as_a_drop() -> None:
    c = Customer()
    c.event(trust=80)
    # Eight months later trust has decayed to 58 before the event; the event itself costs 3.
    before = at(c.trust)
    base = at(58.0)
    ctx = AlertContext(
        customer_id="c",
        tenant_id=None,
        event_id="later",
        kind=SignalKind.DELIVERY_LATE,
        occurred_at=T0 + timedelta(days=240),
        before=before,
        base=base,
        after=at(55.0),
        summary="why",
    )
    _, alerts = evaluate(c.tracker, ctx, RULES)
    assert alerts == []


# --- segment change -------------------------------------------------------------------------------


def test_segment_change_into_at_risk_or_detractor_with_hysteresis() -> None:
    c = Customer(segment=Segment.PASSIVE)
    assert c.event(segment=Segment.LOYAL) == []
    [raised] = c.event(segment=Segment.AT_RISK)
    assert (raised.kind, raised.severity) == (AlertKind.SEGMENT_CHANGE, AlertSeverity.WARNING)
    assert "from loyal to at_risk" in raised.message
    assert c.event(segment=Segment.DETRACTOR) == []  # still open: no second alert
    assert c.event(segment=Segment.PASSIVE) == []  # one event outside: not yet
    assert c.event(segment=Segment.AT_RISK) == []  # back in: the count restarts
    assert c.event(segment=Segment.PASSIVE) == []
    [resolved] = c.event(segment=Segment.LOYAL, day=20)
    assert (resolved.state, resolved.alert_id) == (AlertState.RESOLVED, raised.alert_id)
    assert "neutral" not in resolved.message
    assert "loyal" in resolved.message


def test_a_detractor_segment_is_critical_and_passive_is_published_as_neutral() -> None:
    c = Customer(segment=Segment.PASSIVE)
    [raised] = c.event(segment=Segment.DETRACTOR)
    assert raised.severity is AlertSeverity.CRITICAL
    assert "from neutral to detractor" in raised.message


def test_segment_change_cooldown() -> None:
    c = Customer(segment=Segment.PASSIVE)
    assert c.event(segment=Segment.AT_RISK, day=0)
    c.event(segment=Segment.PASSIVE, day=1)
    assert c.event(segment=Segment.PASSIVE, day=2)  # resolved
    assert c.event(segment=Segment.AT_RISK, day=13) == []  # within 14 days of the raise
    c.event(segment=Segment.PASSIVE, day=14)
    assert kinds(c.event(segment=Segment.AT_RISK, day=15)) == [
        (AlertKind.SEGMENT_CHANGE, AlertState.RAISED)
    ]


# --- detractor NPS --------------------------------------------------------------------------------


def nps(c: Customer, score: int, day: float = 0, event_id: str | None = None) -> list[Alert]:
    return c.event(kind=SignalKind.NPS, nps=score, day=day, event_id=event_id)


def test_detractor_nps_raises_and_a_promoter_answer_resolves_with_hysteresis() -> None:
    c = Customer()
    assert nps(c, 7) == []
    [raised] = nps(c, 6)
    assert (raised.kind, raised.severity) == (AlertKind.DETRACTOR_NPS, AlertSeverity.WARNING)
    assert nps(c, 5) == []  # open: no duplicate
    superseded, critical = nps(c, 2)  # worse: escalated
    assert (superseded.alert_id, critical.severity) == (raised.alert_id, AlertSeverity.CRITICAL)
    assert nps(c, 7) == []  # a passive does not resolve it (hysteresis)
    [resolved] = nps(c, 8, day=3)
    assert (resolved.state, resolved.alert_id) == (AlertState.RESOLVED, critical.alert_id)
    assert nps(c, 3, day=4) == []  # cooldown: within 7 days, and not worse than the 2
    [worse] = nps(c, 1, day=5)  # within the cooldown but materially worse: raised
    assert worse.severity is AlertSeverity.CRITICAL
    nps(c, 9, day=6)
    [again] = nps(c, 0, day=13)
    assert again.severity is AlertSeverity.CRITICAL


def test_a_response_to_the_feedback_closes_the_loop() -> None:
    c = Customer()
    c.event(trust=60)
    # The NPS answer raises a detractor alert and a trust drop at once.
    raised = c.event(kind=SignalKind.NPS, nps=1, trust=40, event_id="nps-1")
    assert {a.kind for a in raised} == {AlertKind.DETRACTOR_NPS, AlertKind.TRUST_DROP}
    assert c.event(kind=SignalKind.FEEDBACK_RESPONSE, responds_to="other") == []
    resolved = c.event(kind=SignalKind.FEEDBACK_RESPONSE, responds_to="nps-1", trust=42)
    # Only the alert of the feedback answered: the trust drop has other causes too.
    assert kinds(resolved) == [(AlertKind.DETRACTOR_NPS, AlertState.RESOLVED)]
    assert resolved[0].caused_by_event_id == "e4"
    assert "responded" in resolved[0].message
    assert set(c.tracker.open) == {AlertKind.TRUST_DROP}


def test_a_response_to_a_later_detractor_answer_resolves_the_open_alert() -> None:
    c = Customer()
    nps(c, 3, event_id="nps-1")
    nps(c, 4, event_id="nps-2")  # would have raised: related to the open alert
    [resolved] = c.event(kind=SignalKind.FEEDBACK_RESPONSE, responds_to="nps-2")
    assert resolved.kind is AlertKind.DETRACTOR_NPS


# --- unresolved complaints ------------------------------------------------------------------------


def case(c: Customer, kind: SignalKind, case_id: str, day: float = 0) -> list[Alert]:
    return c.event(kind=kind, case_id=case_id, day=day)


def test_a_streak_of_unresolved_support_cases() -> None:
    opened, reopened = SignalKind.SUPPORT_CASE_OPENED, SignalKind.SUPPORT_CASE_REOPENED
    resolved = SignalKind.SUPPORT_CASE_RESOLVED
    c = Customer()
    assert case(c, opened, "a") == []
    assert case(c, resolved, "a") == []
    assert case(c, opened, "b") == []
    assert case(c, reopened, "a") == []
    [raised] = case(c, opened, "c")  # b, a (reopened), c: three without resolution
    assert raised.kind is AlertKind.UNRESOLVED_COMPLAINTS
    assert raised.severity is AlertSeverity.WARNING
    assert case(c, reopened, "b") == []  # open: no duplicate
    assert case(c, resolved, "b") == []  # a and c remain: 2 > resolve_at (1)
    [done] = case(c, resolved, "a")
    assert done.state is AlertState.RESOLVED
    assert c.tracker.complaint_streak == 1


def test_an_escalation_counts_towards_the_streak_until_the_case_is_resolved() -> None:
    opened, escalated = SignalKind.SUPPORT_CASE_OPENED, SignalKind.SUPPORT_CASE_ESCALATED
    c = Customer()
    assert case(c, opened, "a") == []
    assert case(c, escalated, "a") == []
    [raised] = case(c, escalated, "a")  # opened and escalated twice, never resolved
    assert raised.kind is AlertKind.UNRESOLVED_COMPLAINTS
    assert "escalations" in raised.message
    [done] = case(c, SignalKind.SUPPORT_CASE_RESOLVED, "a")
    assert done.state is AlertState.RESOLVED


def test_a_long_streak_is_critical() -> None:
    c = Customer()
    alerts: list[Alert] = []
    rules = RULES.model_copy(
        update={
            "unresolved_complaints": RULES.unresolved_complaints.model_copy(update={"streak": 5})
        }
    )
    for name in "abcde":
        alerts += c.event(kind=SignalKind.SUPPORT_CASE_OPENED, case_id=name, rules=rules)
    assert [a.severity for a in alerts] == [AlertSeverity.CRITICAL]


# --- properties -----------------------------------------------------------------------------------

EVENTS = st.lists(
    st.tuples(
        st.floats(0, 100),  # trust after
        st.sampled_from(list(Segment)),
        st.sampled_from(
            [
                SignalKind.NPS,
                SignalKind.SUPPORT_CASE_OPENED,
                SignalKind.SUPPORT_CASE_RESOLVED,
                SignalKind.FEEDBACK_RESPONSE,
                SignalKind.PURCHASE,
            ]
        ),
        st.integers(0, 10),  # nps, or case number, or answered event number
        st.floats(0, 5),  # days since the previous event
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(EVENTS)
def test_alerts_are_never_duplicated_and_always_consistent(events: list[tuple]) -> None:  # type: ignore[type-arg]
    c = Customer()
    day = 0.0
    emitted: list[Alert] = []
    for trust, segment, kind, number, gap in events:
        day += gap
        emitted += c.event(
            trust=trust,
            segment=segment,
            kind=kind,
            day=day,
            nps=number if kind is SignalKind.NPS else None,
            case_id=f"k{number % 4}" if kind.value.startswith("support") else None,
            responds_to=f"e{number}" if kind is SignalKind.FEEDBACK_RESPONSE else None,
        )
    seen: set[tuple[str, AlertState]] = set()
    open_ids: dict[AlertKind, str] = {}
    superseded: set[str] = set()
    for alert in emitted:
        key = (alert.alert_id, alert.state)
        assert key not in seen, "an alert emitted twice"
        seen.add(key)
        if alert.state is AlertState.RAISED:
            assert alert.kind not in open_ids, "two open alerts of one kind"
            open_ids[alert.kind] = alert.alert_id
        else:
            assert open_ids.pop(alert.kind) == alert.alert_id, "resolved without a raise"
            assert alert.resolved_at is not None
            assert alert.resolved_at >= alert.raised_at
            if alert.message.startswith("Escalated"):
                superseded.add(alert.alert_id)
    assert {k: a.alert_id for k, a in c.tracker.open.items()} == open_ids
    ids = [a.alert_id for a in emitted if a.state is AlertState.RAISED]
    assert len(ids) == len(set(ids)), "an alert id reused"
    # Raises of a kind are at least the cooldown apart in event time, unless the later one is
    # an escalation or materially worse (critical).
    for kind in AlertKind:
        raises = [
            a
            for a in emitted
            if a.kind is kind
            and a.state is AlertState.RAISED
            and not a.message.startswith("Escalated")
        ]
        rule = getattr(RULES, kind.value)
        cooldown = getattr(rule, "cooldown_days", 0.0)
        for a, b in itertools.pairwise(raises):
            assert (
                b.raised_at - a.raised_at >= timedelta(days=cooldown)
                or b.severity is AlertSeverity.CRITICAL
                or kind is AlertKind.DETRACTOR_NPS  # a lower score than the last raise
            )


def test_alert_ids_are_deterministic_and_fit_the_contract() -> None:
    first = alert_id("cust-" + "x" * 123, AlertKind.UNRESOLVED_COMPLAINTS, "e" * 128)
    assert first == alert_id("cust-" + "x" * 123, AlertKind.UNRESOLVED_COMPLAINTS, "e" * 128)
    assert len(first) <= 128
    assert first != alert_id("cust-x", AlertKind.TRUST_DROP, "e")


def _settling(kind: SignalKind | None, **fields: Any) -> AlertContext:
    """A step of a settling event on day 1: its time step (``kind`` None) or the event."""
    return AlertContext(
        customer_id="c",
        tenant_id=None,
        event_id="e-settles" if kind else "time:1",
        kind=kind,
        occurred_at=T0 + timedelta(days=1),
        summary="why",
        **fields,
    )


def test_a_segment_held_for_no_time_inside_a_settling_event_raises_nothing() -> None:
    """An event settles an overdue promise while another deadline passed before it: the time
    step (penalty still in) reads detractor, the event (penalty lifted) passive again. The
    segment rule waits for the event and compares with the segment before the time step, so no
    alert is raised, and none is held back by a cooldown when the customer really turns."""
    c = Customer(segment=Segment.PASSIVE)
    c.event(segment=Segment.PASSIVE)
    time_step = _settling(
        None,
        before=at(c.trust, Segment.PASSIVE),
        after=at(c.trust - 1, Segment.DETRACTOR),
        settling=True,
    )
    c.tracker, alerts = evaluate(c.tracker, time_step, RULES)
    assert alerts == []
    settled = _settling(
        SignalKind.SUPPORT_CASE_RESOLVED,
        before=at(c.trust - 1, Segment.DETRACTOR),
        after=at(c.trust + 1, Segment.PASSIVE),
        segment_before=Segment.PASSIVE,
    )
    c.tracker, alerts = evaluate(c.tracker, settled, RULES)
    assert alerts == []
    # Three days later the customer does turn detractor: raised at once (no cooldown running).
    [raised] = c.event(segment=Segment.DETRACTOR, day=4)
    assert raised.kind is AlertKind.SEGMENT_CHANGE
    assert "from neutral to detractor" in raised.message


def test_a_segment_change_by_the_time_step_is_raised_by_the_settling_event() -> None:
    """The other deadline's penalty keeps the customer a detractor after the event: the event's
    pass raises the change, measured from the segment before the time step."""
    c = Customer(segment=Segment.PASSIVE)
    settled = _settling(
        SignalKind.SUPPORT_CASE_RESOLVED,
        before=at(40.0, Segment.DETRACTOR),
        after=at(42.0, Segment.DETRACTOR),
        segment_before=Segment.PASSIVE,
    )
    _, [raised] = evaluate(c.tracker, settled, RULES)
    assert "from neutral to detractor" in raised.message
