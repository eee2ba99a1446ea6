"""Alerts about customers, raised and resolved with hysteresis and a cooldown, in event time.

Pure: ``evaluate(tracker, context, rules)`` returns the customer's new ``AlertTracker`` and the
``Alert`` records to publish. The tracker is stored with the customer (table ``alert_state``)
in the same database transaction as the scores, the processed event id and the outbox, so an
event raises its alerts exactly once however often it is delivered or replayed, and a rebuild
from the topic raises the same alerts with the same ids (everything depends on event time and
processing order, never on the wall clock). The same tracker also holds the customer's clock
(the event time of the last published scores), the promise timers and what was last published.

The rules (``alerts`` in ``scoring.yaml``; ``docs/scoring.md``, "Alerts", explains them):

* ``trust_drop``: an *event* lowers trust to ``drop_points`` or more below the *reference
  level* (the highest trust since the last trust-drop alert was resolved, moved by the passage
  of time like the scores themselves: decay never raises a drop). Resolved when trust is back
  within ``recover_points`` of that level; escalated to critical as the drop deepens.
* ``segment_change``: the segment changes into one of ``segments`` (at_risk, detractor), by an
  event or by time. Resolved after ``resolve_after_events`` consecutive events outside them.
* ``detractor_nps``: an NPS answer of ``max_score`` (6) or less. Resolved by a later answer of
  ``resolve_min_score`` (8) or more, or by a response to that feedback.
* ``negative_feedback``: a review of 1-2 stars, or an angry public post, by itself. Resolved
  by a response to it.
* ``unresolved_complaints``: ``streak`` support-case openings, reopenings and escalations without a
  resolution. Resolved when resolutions bring the count down to ``resolve_at``.
* ``promise_overdue``: a deadline passed unfulfilled (raised at the deadline, by time);
  escalated when several are overdue; resolved when none is overdue any more.
* ``lapsed``: the churn risk reaches ``min_churn_risk`` by time (no activity for several of
  the customer's own gaps); resolved by the next activity.

**Arrival order.** An event older than the customer's clock (it arrived after newer ones)
updates the scores and the bookkeeping (support cases, timers) but never raises an alert, and
resolves only an alert it explicitly answers (a response to its feedback, the settlement of an
overdue promise). So a year-old delivery arriving today neither raises a segment alert nor
resolves a live trust drop. Time-driven alerts (``promise_overdue``, ``lapsed``) depend only on
the events and the clock, hence are the same for any arrival order.

While an alert of a kind is open, no other alert of that kind is raised for the customer (a
worse signal escalates the open one instead: it is resolved, "Escalated to critical", and a
critical alert of the same kind raised in its place). Once one was raised, none is raised
again within ``cooldown_days`` of event time, **unless the new signal is materially
worse** than the one that raised it: a higher severity, or, for a single answer (an NPS score,
a review's stars, a public post), a worse value (an NPS of 1 after one of 2). A trust drop or a
complaint streak a point deeper is not materially worse; reaching its critical threshold is.
Alert ids are derived from the customer, the kind and the raising event (or deadline, or clock
tick): never reused for another alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from schemas import Alert, AlertKind, AlertSeverity, AlertState
from schemas.downstream import ESCALATED_PREFIX
from schemas.identity import customer_key
from services.scoring.model import Scores, SignalKind
from services.scoring.model.config import Alerts
from services.scoring.model.explain import duration
from services.scoring.model.promises import PromiseBook, TimerChange
from services.scoring.model.scores import Segment, TrustLoyalty
from services.scoring.model.signal import from_us, to_us

_US_PER_DAY: Final = 86_400_000_000
_MAX_RELATED: Final = 20
_MESSAGE_MAX: Final = 200
_CASE_OPENINGS: Final = frozenset(
    {
        SignalKind.SUPPORT_CASE_OPENED,
        SignalKind.SUPPORT_CASE_REOPENED,
        SignalKind.SUPPORT_CASE_ESCALATED,
    }
)
_RANK: Final = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
_FEEDBACK_ALERTS: Final = frozenset({AlertKind.DETRACTOR_NPS, AlertKind.NEGATIVE_FEEDBACK})
"""Alerts born of one piece of feedback: a response to that feedback resolves them."""
_OVERDUE_NOUNS: Final = {
    "delivery": "the delivery of order",
    "promise": "promise",
    "case": "support case",
    "response": "a response to feedback",
}
# How an overdue promise ended when the event that settled it did not fulfil it: a promise
# broken or a delivery failed after its deadline resolves the overdue alert, but it was not
# "fulfilled late".
_UNFULFILLED: Final[Mapping[SignalKind, str]] = {
    SignalKind.PROMISE_BROKEN: "Broken",
    SignalKind.DELIVERY_FAILED: "Failed",
}
PUBLISHED_SEGMENT: Final[Mapping[str, str]] = {"passive": "neutral"}
"""The model's segment names that the contract spells differently."""


def published_segment(segment: str) -> str:
    return PUBLISHED_SEGMENT.get(segment, segment)


@dataclass(frozen=True, slots=True)
class OpenAlert:
    alert_id: str
    severity: AlertSeverity
    raised_us: int
    caused_by_event_id: str
    related_event_ids: tuple[str, ...] = ()
    """Events a ``feedback_response`` may answer to resolve the alert."""
    reference: float | None = None
    """trust_drop: the trust level (points) the drop was measured from."""

    def to_json(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "severity": self.severity.value,
            "raised_us": self.raised_us,
            "caused_by_event_id": self.caused_by_event_id,
            "related_event_ids": list(self.related_event_ids),
            "reference": self.reference,
        }

    @property
    def raised_at(self) -> datetime:
        return from_us(self.raised_us)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OpenAlert:
        return cls(
            alert_id=data["alert_id"],
            severity=AlertSeverity(data["severity"]),
            raised_us=int(data["raised_us"]),
            caused_by_event_id=data["caused_by_event_id"],
            related_event_ids=tuple(data.get("related_event_ids", ())),
            reference=data.get("reference"),
        )

    def relate(self, event_id: str) -> OpenAlert:
        if event_id in self.related_event_ids or len(self.related_event_ids) >= _MAX_RELATED:
            return self
        return replace(self, related_event_ids=(*self.related_event_ids, event_id))


@dataclass(frozen=True, slots=True)
class AlertTracker:
    """What the alert rules remember about one customer (stored as JSON)."""

    trust_reference: float | None = None
    """Highest trust (points) since the last trust-drop alert was resolved."""
    open: Mapping[AlertKind, OpenAlert] = field(default_factory=dict)
    last_raised_us: Mapping[AlertKind, int] = field(default_factory=dict)
    """Event time of the last raise per kind, for the cooldown."""
    segment_outside: int = 0
    """Consecutive events outside the alerting segments while a segment alert is open."""
    open_cases: Mapping[str, int] = field(default_factory=dict)
    """Support case id -> openings, reopenings and escalations since its last resolution."""
    last_raised_badness: Mapping[AlertKind, tuple[int, float]] = field(default_factory=dict)
    """Per kind, (severity rank, how bad the signal was) of the last raise: a materially worse
    signal is raised even within the cooldown."""
    book: PromiseBook = field(default_factory=PromiseBook)
    """The customer's promise timers (``model/promises.py``)."""
    clock_us: int | None = None
    """Event time the customer's last published scores refer to (an event's, or a watermark's
    when time moved them)."""
    published: Mapping[str, Any] | None = None
    """What the last update published (trust, loyalty, segment, churn level), to judge whether
    a time-driven or (``publishing.material_only``) event update is material."""
    quiet_events: int = 0
    """Events since the last published event update (``publishing.material_only``)."""
    ids_forgotten_until_us: int | None = None
    """Processed ids of events dated up to this were pruned (``publishing.processed_ids_limit``):
    an event dated at or before it is refused, it may be a duplicate no longer recognisable."""
    erased_before_us: int | None = None
    """The erasure this record began after (None: the customer was never erased): part of
    every alert id, so that a customer who comes back after an erasure never gets an id an
    alert of the erased one had."""

    @property
    def complaint_streak(self) -> int:
        return sum(self.open_cases.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "trust_reference": self.trust_reference,
            "open": {kind.value: alert.to_json() for kind, alert in sorted(self.open.items())},
            "last_raised_us": {k.value: v for k, v in sorted(self.last_raised_us.items())},
            "last_raised_badness": {
                k.value: list(v) for k, v in sorted(self.last_raised_badness.items())
            },
            "segment_outside": self.segment_outside,
            "open_cases": dict(sorted(self.open_cases.items())),
            "book": self.book.to_json(),
            "clock_us": self.clock_us,
            "published": None if self.published is None else dict(self.published),
            "quiet_events": self.quiet_events,
            **(
                {} if self.erased_before_us is None else {"erased_before_us": self.erased_before_us}
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AlertTracker:
        if not data:
            return cls()
        return cls(
            trust_reference=data.get("trust_reference"),
            open={
                AlertKind(kind): OpenAlert.from_json(alert)
                for kind, alert in data.get("open", {}).items()
            },
            last_raised_us={
                AlertKind(kind): int(us) for kind, us in data.get("last_raised_us", {}).items()
            },
            segment_outside=int(data.get("segment_outside", 0)),
            open_cases={case: int(n) for case, n in data.get("open_cases", {}).items()},
            last_raised_badness={
                AlertKind(kind): (int(v[0]), float(v[1]))
                for kind, v in data.get("last_raised_badness", {}).items()
            },
            book=PromiseBook.from_json(data.get("book")),
            clock_us=None if data.get("clock_us") is None else int(data["clock_us"]),
            published=data.get("published"),
            quiet_events=int(data.get("quiet_events", 0)),
            erased_before_us=(
                None if data.get("erased_before_us") is None else int(data["erased_before_us"])
            ),
            ids_forgotten_until_us=(
                None
                if data.get("ids_forgotten_until_us") is None
                else int(data["ids_forgotten_until_us"])
            ),
        )


@dataclass(frozen=True, slots=True)
class AlertContext:
    """One scored event (or one advance of the clock), as the alert rules see it."""

    customer_id: str
    tenant_id: str | None
    event_id: str
    """The event, or ``time:<microseconds>`` for an advance of the clock."""
    kind: SignalKind | None
    """None for an advance of the clock (no event)."""
    occurred_at: datetime
    before: Scores
    """The scores last published (at the customer's clock)."""
    after: Scores
    summary: str
    """The explanation's summary line of the event."""
    nps: int | None = None
    case_id: str | None = None
    responds_to_event_id: str | None = None
    base: Scores | TrustLoyalty | None = None
    """Trust and loyalty after the passage of time up to the event, before its evidence (None:
    ``before``): a trust drop counts only what the event did."""
    late: bool = False
    """The event is older than the customer's clock: it never raises an alert."""
    stars: int | None = None
    sentiment: float | None = None
    anger: float = 0.0
    fired: tuple[TimerChange, ...] = ()
    """Promise timers that fired (deadline passed unfulfilled) in this step."""
    settled: tuple[TimerChange, ...] = ()
    """Fired timers settled by this event."""
    overdue_left: int = 0
    """Timers still overdue after this step."""
    active: bool = False
    """The event shows activity (a purchase, a renewal, engagement...)."""
    key_tenant: str | None = None
    """The tenant in the customer's keys (multi-tenant deployments; None: single-tenant): part
    of the alert id, so that two tenants' customers with the same id never share one."""
    segment_before: Segment | None = None
    """The segment a change is measured from, when not ``before``'s. An event that settles an
    overdue promise, with other deadlines passed before it, publishes those first as time with
    the settled promise's penalty still in; the event lifts it at the same instant. The segment
    rule then waits for the event (``settling`` on the time step) and compares with the segment
    from before the time step: a segment held for no time at all raises nothing (and starts no
    cooldown that would hold back the real change)."""
    settling: bool = False
    """A time step inside an event that settles an overdue promise (see ``segment_before``)."""

    @property
    def time_only(self) -> bool:
        return self.kind is None

    @property
    def time_base(self) -> Scores | TrustLoyalty:
        return self.before if self.base is None else self.base


def alert_id(
    customer_id: str,
    kind: AlertKind,
    event_id: str,
    erased_before_us: int | None = None,
    key_tenant: str | None = None,
) -> str:
    """Deterministic: the same raising event gives the same id in any replay or rebuild. A
    customer back after an erasure (``erased_before_us``) gets ids of their own: an id is
    never reused for another alert. ``key_tenant`` (multi-tenant deployments) is hashed in
    too; without it the id is the one single-tenant deployments always had."""
    who = customer_id if key_tenant is None else customer_key(key_tenant, customer_id).decode()
    seed = f"{who}\x00{kind.value}\x00{event_id}"
    if erased_before_us is not None:
        seed += f"\x00erased:{erased_before_us}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"alert:{kind.value}:{digest[:32]}"


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"


class _Evaluation:
    """Mutable working copy of a tracker while one event is evaluated."""

    def __init__(self, tracker: AlertTracker, ctx: AlertContext, rules: Alerts) -> None:
        self.ctx = ctx
        self.rules = rules
        self.occurred_us = to_us(ctx.occurred_at)
        self.trust_reference = tracker.trust_reference
        self.open = dict(tracker.open)
        self.last_raised = dict(tracker.last_raised_us)
        self.segment_outside = tracker.segment_outside
        self.open_cases = dict(tracker.open_cases)
        self.badness = dict(tracker.last_raised_badness)
        self.kept = tracker
        self.alerts: list[Alert] = []

    def tracker(self) -> AlertTracker:
        kept = self.kept
        return AlertTracker(
            trust_reference=self.trust_reference,
            open=self.open,
            last_raised_us=self.last_raised,
            segment_outside=self.segment_outside,
            open_cases=self.open_cases,
            last_raised_badness=self.badness,
            book=kept.book,
            clock_us=kept.clock_us,
            published=kept.published,
            quiet_events=kept.quiet_events,
            erased_before_us=kept.erased_before_us,
            ids_forgotten_until_us=kept.ids_forgotten_until_us,
        )

    def cooled_down(
        self,
        kind: AlertKind,
        cooldown_days: float,
        severity: AlertSeverity = AlertSeverity.WARNING,
        badness: float | None = None,
    ) -> bool:
        """The cooldown has passed, or the new signal is materially worse than the last: of a
        higher severity, or (``badness`` given: a single answer such as an NPS score or a
        review's stars) a worse value. A drop or a streak is not materially worse by a point
        more; its critical threshold says when it is."""
        last = self.last_raised.get(kind)
        if last is None or self.occurred_us - last >= cooldown_days * _US_PER_DAY:
            return True
        rank, bad = self.badness.get(kind, (0, 0.0))
        return _RANK[severity] > rank or (badness is not None and badness > bad)

    def raise_alert(
        self,
        kind: AlertKind,
        severity: AlertSeverity,
        message: str,
        *,
        reference: float | None = None,
        related: tuple[str, ...] = (),
        badness: float = 0.0,
        raised_us: int | None = None,
        cause: str | None = None,
    ) -> None:
        ctx = self.ctx
        raised = self.occurred_us if raised_us is None else raised_us
        cause = ctx.event_id if cause is None else cause
        opened = OpenAlert(
            alert_id=alert_id(
                ctx.customer_id, kind, cause, self.kept.erased_before_us, ctx.key_tenant
            ),
            severity=severity,
            raised_us=raised,
            caused_by_event_id=ctx.event_id,
            related_event_ids=(ctx.event_id, *related),
            reference=reference,
        )
        self.open[kind] = opened
        self.last_raised[kind] = raised
        self.badness[kind] = (_RANK[severity], badness)
        self.alerts.append(
            Alert(
                alert_id=opened.alert_id,
                customer_id=ctx.customer_id,
                tenant_id=ctx.tenant_id,
                kind=kind,
                severity=severity,
                state=AlertState.RAISED,
                raised_at=from_us(raised),
                message=_short(message),
                caused_by_event_id=ctx.event_id,
            )
        )

    def escalate(
        self,
        kind: AlertKind,
        severity: AlertSeverity,
        message: str,
        badness: float | None = None,
    ) -> None:
        """A worse signal while an alert is open: the open alert is resolved as superseded
        and a new one of the higher severity raised (a new id: ids are never reused)."""
        opened = self.open[kind]
        if _RANK[severity] <= _RANK[opened.severity]:
            return
        self.resolve(kind, f"{ESCALATED_PREFIX}{severity.value}", keep_reference=True)
        self.raise_alert(
            kind,
            severity,
            f"Escalated: {message}",
            reference=opened.reference,
            related=opened.related_event_ids,
            badness=self.badness.get(kind, (0, 0.0))[1] if badness is None else badness,
            cause=f"{opened.alert_id}>{severity.value}",
        )

    def resolve(self, kind: AlertKind, message: str, *, keep_reference: bool = False) -> None:
        opened = self.open.pop(kind)
        ctx = self.ctx
        raised_at = from_us(opened.raised_us)
        self.alerts.append(
            Alert(
                alert_id=opened.alert_id,
                customer_id=ctx.customer_id,
                tenant_id=ctx.tenant_id,
                kind=kind,
                severity=opened.severity,
                state=AlertState.RESOLVED,
                raised_at=raised_at,
                # A late event may predate the raise; an alert never resolves before it rose.
                resolved_at=max(ctx.occurred_at, raised_at),
                message=_short(message),
                caused_by_event_id=ctx.event_id,
            )
        )
        if kind is AlertKind.TRUST_DROP and not keep_reference:
            self.trust_reference = 100.0 * ctx.after.trust
        if kind is AlertKind.SEGMENT_CHANGE:
            self.segment_outside = 0

    # -- the rules, in a fixed order -------------------------------------------------------

    def time_passed(self) -> None:
        """Decay moves the reference of the trust-drop rule like the scores: time never counts
        as a drop (an open alert's reference moves too, so that it can resolve)."""
        ctx = self.ctx
        moved = 100.0 * (ctx.time_base.trust - ctx.before.trust)
        if moved == 0.0:
            return
        if self.trust_reference is not None:
            self.trust_reference += moved
        opened = self.open.get(AlertKind.TRUST_DROP)
        if opened is not None and opened.reference is not None:
            self.open[AlertKind.TRUST_DROP] = replace(opened, reference=opened.reference + moved)

    def overdue(self) -> None:
        ctx, rule = self.ctx, self.rules.promise_overdue
        kind = AlertKind.PROMISE_OVERDUE
        if not rule.enabled:
            return
        for position, change in enumerate(ctx.fired):
            overdue_now = ctx.overdue_left - (len(ctx.fired) - 1 - position)
            timer = change.timer
            d = timer.deadline
            text = f"Overdue since {_day(change.at_us)}: {_OVERDUE_NOUNS[d.kind]} {d.shown}"
            critical = overdue_now >= rule.critical_overdue
            severity = AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING
            if kind in self.open:
                self.escalate(kind, severity, f"{overdue_now} promises overdue. {text}")
            else:
                self.raise_alert(
                    kind,
                    severity,
                    text,
                    raised_us=change.at_us,
                    cause=f"{timer.key}@{d.due_us}",
                    related=(timer.opened_by,),
                )
        if kind in self.open and ctx.overdue_left == 0 and ctx.settled:
            last = ctx.settled[-1].timer.deadline
            # A settlement dated before the deadline that arrived after the timer fired was in
            # time; the customer's clock learnt of it late.
            ended = "Fulfilled late" if self.occurred_us > last.due_us else "Fulfilled in time"
            if ctx.kind is not None:
                ended = _UNFULFILLED.get(ctx.kind, ended)
            self.resolve(
                kind,
                f"{ended} on {_day(self.occurred_us)}: {_OVERDUE_NOUNS[last.kind]} {last.shown}",
            )

    def negative_feedback(self) -> None:
        ctx, rule = self.ctx, self.rules.negative_feedback
        kind = AlertKind.NEGATIVE_FEEDBACK
        if not rule.enabled:
            return
        severity: AlertSeverity | None = None
        message = ""
        badness = 0.0
        if ctx.stars is not None and ctx.stars <= rule.max_stars:
            severity = AlertSeverity.CRITICAL if ctx.stars == 1 else AlertSeverity.WARNING
            message = f"A {ctx.stars}-star review. {ctx.summary}"
            badness = 5.0 - ctx.stars
        elif ctx.kind is SignalKind.SOCIAL_MENTION:
            angry = ctx.anger >= rule.public_min_anger
            negative = ctx.sentiment is not None and ctx.sentiment <= rule.public_max_sentiment
            if angry or negative:
                severity = AlertSeverity.CRITICAL if angry else AlertSeverity.WARNING
                message = f"An {'angry' if angry else 'negative'} public post. {ctx.summary}"
                badness = 4.0 * ctx.anger + (0.0 if ctx.sentiment is None else -ctx.sentiment)
        if severity is None:
            return
        opened = self.open.get(kind)
        if opened is not None:
            self.open[kind] = opened.relate(ctx.event_id)
            self.escalate(kind, severity, message, badness=badness)
            return
        if self.cooled_down(kind, rule.cooldown_days, severity, badness):
            self.raise_alert(kind, severity, message, badness=badness)

    def lapsed(self) -> None:
        ctx, rule = self.ctx, self.rules.lapsed
        kind = AlertKind.LAPSED
        if not rule.enabled:
            return
        if kind in self.open:
            if ctx.active:
                self.resolve(kind, f"Active again on {_day(self.occurred_us)}: {ctx.summary}")
            return
        after = ctx.after
        if (
            ctx.time_only
            and after.event_count >= rule.min_events
            and after.churn_risk >= rule.min_churn_risk
            and ctx.before.churn_risk < rule.min_churn_risk
        ):
            self.raise_alert(
                kind,
                AlertSeverity.WARNING,
                f"No activity for {duration(after.idle_days)} (usually every "
                f"{duration(after.cadence_days)}): churn risk {after.churn_risk:.2f}",
                badness=after.churn_risk,
            )

    def cases(self) -> None:
        ctx = self.ctx
        if ctx.case_id is None:
            return
        if ctx.kind in _CASE_OPENINGS:
            self.open_cases[ctx.case_id] = self.open_cases.get(ctx.case_id, 0) + 1
        elif ctx.kind is SignalKind.SUPPORT_CASE_RESOLVED:
            self.open_cases.pop(ctx.case_id, None)

    def closed_loop(self) -> None:
        """A response resolves the alerts of the very feedback it answers, nothing else."""
        answered = self.ctx.responds_to_event_id
        if answered is None:
            return
        for kind in [
            k
            for k, a in sorted(self.open.items())
            if k in _FEEDBACK_ALERTS and answered in a.related_event_ids
        ]:
            self.resolve(kind, f"The company responded to the feedback {answered}")

    def detractor_nps(self) -> None:
        ctx, rule = self.ctx, self.rules.detractor_nps
        kind = AlertKind.DETRACTOR_NPS
        if ctx.kind is not SignalKind.NPS or ctx.nps is None:
            return
        critical = ctx.nps <= rule.critical_max_score
        severity = AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING
        message = f"Detractor NPS answer: {ctx.nps} out of 10"
        opened = self.open.get(kind)
        if opened is not None:
            if ctx.nps >= rule.resolve_min_score:
                self.resolve(kind, f"A later NPS answer of {ctx.nps}")
            elif ctx.nps <= rule.max_score:
                self.open[kind] = opened.relate(ctx.event_id)
                self.escalate(kind, severity, message, badness=10.0 - ctx.nps)
            return
        badness = 10.0 - ctx.nps
        if ctx.nps <= rule.max_score and self.cooled_down(
            kind, rule.cooldown_days, severity, badness
        ):
            self.raise_alert(kind, severity, message, badness=badness)

    def trust_drop(self) -> None:
        """What the event did (``base`` -> ``after``), against a reference moved by time."""
        ctx, rule = self.ctx, self.rules.trust_drop
        kind = AlertKind.TRUST_DROP
        before, now = 100.0 * ctx.time_base.trust, 100.0 * ctx.after.trust
        opened = self.open.get(kind)
        if opened is not None:
            reference = opened.reference if opened.reference is not None else now
            if now >= reference - rule.recover_points:
                self.resolve(
                    kind,
                    f"Trust recovered to {now:.0f}, within {rule.recover_points:g} points of "
                    f"{reference:.0f}",
                )
            elif now < before:
                self.open[kind] = opened.relate(ctx.event_id)
                if reference - now >= rule.critical_points:
                    self.escalate(
                        kind,
                        AlertSeverity.CRITICAL,
                        f"Trust at {now:.0f}, {reference - now:.0f} points below "
                        f"{reference:.0f}. {ctx.summary}",
                        badness=reference - now,
                    )
            return
        reference = before if self.trust_reference is None else self.trust_reference
        drop = reference - now
        critical = drop >= rule.critical_points
        severity = AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING
        if (
            now < before
            and drop >= rule.drop_points
            and self.cooled_down(kind, rule.cooldown_days, severity)
        ):
            self.raise_alert(
                kind,
                severity,
                f"Trust at {now:.0f}, {drop:.0f} points below {reference:.0f}. {ctx.summary}",
                reference=reference,
                badness=drop,
            )
            return
        self.trust_reference = max(reference, now)

    def segment_change(self) -> None:
        ctx, rule = self.ctx, self.rules.segment_change
        kind = AlertKind.SEGMENT_CHANGE
        before = (ctx.segment_before or ctx.before.segment).value
        after = ctx.after.segment.value
        watched = after in rule.segments
        if kind in self.open:
            if ctx.time_only:
                return  # resolution counts events, not clock ticks
            self.segment_outside = 0 if watched else self.segment_outside + 1
            if self.segment_outside >= rule.resolve_after_events:
                self.resolve(
                    kind,
                    f"Segment {published_segment(after)} for {self.segment_outside} events",
                )
            return
        if watched and before != after and self.cooled_down(kind, rule.cooldown_days):
            critical = after in rule.critical_segments
            self.segment_outside = 0
            self.raise_alert(
                kind,
                AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING,
                f"Segment changed from {published_segment(before)} to "
                f"{published_segment(after)}. {ctx.summary}",
            )

    def unresolved_complaints(self) -> None:
        ctx, rule = self.ctx, self.rules.unresolved_complaints
        kind = AlertKind.UNRESOLVED_COMPLAINTS
        streak = sum(self.open_cases.values())
        if kind in self.open:
            if streak <= rule.resolve_at:
                self.resolve(kind, f"Support cases resolved; {streak} still unresolved")
            return
        severity = (
            AlertSeverity.CRITICAL if streak >= rule.critical_streak else AlertSeverity.WARNING
        )
        if (
            ctx.kind in _CASE_OPENINGS
            and streak >= rule.streak
            and self.cooled_down(kind, rule.cooldown_days, severity)
        ):
            self.raise_alert(
                kind,
                severity,
                f"{streak} support case openings, reopenings and escalations without resolution "
                f"({len(self.open_cases)} cases)",
                badness=streak,
            )


def _day(us: int) -> str:
    moment = from_us(us)
    return f"{moment.day} {moment:%B %Y}"


def evaluate(
    tracker: AlertTracker, ctx: AlertContext, rules: Alerts
) -> tuple[AlertTracker, list[Alert]]:
    """The customer's tracker after one scored event or advance of the clock, and the alerts
    it raises or resolves (see the module docstring for the arrival-order rule)."""
    work = _Evaluation(tracker, ctx, rules)
    work.cases()
    work.closed_loop()
    work.overdue()
    if ctx.late:
        return work.tracker(), work.alerts
    work.time_passed()
    if ctx.time_only:
        if not ctx.settling:
            work.segment_change()
        work.lapsed()
        return work.tracker(), work.alerts
    work.detractor_nps()
    work.negative_feedback()
    work.trust_drop()
    work.segment_change()
    work.unresolved_complaints()
    work.lapsed()
    return work.tracker(), work.alerts
