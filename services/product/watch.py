"""``rapport watch``: a live terminal view of the local stack and its published scores.

Service rates, lag and dead letters come from the services' /metrics (as ``rapport status``);
alerts, movers and segments from a ``ScoreView`` subscribed to the published topics (as the
console).
"""

from __future__ import annotations

import time
from collections import Counter

from rich import box
from rich.console import Group, RenderableType
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from services.console.view import ScoreView
from services.product.metrics import ServiceSnapshot, rates, scrape
from services.product.state import UpRecord


class WatchScreen:
    def __init__(self, view: ScoreView, record: UpRecord | None) -> None:
        self.view = view
        self.record = record
        self._before: dict[str, ServiceSnapshot] = {}
        self._before_at = time.monotonic()

    def render(self) -> RenderableType:
        layout = Layout()
        layout.split_column(
            Layout(self._services(), name="services", size=9),
            Layout(name="body"),
        )
        layout["body"].split_row(
            Layout(self._alerts(), name="alerts"),
            Layout(name="right"),
        )
        layout["right"].split_column(
            Layout(self._movers(), name="movers"),
            Layout(self._segments(), name="segments", size=10),
        )
        return layout

    def _services(self) -> Panel:
        table = Table("service", "ready", "in/s", "out/s", "lag", "dead letters", expand=True)
        dead: Counter[str] = Counter()
        now = time.monotonic()
        if self.record is None:
            return Panel("`rapport up` is not running here: no service metrics", title="services")
        for child in self.record.children:
            snapshot = scrape(child.name, child.port, timeout=0.5)
            before = self._before.get(child.name)
            rate = rates(before, snapshot, now - self._before_at) if before else None
            self._before[child.name] = snapshot
            dead.update(snapshot.dead_letters)
            table.add_row(
                child.name,
                "[green]yes[/]" if snapshot.ready else "[red]no[/]",
                f"{rate.records_in_per_s:.0f}" if rate else "…",
                f"{rate.records_out_per_s:.0f}" if rate else "…",
                f"{snapshot.lag:.0f}",
                str(snapshot.dead_letter_total),
            )
        self._before_at = now
        reasons = ", ".join(f"{r} {n}" for r, n in dead.most_common(5)) or "none"
        return Panel(
            Group(table, Text(f"dead letters by reason: {reasons}", style="dim")),
            title="services",
        )

    def _alerts(self) -> Panel:
        lines = []
        for item in self.view.alerts_after(0, limit=18):
            alert = item.alert
            style = "red" if alert.severity.value == "critical" else "yellow"
            if alert.shown_state == "resolved":
                style = "green"
            line = Text.assemble(
                (f"{alert.customer_id} ", "bold"),
                (f"{alert.kind.value} {alert.shown_state}", style),
                f"  {alert.message}",
            )
            line.no_wrap, line.overflow = True, "ellipsis"
            lines.append(line)
        return Panel(
            Group(*lines) if lines else Text("no alerts yet", style="dim"), title="newest alerts"
        )

    def _movers(self) -> Panel:
        # Each score with its move in one cell, and the summary takes what is left, cut with
        # an ellipsis: an unwrappable summary column otherwise squeezed the figures to nothing.
        table = Table(expand=True, box=box.SIMPLE_HEAD, padding=(0, 1))
        table.add_column("customer", no_wrap=True, overflow="ellipsis", min_width=9, max_width=16)
        table.add_column("trust", justify="right", no_wrap=True, min_width=8)
        table.add_column("loyalty", justify="right", no_wrap=True, min_width=8)
        table.add_column("why", no_wrap=True, overflow="ellipsis", ratio=1)
        for update in self.view.movers(8):
            table.add_row(
                update.customer_id,
                Text.assemble(f"{update.trust:.0f} ", _delta(update.deltas.trust)),
                Text.assemble(f"{update.loyalty:.0f} ", _delta(update.deltas.loyalty)),
                update.summary,
            )
        return Panel(table, title="biggest recent moves")

    def _segments(self) -> Panel:
        counts = self.view.segment_counts()
        total = sum(counts.values()) or 1
        table = Table("segment", "customers", "share", expand=True)
        for segment, count in counts.most_common():
            table.add_row(segment.replace("_", " "), str(count), f"{100 * count / total:.0f} %")
        health = self.view.health()
        return Panel(table, title=f"segments ({health['customers']} customers)")


def _delta(value: float) -> Text:
    style = "green" if value > 0 else "red" if value < 0 else "dim"
    return Text(f"{value:+.0f}", style=style)
