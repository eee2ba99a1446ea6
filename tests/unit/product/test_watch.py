"""`rapport watch`'s screen, drawn without a broker from a view fed by hand."""

from __future__ import annotations

import pytest
from rich.console import Console

from schemas.samples import score_update_example
from services.console.view import ScoreView
from services.product.watch import WatchScreen
from services.runtime.settings import Topics
from tests.support.alerts import escalated_alert


@pytest.mark.parametrize("width", [80, 100, 160])
def test_the_movers_keep_their_figures_at_any_terminal_width(width: int) -> None:
    topics = Topics()
    update = score_update_example()
    view = ScoreView(topics)
    for topic in (topics.score_updates, topics.scores_latest):
        view.apply(topic, update.customer_id.encode(), update.model_dump_json().encode())
    console = Console(width=width, record=True, color_system=None)
    console.print(WatchScreen(view, record=None).render(), height=30)
    screen = console.export_text()
    assert "biggest recent moves" in screen
    assert update.customer_id[:8] in screen
    trust = f"{update.trust:.0f} {update.deltas.trust:+.0f}"
    assert trust in screen, screen


def test_an_escalated_alert_reads_escalated_not_resolved() -> None:
    topics = Topics()
    view = ScoreView(topics)
    superseded = escalated_alert()
    view.apply(topics.alerts, b"c", superseded.model_dump_json().encode())
    console = Console(width=120, record=True, color_system=None)
    console.print(WatchScreen(view, record=None).render(), height=30)
    screen = console.export_text()
    assert "trust_drop escalated" in screen
    assert "trust_drop resolved" not in screen
