"""``rapport report``: a self-contained HTML report of a time window of the published topics.

The window is processing time (when Rapport published), read from the Kafka record timestamps.
Everything is inline (CSS, SVG charts, no script), so the file opens offline and can be mailed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from pydantic import ValidationError

from schemas.downstream import Alert, AlertState, ScoreUpdate
from services.console.view import named_by_key
from services.product.charts import PALETTE, bar_chart, histogram
from services.runtime.dlq_tools import DeadLetterStats
from services.runtime.settings import Topics


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class ReportData:
    """Collects the window's records (a ``Sink`` of ``services.console.view.Subscription``)."""

    topics: Topics
    since: datetime
    until: datetime
    caught_up: bool = False
    before: dict[str, ScoreUpdate] = field(default_factory=dict)
    """Each customer's last update before the window: where they started."""
    updates: list[ScoreUpdate] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    unreadable: int = 0

    def apply(
        self, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int = 0
    ) -> None:
        if value is None or timestamp_ms >= _millis(self.until):
            return
        inside = timestamp_ms >= _millis(self.since)
        try:
            if topic == self.topics.score_updates:
                update = ScoreUpdate.model_validate_json(value)
                update = named_by_key(key, update)  # a report of several tenants
                if inside:
                    self.updates.append(update)
                else:
                    self.before[update.customer_id] = update
            elif topic == self.topics.alerts and inside:
                alert = Alert.model_validate_json(value)
                self.alerts.append(named_by_key(key, alert))
        except ValidationError:
            self.unreadable += 1

    def latest(self) -> dict[str, ScoreUpdate]:
        """Each customer's last state within the window (or before it, if unchanged)."""
        latest = dict(self.before)
        for update in self.updates:
            latest[update.customer_id] = update
        return latest


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#111827}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse}th,td{padding:4px 10px;border-bottom:1px solid #f3f4f6;
text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;gap:24px;flex-wrap:wrap}.muted{color:#6b7280}
"""


def render(data: ReportData, dead: DeadLetterStats, generated_at: datetime | None = None) -> str:
    generated_at = generated_at or datetime.now(UTC)
    latest = data.latest()
    active = {u.customer_id for u in data.updates}
    sections = [
        _overview(data, latest, active, dead),
        _distributions(latest),
        _flows(data, latest, active),
        _drivers(data.updates),
        _alerts(data.alerts),
        _dead_letters(dead),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Rapport report {data.since:%Y-%m-%d %H:%M} to {data.until:%Y-%m-%d %H:%M}"
        f"</title><style>{STYLE}</style></head><body>"
        f"<h1>Rapport report</h1><p class='muted'>Published between {data.since:%Y-%m-%d %H:%M} "
        f"and {data.until:%Y-%m-%d %H:%M} UTC; generated {generated_at:%Y-%m-%d %H:%M} UTC from "
        f"{escape(data.topics.score_updates)}, {escape(data.topics.alerts)} and "
        f"{escape(data.topics.dead_letter)}.</p>" + "".join(sections) + "</body></html>"
    )


def _overview(
    data: ReportData, latest: dict[str, ScoreUpdate], active: set[str], dead: DeadLetterStats
) -> str:
    raised = sum(a.state is AlertState.RAISED for a in data.alerts)
    resolved = sum(a.shown_state == "resolved" for a in data.alerts)
    escalated = sum(a.shown_state == "escalated" for a in data.alerts)
    rows = [
        ("score updates", len(data.updates)),
        ("customers with updates", len(active)),
        ("customers known at the end", len(latest)),
        ("alerts raised", raised),
        ("alerts resolved", resolved),
        ("alerts escalated (replaced by a more severe one)", escalated),
        ("dead letters", dead.total),
    ]
    body = "".join(f"<tr><td>{k}</td><td class='num'>{v}</td></tr>" for k, v in rows)
    return f"<h2>Overview</h2><table id='overview'>{body}</table>"


def _distributions(latest: dict[str, ScoreUpdate]) -> str:
    trust = [u.trust for u in latest.values()]
    loyalty = [u.loyalty for u in latest.values()]
    return (
        "<h2>Trust and loyalty at the end of the window</h2><div class='grid'>"
        f"<div><b>trust</b><br>{histogram(trust, 'trust distribution')}</div>"
        f"<div><b>loyalty</b><br>"
        f"{histogram(loyalty, 'loyalty distribution', color=PALETTE[1])}</div></div>"
    )


def _flows(data: ReportData, latest: dict[str, ScoreUpdate], active: set[str]) -> str:
    flows: Counter[tuple[str, str]] = Counter()
    for customer in active:
        start = data.before.get(customer)
        begin = start.segment.value if start else "(first seen)"
        flows[(begin, latest[customer].segment.value)] += 1
    moved = [(f"{a} → {b}", float(n)) for (a, b), n in flows.most_common() if a != b]
    stayed = sum(n for (a, b), n in flows.items() if a == b)
    return (
        "<h2>Segment flows</h2>"
        f"<p class='muted'>{stayed} active customers stayed in their segment.</p>"
        + bar_chart(moved[:15], "segment flows", color=PALETTE[3])
    )


def _drivers(updates: list[ScoreUpdate]) -> str:
    return _driver_section(updates, "trust") + _driver_section(updates, "loyalty")


def _driver_section(updates: list[ScoreUpdate], score: str) -> str:
    """The event types that moved ``score`` most, up and down, summed over the window."""
    totals: dict[str, float] = {}
    for update in updates:
        for driver in update.drivers:
            effect = driver.trust_effect if score == "trust" else driver.loyalty_effect
            totals[driver.event_type] = totals.get(driver.event_type, 0.0) + effect
    gains = sorted(((t, v) for t, v in totals.items() if v > 0), key=lambda x: -x[1])[:8]
    losses = sorted(((t, v) for t, v in totals.items() if v < 0), key=lambda x: x[1])[:8]
    signed = "{:+.0f}"
    gain_chart = bar_chart(
        gains, f"{score} gains", width=520, color=PALETTE[1], value_format=signed
    )
    loss_chart = bar_chart(losses, f"{score} losses", width=520, value_format=signed)
    return (
        f"<h2>Top drivers of {score} (sum of effects, points)</h2><div class='grid'>"
        f"<div><b>gains</b><br>{gain_chart}</div>"
        f"<div><b>losses</b><br>{loss_chart}</div></div>"
    )


def _alerts(alerts: list[Alert]) -> str:
    kinds: Counter[str] = Counter(f"{a.kind.value} {a.shown_state}" for a in alerts)
    recent = list(reversed(alerts))[:15]  # the last published first
    rows = "".join(
        f"<tr><td>{escape(a.customer_id)}</td><td>{escape(a.kind.value)}</td>"
        f"<td>{escape(a.shown_state)}</td><td>{escape(a.message)}</td></tr>"
        for a in recent
    )
    return (
        "<h2>Alerts raised and resolved</h2>"
        + bar_chart([(k, float(n)) for k, n in kinds.most_common()], "alerts", color=PALETTE[4])
        + "<p class='muted'>The last 15 published:</p>"
        + f"<table id='alerts'><tr><th>customer</th><th>kind</th><th>state</th><th>message</th>"
        f"</tr>{rows}</table>"
    )


def _dead_letters(dead: DeadLetterStats) -> str:
    bars = [(r, float(n)) for r, n in dead.by_reason.most_common()]
    return "<h2>Dead letters by reason</h2>" + bar_chart(bars, "dead letters", color=PALETTE[2])
