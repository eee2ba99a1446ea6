"""Alerts about customers, raised and resolved with hysteresis and a cooldown, in event time.

Pure: ``evaluate(tracker, context, rules)`` returns the customer's new ``AlertTracker`` and the
``Alert`` records to publish. The tracker is stored with the customer (table ``alert_state``)
in the same database transaction as the scores, the processed event id and the outbox, so an
event raises its alerts exactly once however often it is delivered or replayed, and a rebuild
from the topic raises the same alerts with the same ids (everything depends on event time and
processing order, never on the wall clock).

The rules (``alerts`` in ``scoring.yaml``; ``docs/scoring.md``, "Alerts", explains them):

* ``trust_drop``: an event lowers trust to ``drop_points`` or more below the *reference level*
  (the highest trust since the last trust-drop alert was resolved). Resolved when trust is back
  within ``recover_points`` of the level the alert was raised against (hysteresis: the band
  between the two thresholds neither raises nor resolves); the reference then restarts at the
  current trust.
* ``segment_change``: the segment changes into one of ``segments`` (at_risk, detractor).
  Resolved after ``resolve_after_events`` consecutive events outside them.
* ``detractor_nps``: an NPS answer of ``max_score`` (6) or less. Resolved by a later answer of
  ``resolve_min_score`` (8) or more.
* ``unresolved_complaints``: ``streak`` support-case openings and reopenings without a
  resolution. Resolved when resolutions bring the count down to ``resolve_at``.

While an alert of a kind is open, no other alert of that kind is raised for the customer; once
one was raised, none is raised again within ``cooldown_days`` of event time. Any open alert is
resolved by a ``feedback_response`` to the feedback event that raised it (or to feedback that
would have raised it while it was open): the company closed the loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from schemas import Alert, AlertKind, AlertSeverity, AlertState
from services.scoring.model import Scores, SignalKind
from services.scoring.model.config import Alerts
from services.scoring.model.signal import from_us, to_us

_US_PER_DAY: Final = 86_400_000_000
_MAX_RELATED: Final = 20
_MESSAGE_MAX: Final = 200
_CASE_OPENINGS: Final = frozenset(
    {SignalKind.SUPPORT_CASE_OPENED, SignalKind.SUPPORT_CASE_REOPENED}
)
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
    """Support case id -> openings and reopenings since its last resolution."""

    @property
    def complaint_streak(self) -> int:
        return sum(self.open_cases.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "trust_reference": self.trust_reference,
            "open": {kind.value: alert.to_json() for kind, alert in sorted(self.open.items())},
            "last_raised_us": {k.value: v for k, v in sorted(self.last_raised_us.items())},
            "segment_outside": self.segment_outside,
            "open_cases": dict(sorted(self.open_cases.items())),
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
        )


@dataclass(frozen=True, slots=True)
class AlertContext:
    """One scored event, as the alert rules see it."""

    customer_id: str
    tenant_id: str | None
    event_id: str
    kind: SignalKind
    occurred_at: datetime
    before: Scores
    after: Scores
    summary: str
    """The explanation's summary line of the event."""
    nps: int | None = None
    case_id: str | None = None
    responds_to_event_id: str | None = None


def alert_id(customer_id: str, kind: AlertKind, event_id: str) -> str:
    """Deterministic: the same raising event gives the same id in any replay or rebuild."""
    digest = hashlib.sha256(f"{customer_id}\x00{kind.value}\x00{event_id}".encode()).hexdigest()
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
        self.alerts: list[Alert] = []

    def tracker(self) -> AlertTracker:
        return AlertTracker(
            trust_reference=self.trust_reference,
            open=self.open,
            last_raised_us=self.last_raised,
            segment_outside=self.segment_outside,
            open_cases=self.open_cases,
        )

    def cooled_down(self, kind: AlertKind, cooldown_days: float) -> bool:
        last = self.last_raised.get(kind)
        return last is None or self.occurred_us - last >= cooldown_days * _US_PER_DAY

    def raise_alert(
        self,
        kind: AlertKind,
        severity: AlertSeverity,
        message: str,
        reference: float | None = None,
        related: tuple[str, ...] = (),
    ) -> None:
        ctx = self.ctx
        opened = OpenAlert(
            alert_id=alert_id(ctx.customer_id, kind, ctx.event_id),
            severity=severity,
            raised_us=self.occurred_us,
            caused_by_event_id=ctx.event_id,
            related_event_ids=(ctx.event_id, *related),
            reference=reference,
        )
        self.open[kind] = opened
        self.last_raised[kind] = self.occurred_us
        self.alerts.append(
            Alert(
                alert_id=opened.alert_id,
                customer_id=ctx.customer_id,
                tenant_id=ctx.tenant_id,
                kind=kind,
                severity=severity,
                state=AlertState.RAISED,
                raised_at=ctx.occurred_at,
                message=_short(message),
                caused_by_event_id=ctx.event_id,
            )
        )

    def resolve(self, kind: AlertKind, message: str) -> None:
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
        if kind is AlertKind.TRUST_DROP:
            self.trust_reference = 100.0 * ctx.after.trust
        if kind is AlertKind.SEGMENT_CHANGE:
            self.segment_outside = 0

    # -- the rules, in a fixed order -------------------------------------------------------

    def cases(self) -> None:
        ctx = self.ctx
        if ctx.case_id is None:
            return
        if ctx.kind in _CASE_OPENINGS:
            self.open_cases[ctx.case_id] = self.open_cases.get(ctx.case_id, 0) + 1
        elif ctx.kind is SignalKind.SUPPORT_CASE_RESOLVED:
            self.open_cases.pop(ctx.case_id, None)

    def closed_loop(self) -> None:
        answered = self.ctx.responds_to_event_id
        if answered is None:
            return
        for kind in [k for k, a in sorted(self.open.items()) if answered in a.related_event_ids]:
            self.resolve(kind, f"The company responded to the feedback {answered}")

    def detractor_nps(self) -> None:
        ctx, rule = self.ctx, self.rules.detractor_nps
        kind = AlertKind.DETRACTOR_NPS
        if ctx.kind is not SignalKind.NPS or ctx.nps is None:
            return
        opened = self.open.get(kind)
        if opened is not None:
            if ctx.nps >= rule.resolve_min_score:
                self.resolve(kind, f"A later NPS answer of {ctx.nps}")
            elif ctx.nps <= rule.max_score:
                self.open[kind] = opened.relate(ctx.event_id)
            return
        if ctx.nps <= rule.max_score and self.cooled_down(kind, rule.cooldown_days):
            critical = ctx.nps <= rule.critical_max_score
            severity = AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING
            self.raise_alert(kind, severity, f"Detractor NPS answer: {ctx.nps} out of 10")

    def trust_drop(self) -> None:
        ctx, rule = self.ctx, self.rules.trust_drop
        kind = AlertKind.TRUST_DROP
        before, now = 100.0 * ctx.before.trust, 100.0 * ctx.after.trust
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
            return
        reference = before if self.trust_reference is None else self.trust_reference
        drop = reference - now
        if now < before and drop >= rule.drop_points and self.cooled_down(kind, rule.cooldown_days):
            critical = drop >= rule.critical_points
            self.raise_alert(
                kind,
                AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING,
                f"Trust at {now:.0f}, {drop:.0f} points below {reference:.0f}. {ctx.summary}",
                reference=reference,
            )
            return
        self.trust_reference = max(reference, now)

    def segment_change(self) -> None:
        ctx, rule = self.ctx, self.rules.segment_change
        kind = AlertKind.SEGMENT_CHANGE
        before, after = ctx.before.segment.value, ctx.after.segment.value
        watched = after in rule.segments
        if kind in self.open:
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
        if (
            ctx.kind in _CASE_OPENINGS
            and streak >= rule.streak
            and self.cooled_down(kind, rule.cooldown_days)
        ):
            critical = streak >= rule.critical_streak
            self.raise_alert(
                kind,
                AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING,
                f"{streak} support case openings and reopenings without resolution "
                f"({len(self.open_cases)} cases)",
            )


def evaluate(
    tracker: AlertTracker, ctx: AlertContext, rules: Alerts
) -> tuple[AlertTracker, list[Alert]]:
    """The customer's tracker after one scored event, and the alerts it raises or resolves."""
    work = _Evaluation(tracker, ctx, rules)
    work.cases()
    work.closed_loop()
    work.detractor_nps()
    work.trust_drop()
    work.segment_change()
    work.unresolved_complaints()
    return work.tracker(), work.alerts
